"""models list / models download: consent, the offline error, the registry listing (no network:
the hub address is an unused loopback port)."""
import json

import pytest

from app.cli import main as cli
from engine import hub
from engine.jobs import EngineError
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

OFFLINE = "http://127.0.0.1:9"  # nothing listens there: connection refused at once


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", OFFLINE)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")


def run(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_models_list_json(tiny_models_dir, capsys):
    code, out, err = run(["models", "list", "--models", tiny_models_dir, "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    found = {m["name"]: m for m in data["models"]}
    assert found["tiny-sd"]["kind"] == "pipeline" and found["tiny-sd"]["path"] == "checkpoints/tiny-sd"
    assert found["tiny-sd-inpaint"]["inpaint"] and found["tiny-lora"]["kind"] == "lora"
    assert found["tiny-sdxl-lightning"]["arch"] == "sdxl"
    code, out, _ = run(["models", "list", "--models", tiny_models_dir], capsys)
    assert code == 0 and "tiny-sd" in out and "checkpoints/tiny-sd" in out


def test_download_refused_without_consent(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # not a terminal
    code, out, err = run(["models", "download", "owner/tiny-model", "--file", "m.safetensors", "--kind", "lora",
                          "--models", tmp_path, "--timeout", "2"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "needs your consent" in err and "owner/tiny-model/m.safetensors" in err and "--yes" in err
    assert str(tmp_path / "loras" / "m.safetensors") in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_download_offline_error_is_one_line(tmp_path, capsys):
    code, out, err = run(["models", "download", "owner/tiny-model", "--yes", "--models", tmp_path,
                          "--timeout", "2"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: could not reach the model hub: ")
    assert not any(tmp_path.iterdir())


def test_engine_download_needs_consent_and_names_target(tmp_path):
    with pytest.raises(EngineError) as info:
        hub.download("owner/pipe", models_dir=tmp_path, timeout=2)
    text = str(info.value)
    assert "owner/pipe (whole repository)" in text and str(tmp_path / "checkpoints" / "pipe") in text
    assert "size unknown" in text and "\n" not in text
    with pytest.raises(EngineError, match="unknown model kind"):
        hub.plan("owner/pipe", kind="nonsense", models_dir=tmp_path, with_size=False)
    assert hub.plan("o/u", "x.pth", "upscaler", tmp_path, with_size=False).target == tmp_path / "upscale_models" / "x.pth"
