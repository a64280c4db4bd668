"""Writers never lose work: atomic exports, --out is never the project, symlinks, read-only
folders found before a long job, and one writer at a time (an advisory lock)."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app import edits, export, file_lock, project_io
from app.document import Document
from app.layout import PAGE_SIZES
from app.project_io import load_project, save_project
from tests.helpers_project import FullDisk, solid_png

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path) -> Path:
    doc = Document()
    page = edits.add_page(doc, PAGE_SIZES["A5"] if "A5" in PAGE_SIZES else PAGE_SIZES["A4"], "grid-2x2")
    for i, panel in enumerate(doc.project.page(page).panels):
        edits.add_variant(doc, panel.id, solid_png((60 * i, 100, 30), (300, 200)), seed=i)
    folder = tmp_path / "proj"
    folder.mkdir()
    return save_project(doc.project, folder / "book.comic", thumbnail=False)


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- item 12: export onto a full disk -------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["png", "cbz", "panel"])
def test_export_onto_a_full_disk_leaves_nothing(tmp_path, capsys, monkeypatch, project, fmt):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    monkeypatch.setattr(export, "_open_for_write", lambda fd: FullDisk(fd, 500))
    panel = load_project(project).pages[0].panels[0].id
    args = {"png": ["--format", "png", "--out", out_dir / "pages", "--dpi", "72"],
            "cbz": ["--format", "cbz", "--out", out_dir / "book.cbz", "--dpi", "72"],
            "panel": ["--panel", panel, "--out", out_dir / "panel.png"]}[fmt]
    if fmt == "png":
        (out_dir / "pages").mkdir()
    code, out, err = run(capsys, "export", project, *args)
    assert code == 2 and out == ""
    assert "disk is full" in one_error_line(err)
    assert _listing(out_dir) == (["pages"] if fmt == "png" else [])
    if fmt == "png":
        assert _listing(out_dir / "pages") == []


def _limited_export(argv: list[str], limit: int) -> subprocess.CompletedProcess:
    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, argv)], capture_output=True, text=True,
                          timeout=180, cwd=ROOT, preexec_fn=limit_file_size,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


@pytest.mark.parametrize("fmt", ["pdf", "png"])
def test_export_past_the_file_size_limit_exits_2_and_leaves_nothing(tmp_path, project, fmt):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / ("book.pdf" if fmt == "pdf" else "pages")
    proc = _limited_export(["export", project, "--format", fmt, "--out", target, "--dpi", "150"], 8_000)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    one_error_line(proc.stderr)
    leftovers = [p.name for p in out_dir.rglob("*") if p.is_file()]
    assert leftovers == []


# --- item 13: --out is never the project; symlinks; read-only folders -------------------------------------

@pytest.mark.parametrize("spelling", ["same", "dotdot", "symlink", "hardlink"])
@pytest.mark.parametrize("fmt", ["pdf", "cbz", "panel"])
def test_export_out_equal_to_the_project_is_refused(tmp_path, capsys, project, spelling, fmt):
    before = project.read_bytes()
    if spelling == "same":
        out = project
    elif spelling == "dotdot":
        out = project.parent / ".." / project.parent.name / project.name
    elif spelling == "symlink":
        out = tmp_path / "link.pdf"
        out.symlink_to(project)
    else:
        out = tmp_path / "hard.pdf"
        os.link(project, out)
    panel = load_project(project).pages[0].panels[0].id
    extra = ["--panel", panel] if fmt == "panel" else ["--format", fmt, "--dpi", "72"]
    code, stdout, err = run(capsys, "export", project, *extra, "--out", out)
    assert code == 2 and stdout == ""
    assert "is the project file itself" in one_error_line(err)
    assert project.read_bytes() == before
    load_project(project)


def test_a_project_opened_through_a_symlink_is_saved_to_its_target(tmp_path, capsys, project):
    link_folder = tmp_path / "links"
    link_folder.mkdir()
    link = link_folder / "book.comic"
    link.symlink_to(project)
    code, out, err = run(capsys, "card", "add", link, "--style", "Ink")
    assert code == 0, err
    assert link.is_symlink() and link.resolve() == project.resolve()
    assert [c.name for c in load_project(project).styles] == ["Ink"]
    assert (project.parent / "book.comic.bak").is_file()
    assert not (link_folder / "book.comic.bak").exists()


@pytest.mark.parametrize("command", ["generate", "vary", "pan", "upscale"])
def test_a_read_only_folder_is_refused_before_a_generation_starts(tmp_path, capsys, monkeypatch, project, command):
    from app.cli import generation

    def no_engine(*args, **kwargs):
        raise AssertionError("the engine was started for a project that cannot be saved")

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(generation, "_engine", no_engine)
    monkeypatch.setattr("engine.api.Engine", no_engine)
    monkeypatch.setattr(project_io.tempfile, "mkstemp", read_only)
    panel = load_project(project).pages[0].panels[0].id
    mask = tmp_path / "mask.png"
    from PIL import Image

    Image.new("L", (20, 20), 255).save(mask)
    extra = {"generate": ["--panel", panel], "vary": ["--panel", panel, "--mask", mask, "--prompt", "x"],
             "pan": ["--panel", panel, "--direction", "left"], "upscale": ["--panel", panel]}[command]
    code, out, err = run(capsys, command, project, *extra)
    assert code == 2
    line = one_error_line(err)
    assert "book.comic" in line and "permission denied" in line and "nothing was started" in line


# --- item 11: one writer at a time ---------------------------------------------------------------------

def test_a_second_writer_exits_2_naming_the_holder(tmp_path, capsys, monkeypatch, project):
    monkeypatch.setattr(file_lock, "WAIT_S", 0.3)
    before = project.read_bytes()
    with file_lock.ProjectLock(project):
        code, out, err = run(capsys, "card", "add", project, "--style", "Ink")
        assert code == 2
        line = one_error_line(err)
        assert f"process {os.getpid()} on {socket.gethostname()}" in line and "book.comic" in line
        assert project.read_bytes() == before
    code, out, err = run(capsys, "card", "add", project, "--style", "Ink")
    assert code == 0, err
    assert [c.name for c in load_project(project).styles] == ["Ink"]


def test_the_lock_is_released_when_a_command_fails(tmp_path, capsys, project):
    code, out, err = run(capsys, "bind", project, "--panel", "nope", "--card", "nope")
    assert code == 2
    lock = file_lock.ProjectLock(project, wait_s=0)
    lock.acquire()
    assert lock.held
    lock.release()


# --- the window: changed on disk, the lock, consent for outside paths -------------------------------------

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from app import safe_paths  # noqa: E402
from tests.helpers_cli import one_error_line, run


@pytest.fixture
def window(qtbot, tmp_path_factory, monkeypatch):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path_factory.mktemp("settings")))
    monkeypatch.setenv("PANELSMITH_RECOVERY_DIR", str(tmp_path_factory.mktemp("recovery")))
    monkeypatch.setattr(safe_paths, "_CONSENTED", set())
    from tests.helpers_window import open_window

    return open_window(qtbot, Document())


def _answer(monkeypatch, button) -> list[str]:
    asked: list[str] = []
    monkeypatch.setattr("widgets.main_window.QMessageBox.question",
                        lambda parent, title, text, *a: asked.append(text) or button)
    return asked


def _changed_elsewhere(path: Path) -> bytes:
    other = load_project(path)
    other.title = "changed elsewhere"
    save_project(other, path, thumbnail=False)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    return path.read_bytes()


def test_window_asks_before_overwriting_a_file_changed_on_disk(window, monkeypatch, project):
    assert window.load(project, offer_recovery=False)
    edits.set_project_attrs(window.doc, title="mine")
    theirs = _changed_elsewhere(project)
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert window.save() is False
    assert len(asked) == 1 and "changed by another program" in asked[0]
    assert project.read_bytes() == theirs
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    assert window.save() is True and len(asked) == 1
    assert load_project(project).title == "mine"
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    assert window.save() is True and asked == []  # saved here last: no question


def test_window_save_waits_for_another_writer_then_says_who(window, monkeypatch, project):
    monkeypatch.setattr(file_lock, "WAIT_S", 0.2)
    shown: list[str] = []
    monkeypatch.setattr("widgets.main_window.QMessageBox.critical", lambda *a: shown.append(a[2]))
    assert window.load(project, offer_recovery=False)
    edits.set_project_attrs(window.doc, title="mine")
    before = project.read_bytes()
    with file_lock.ProjectLock(project):
        assert window.save() is False
    assert len(shown) == 1 and f"process {os.getpid()}" in shown[0]
    assert project.read_bytes() == before
    assert window.save() is True


def test_window_asks_once_before_a_project_may_read_outside_files(window, monkeypatch, tmp_path, project):
    doc = Document(load_project(project), project)
    card = edits.add_card(doc, "style", "Ink", [])
    edits.update_card(doc, card, lora=str(tmp_path / "elsewhere" / "style.safetensors"))
    save_project(doc.project, project, thumbnail=False)
    asked = _answer(monkeypatch, QMessageBox.StandardButton.No)
    assert window.load(project, offer_recovery=False)
    assert len(asked) == 1 and "style.safetensors" in asked[0]
    assert not safe_paths.outside_allowed(project.parent)
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)
    assert window.load(project, offer_recovery=False)
    assert len(asked) == 1 and safe_paths.outside_allowed(project.parent)
    monkeypatch.setattr(safe_paths, "_CONSENTED", set())
    asked = _answer(monkeypatch, QMessageBox.StandardButton.No)
    assert window.load(project, offer_recovery=False)  # remembered: not asked again
    assert asked == [] and safe_paths.outside_allowed(project.parent)
