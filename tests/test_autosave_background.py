"""The timer's autosave: a snapshot taken on the GUI thread, written on a helper thread."""

from __future__ import annotations

import threading

import pytest

from app import edits, recovery
from app.document import Document
from app.layout import PAGE_SIZES
from app.project import Rect
from tests.helpers_project import solid_png
from widgets.autosave import Autosaver


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


@pytest.fixture
def gated(monkeypatch):
    """Holds every background write until ``release`` is set; records the writing thread."""
    release, threads = threading.Event(), []
    real = recovery.write_recovery_snapshot

    def slow(*a, **k):
        threads.append(threading.current_thread())
        assert release.wait(20)
        return real(*a, **k)
    monkeypatch.setattr(recovery, "write_recovery_snapshot", slow)
    return release, threads


def test_autosave_writes_a_snapshot_off_the_gui_thread(qtbot, gated):
    release, threads = gated
    doc = _doc()
    saver = Autosaver(doc)
    try:
        assert saver.autosave_in_background()
        assert saver.busy() and not saver.autosave_in_background()  # one at a time
        page = doc.project.pages[0]
        edits.add_panel(doc, page.id, Rect(5, 5, 30, 30))  # an edit while the autosave is written
        snapshot_panels = len(page.panels)
        with qtbot.waitSignal(saver.written, timeout=20_000) as got:
            release.set()
        assert threads and threads[0] is not threading.main_thread()
        assert got.args[0] == recovery.recovery_path(None)
        back = recovery.load_recovery(recovery.find_recovery(None))
        assert len(back.pages[0].panels) == snapshot_panels  # the document as it was, not as it became
        assert back.images == doc.project.images
        assert saver.autosave_in_background()  # the later edit is still due
        saver.wait()
    finally:
        release.set()
        saver.stop(clean=False)


def test_a_save_during_an_autosave_leaves_no_recovery_file(qtbot, gated):
    release, _ = gated
    doc = _doc()
    saver = Autosaver(doc)
    try:
        assert saver.autosave_in_background()
        saver.saved()  # the user saved meanwhile
        release.set()
        saver.wait()
        assert recovery.find_recovery(None) is None
        assert not recovery.recovery_path(None).exists()
    finally:
        release.set()
        saver.stop(clean=False)
