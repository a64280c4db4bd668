"""Ctrl+C during `generate --all` keeps every panel that was finished; `train --resume` continues a run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app import edits, layout
from app.document import Document
from app.project import Project
from app.project_io import load_project, save_project
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]


def _book(tmp_path: Path) -> Path:
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "grid-2x3")
    for panel in doc.project.pages[0].panels:
        edits.set_panel_fields(doc, panel.id, prompt="a harbour at dawn")
    path = tmp_path / "book.comic"
    save_project(doc.project, path)
    return path


def test_ctrl_c_during_generate_all_keeps_finished_panels(tmp_path, tiny_models_dir):
    path = _book(tmp_path)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "generate", str(path), "--all", "--models",
                             str(tiny_models_dir), "--model", "tiny-sd", "--steps", "30", "--scheduler", "euler",
                             "--device", "cpu", "--quiet"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    finished = []
    deadline = time.monotonic() + 240
    try:
        while len(finished) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if "variant(s)" in line:
                finished.append(line.split(":")[0])
        assert len(finished) == 2, "the command printed no finished panels"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted")
    project = load_project(path)  # the file is whole, not half-written
    done = {p.id for p in project.pages[0].panels if p.image}
    assert set(finished) <= done, "a panel reported as finished lost its image"
    assert len(done) < 6, "the run was not interrupted"


def test_train_resume_from_the_command_line(tmp_path, tiny_models_dir, capsys):
    from PIL import Image
    from skimage import data as skdata

    from app.cli import main as cli

    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "splash")
    card = edits.add_card(doc, "character", "Mira", [Image.fromarray(skdata.astronaut()).resize((64, 64))])
    path = tmp_path / "book.comic"
    save_project(doc.project, path)
    base = ["train", str(path), "--card", card, "--models", str(tiny_models_dir), "--model", "tiny-sd",
            "--device", "cpu", "--quiet", "--resolution", "64", "--rank", "4", "--checkpoint-every", "2"]
    assert cli.main([*base, "--steps", "4"]) == 0, capsys.readouterr().err
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert cli.main([*base, "--steps", "6", "--resume"]) == 0, capsys.readouterr().err
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["steps"] == 4 and first["resumed_from"] == 0
    # the first run left a checkpoint at step 2 (every 2 steps; the last step saves the LoRA instead)
    assert resumed["steps"] == 6 and resumed["resumed_from"] == 2, resumed
