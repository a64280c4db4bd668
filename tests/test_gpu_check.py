"""bench/gpu_check.sh, the script a lent GPU runs, proven here without one: every line it prints is JSON, a check
that fails, raises or runs out of time is one ``ok: false`` line with a one-line error, and the others run on."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import gpu_check

ROOT = Path(__file__).resolve().parents[1]


def test_a_check_that_prints_json_is_tagged_and_timed():
    code = "import json; print('noise'); print(json.dumps({'ok': True, 'x': 1}))"
    [result] = gpu_check.run_check("demo", [sys.executable, "-c", code], 60)
    assert result["check"] == "demo" and result["ok"] is True and result["x"] == 1 and result["seconds"] >= 0


def test_a_check_that_raises_is_one_error_line():
    code = "import sys; print('Traceback (most recent call last):', file=sys.stderr); raise RuntimeError('no GPU')"
    [result] = gpu_check.run_check("demo", [sys.executable, "-c", code], 60)
    assert result["ok"] is False and result["error"] == "RuntimeError: no GPU"


def test_a_check_that_runs_out_of_time_is_one_error_line():
    [result] = gpu_check.run_check("demo", [sys.executable, "-c", "import time; time.sleep(60)"], 0.5)
    assert result == {"check": "demo", "ok": False, "error": "timed out after 0.5 s"}


def test_a_check_that_prints_then_fails_keeps_its_lines_and_adds_the_error():
    code = "import json, sys; print(json.dumps({'ok': True})); sys.exit('then it broke')"
    first, second = gpu_check.run_check("demo", [sys.executable, "-c", code], 60)
    assert first["ok"] is True and second["ok"] is False and second["error"] == "then it broke"


def _script(*args):
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), *args], capture_output=True, text=True,
                          timeout=600, env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"})
    lines = [json.loads(line) for line in done.stdout.splitlines()]  # every line is JSON
    return done.returncode, lines


def test_the_script_in_smoke_mode_prints_json_lines_and_a_summary():
    code, lines = _script("--smoke", "--only", "device")
    assert code == 0, lines
    assert lines[0]["check"] == "device" and lines[0]["ok"] and lines[0]["device"] == "cpu"
    assert lines[-1] == {"gpu_check": {"device": True}, "device": "cpu", "smoke": True, "ok": True}


def test_a_failing_check_makes_the_summary_and_the_exit_status_fail():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the device check would pass")
    code, lines = _script("--device", "cuda", "--only", "device")
    assert code == 1
    assert lines[0]["ok"] is False and "no CUDA GPU is available" in lines[0]["error"]
    assert len(lines[0]["error"]) <= 300 and "\n" not in lines[0]["error"]
    assert lines[-1]["ok"] is False and lines[-1]["gpu_check"] == {"device": False}
