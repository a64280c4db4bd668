"""The command line: subcommands, JSON output, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from app.cli import main as cli
from app.project_io import load_project
from tests.helpers_cli import run

ROOT = Path(__file__).resolve().parent.parent


def assert_error(capsys, *argv: str, fragment: str = "") -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2, (argv, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and fragment in lines[0], err
    return lines[0]


@pytest.fixture
def project(tmp_path, capsys) -> Path:
    path = tmp_path / "book.comic"
    code, out, err = run(capsys, "new", path, "--template", "grid-2x2", "--pages", "2")
    assert code == 0 and err == ""
    return path


def _ref(tmp_path: Path, name: str, color=(200, 100, 50)) -> Path:
    path = tmp_path / name
    Image.new("RGB", (40, 30), color).save(path)
    return path


def test_new_and_info(tmp_path, capsys, project):
    code, out, err = run(capsys, "info", project)
    assert code == 0
    info = json.loads(out)
    assert info["schema"] == 3 and len(info["pages"]) == 2
    page = info["pages"][0]
    assert page["size_mm"] == [210.0, 297.0] and page["id"].startswith("page-")
    assert len(page["panels"]) == 4
    panel = page["panels"][0]
    assert set(panel) >= {"id", "bbox_mm", "prompt", "characters", "styles", "image", "variants"}
    assert panel["image"] is None and panel["variants"] == 0 and len(panel["bbox_mm"]) == 4
    assert sorted(page["reading_order"]) == sorted(p["id"] for p in page["panels"])
    assert page["reading_order"][0] == panel["id"]
    assert info["characters"] == [] and info["styles"] == []


def test_new_options(tmp_path, capsys):
    path = tmp_path / "manga.comic"
    assert run(capsys, "new", path, "--size", "B5", "--template", "manga-5", "--dpi", "600")[0] == 0
    project = load_project(path)
    assert project.dpi == 600 and project.pages[0].size_name == "B5" and len(project.pages[0].panels) == 5
    custom = tmp_path / "c.comic"
    assert run(capsys, "new", custom, "--size", "150x200mm")[0] == 0
    page = load_project(custom).pages[0]
    assert (page.width_mm, page.height_mm) == (150, 200)
    assert_error(capsys, "new", custom, fragment="already exists")
    assert run(capsys, "new", custom, "--force", "--pages", "3")[0] == 0
    assert len(load_project(custom).pages) == 3


def test_card_add_and_bind(tmp_path, capsys, project):
    ref1, ref2 = _ref(tmp_path, "a.png"), _ref(tmp_path, "b.jpg", (1, 2, 3))
    code, out, err = run(capsys, "card", "add", project, "--character", "Mia", "--ref", ref1, ref2)
    assert code == 0 and err == ""
    char_id = out.strip()
    assert char_id.startswith("char-")
    code, out, _ = run(capsys, "card", "add", project, "--style", "Ink wash", "--ref", ref1)
    style_id = out.strip()
    info = json.loads(run(capsys, "info", project)[1])
    assert info["characters"] == [{"id": char_id, "name": "Mia", "references": 2}]
    assert info["styles"] == [{"id": style_id, "name": "Ink wash", "references": 1}]
    panel = info["pages"][0]["panels"][2]["id"]
    assert run(capsys, "bind", project, "--panel", panel, "--card", char_id, "--cw", "35")[0] == 0
    assert run(capsys, "bind", project, "--panel", panel, "--card", style_id, "--sw", "800")[0] == 0
    info = json.loads(run(capsys, "info", project)[1])
    entry = info["pages"][0]["panels"][2]
    assert entry["characters"] == [{"card": char_id, "cw": 35}]
    assert entry["styles"] == [{"card": style_id, "sw": 800}]
    assert (project.parent / (project.name + ".bak")).exists()
    assert_error(capsys, "bind", project, "--panel", panel, "--card", char_id, "--sw", "5", fragment="--cw")
    assert_error(capsys, "bind", project, "--panel", panel, "--card", style_id, "--cw", "5", fragment="--sw")
    assert_error(capsys, "bind", project, "--panel", panel, "--card", char_id, "--cw", "101", fragment="between 0 and 100")
    assert_error(capsys, "bind", project, "--panel", "panel-x", "--card", char_id, fragment="no panel")
    assert_error(capsys, "bind", project, "--panel", panel, "--card", "char-x", fragment="no card")
    assert_error(capsys, "card", "add", project, "--character", "X", "--ref", tmp_path / "none.png",
                 fragment="does not exist")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert_error(capsys, "card", "add", project, "--character", "X", "--ref", bad, fragment="cannot read")
    assert_error(capsys, "card", "add", project, "--character", " ", "--ref", ref1, fragment="needs a name")


def test_export_commands(tmp_path, capsys, project):
    code, out, err = run(capsys, "export", project, "--format", "png", "--out", tmp_path / "png", "--dpi", "300")
    assert code == 0, err
    files = sorted((tmp_path / "png").iterdir())
    assert [f.name for f in files] == ["page-001.png", "page-002.png"]
    with Image.open(files[0]) as im:
        assert im.size == (2480, 3508)
    assert run(capsys, "export", project, "--format", "png", "--out", tmp_path / "bleed", "--dpi", "300", "--bleed")[0] == 0
    with Image.open(tmp_path / "bleed" / "page-001.png") as im:
        assert im.size == (2480 + 70, 3508 + 70)
    assert run(capsys, "export", project, "--format", "pdf", "--out", tmp_path / "b.pdf")[0] == 0
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")
    assert run(capsys, "export", project, "--format", "cbz", "--out", tmp_path / "b.cbz", "--dpi", "50")[0] == 0
    with zipfile.ZipFile(tmp_path / "b.cbz") as zf:
        assert [n for n in zf.namelist() if n.endswith(".png")] == ["page-001.png", "page-002.png"]
    panel = json.loads(run(capsys, "info", project)[1])["pages"][0]["panels"][0]["id"]
    assert_error(capsys, "export", project, "--panel", panel, "--out", tmp_path / "p.png", fragment="has no image")
    assert_error(capsys, "export", project, "--out", tmp_path / "x", fragment="--format")
    assert_error(capsys, "export", project, "--format", "tiff", "--out", tmp_path / "x", fragment="invalid choice")
    assert_error(capsys, "export", project, "--format", "png", "--out", tmp_path / "x", "--dpi", "abc",
                 fragment="whole number")


def test_export_panel_through_cli(tmp_path, capsys, project):
    from app import edits
    from app.document import Document
    from app.project_io import save_project

    doc = Document(load_project(project))
    panel = doc.project.pages[0].panels[0].id
    img = Image.new("RGB", (1200, 700), (5, 6, 7))
    edits.add_variant(doc, panel, img)
    save_project(doc.project, project)
    code, out, err = run(capsys, "export", project, "--panel", panel, "--out", tmp_path / "panel.png")
    assert code == 0, err
    with Image.open(tmp_path / "panel.png") as im:
        assert im.size == (1200, 700)
    info = json.loads(run(capsys, "info", project)[1])
    assert info["pages"][0]["panels"][0]["image"] == {"width": 1200, "height": 700}
    assert info["pages"][0]["panels"][0]["variants"] == 1


def test_bad_input_is_one_line(tmp_path, capsys):
    assert_error(capsys, "new", tmp_path / "x.comic", "--size", "A0", fragment="unknown page size")
    assert_error(capsys, "new", tmp_path / "x.comic", "--template", "grid-9x9", fragment="unknown template")
    assert_error(capsys, "new", tmp_path / "x.comic", "--pages", "0", fragment="between 1 and 1000")
    assert_error(capsys, "new", tmp_path / "nofolder" / "x.comic", fragment="does not exist")
    assert_error(capsys, "info", tmp_path / "missing.comic", fragment="no such file")
    assert_error(capsys, "frobnicate", fragment="invalid choice")
    assert_error(capsys, fragment="no command")
    assert_error(capsys, "info", fragment="required")
    assert_error(capsys, "card", fragment="card needs an action")


def _subcommands() -> dict:
    return next(a for a in cli.build_parser()._actions if a.dest == "command").choices


def test_every_subcommand_is_registered():
    assert set(_subcommands()) == {"new", "info", "export", "doctor", "card", "bind", "generate", "vary", "pan",
                                       "upscale", "edit", "animate", "faces", "compare", "swap", "sheet", "train", "models", "script"}


def test_info_has_no_identity_without_image_or_characters(capsys, project):
    info = json.loads(run(capsys, "info", project)[1])
    assert all("identity" not in p for page in info["pages"] for p in page["panels"])


def test_scheduler_and_device_choices_come_from_the_engine(capsys, project):
    from engine.device import DEVICES
    from engine.sampling import SCHEDULERS

    help_text = _subcommands()["generate"].format_help()
    assert ", ".join(SCHEDULERS) in " ".join(help_text.split()) and "{" + ",".join(DEVICES) + "}" in help_text
    line = assert_error(capsys, "generate", project, "--scheduler", "heun", fragment="--scheduler")
    assert "invalid choice" in line and "dpm++_karras" in line and len(line) < 300
    assert_error(capsys, "train", project, "--card", "x", "--device", "tpu", fragment="invalid choice")
    assert_error(capsys, "upscale", project, "--panel", "x", "--scheduler", "nope", fragment="invalid choice")


def test_scheduler_aliases_are_accepted(capsys, project, monkeypatch):
    from app.cli import generation

    seen = []
    monkeypatch.setattr(generation, "_run", lambda doc, args, ids, kind, **kw: seen.append(args.scheduler) or 0)
    for alias, key in (("DPM++ 2M Karras", "dpm++_karras"), ("euler-a", "euler_a"), ("ddim", "ddim")):
        code, _, err = run(capsys, "generate", project, "--scheduler", alias)
        assert code == 0, err
    assert seen == ["dpm++_karras", "euler_a", "ddim"]


def test_doctor_json(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PANELSMITH_MODELS", str(tmp_path))
    code, out, err = run(capsys, "doctor", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert report["qt"]["qt"]
    assert "installed" in report["torch"] and "installed" in report["onnxruntime"]
    assert report["models"]["folder"] == str(tmp_path) and report["models"]["models"] == []
    code, out, _ = run(capsys, "doctor")
    assert code == 0 and "Python" in out and "torch" in out and "models" in out


def _main_py(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_main_py_help_and_errors(tmp_path):
    proc = _main_py("--help")
    assert proc.returncode == 0
    for name in ("new", "info", "export", "doctor", "card", "bind"):
        assert name in proc.stdout
    proc = _main_py("new", str(tmp_path / "x.comic"), "--size", "nope")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: unknown page size")
    proc = _main_py("not-a-command")
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1


def test_main_py_imports_no_torch():
    code = ("import sys, main; from app.cli import main as cli; cli.build_parser(); main._is_command_line(['info', 'x']);"
            "import app.project_io, app.export, app.render, app.recovery;"
            "bad = [m for m in ('torch', 'diffusers', 'onnxruntime', 'insightface') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
