"""Recovery files: autosave, listing what is newer than the saved project, discard after save."""

from __future__ import annotations

import os
import time

import pytest

from app import edits, recovery
from app.document import Document
from app.layout import PAGE_SIZES
from app.project_io import save_project
from tests.helpers_platform import SYSTEMS, pretend_os
from tests.helpers_project import pruned, solid_png


@pytest.fixture(autouse=True)
def recovery_folder(tmp_path, monkeypatch):
    folder = tmp_path / "recovery"
    monkeypatch.setenv(recovery.ENV_RECOVERY_DIR, str(folder))
    return folder


def _doc() -> Document:
    doc = Document()
    page = edits.add_page(doc, PAGE_SIZES["A4"], "2-tier")
    edits.add_variant(doc, doc.project.page(page).panels[0].id, solid_png((1, 2, 3)))
    return doc


def _age(path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_untitled_autosave_is_offered(recovery_folder):
    doc = _doc()
    out = recovery.write_recovery(doc.project, None)
    assert out.parent == recovery_folder and out.name == "untitled.comic"
    found = recovery.list_recoverable()
    assert [e.path for e in found] == [out] and found[0].project_path is None
    assert recovery.find_recovery(None) == out
    assert recovery.load_recovery(out) == pruned(doc.project)
    recovery.remove_recovery(None)
    assert recovery.list_recoverable() == [] and not list(recovery_folder.iterdir())


def test_recovery_newer_than_saved_project(tmp_path):
    doc = _doc()
    path = tmp_path / "book.comic"
    save_project(doc.project, path)
    _age(path, 60)
    edits.set_project_attrs(doc, title="changed after saving")
    out = recovery.write_recovery(doc.project, path)
    assert out != recovery.recovery_path(None) and "book-" in out.name
    assert recovery.find_recovery(path) == out
    [entry] = recovery.list_recoverable()
    assert entry.project_path == path.absolute() and entry.title == "changed after saving"
    assert recovery.load_recovery(out).title == "changed after saving"
    # a later save of the project makes the recovery file stale: not offered, and cleaned up
    save_project(doc.project, path)
    assert recovery.find_recovery(path) is None
    assert recovery.list_recoverable() == []
    assert not out.exists()


def test_discard_after_save(tmp_path):
    doc = _doc()
    path = tmp_path / "a.comic"
    recovery.write_recovery(doc.project, path)
    other = recovery.write_recovery(doc.project, tmp_path / "b.comic")
    save_project(doc.project, path)
    recovery.remove_recovery(path)
    assert [e.path for e in recovery.list_recoverable()] == [other]
    recovery.remove_recovery(path)  # twice is fine


def test_keys_differ_by_path(tmp_path):
    a = recovery.recovery_key(tmp_path / "x" / "book.comic")
    b = recovery.recovery_key(tmp_path / "y" / "book.comic")
    assert a != b and a.startswith("book-") and recovery.recovery_key(None) == "untitled"


def test_project_gone_or_sidecar_lost(tmp_path, recovery_folder):
    doc = _doc()
    path = tmp_path / "gone.comic"
    out = recovery.write_recovery(doc.project, path)  # never saved: recoverable
    assert recovery.find_recovery(path) == out
    out.with_suffix(".json").unlink()
    [entry] = recovery.list_recoverable()
    assert entry.path == out and entry.project_path is None


def test_autosave_overwrites(tmp_path):
    doc = _doc()
    recovery.write_recovery(doc.project, None)
    edits.set_project_attrs(doc, title="second")
    out = recovery.write_recovery(doc.project, None)
    assert recovery.load_recovery(out).title == "second"
    assert not list(out.parent.glob("*.bak"))


def test_default_folder_is_per_user(monkeypatch, tmp_path):
    monkeypatch.delenv(recovery.ENV_RECOVERY_DIR)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    folder = recovery.recovery_dir()
    assert folder.name == "recovery" and "Panelsmith" in str(folder)


@pytest.mark.parametrize("system", SYSTEMS)
def test_default_folder_is_the_os_state_folder(monkeypatch, tmp_path, system):
    monkeypatch.delenv(recovery.ENV_RECOVERY_DIR)
    _, state = pretend_os(monkeypatch, system, tmp_path / "home")
    assert recovery.recovery_dir() == state / "recovery"
