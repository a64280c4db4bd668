"""Ctrl+S writes on a helper thread from a snapshot: the window keeps running, closing waits for it."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest

from app import edits, project_io
from app.document import Document
from app.layout import PAGE_SIZES
from app.project_io import load_project, save_project
from tests.helpers_project import solid_png
from tests.helpers_window import open_window


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("PANELSMITH_RECOVERY_DIR", str(tmp_path / "recovery"))
    doc = Document()
    page = edits.add_page(doc, PAGE_SIZES["A4"], "grid-2x2")
    edits.add_variant(doc, doc.project.page(page).panels[0].id, solid_png((9, 80, 160), (200, 150)))
    path = tmp_path / "book.comic"
    save_project(doc.project, path, thumbnail=False)
    win = open_window(qtbot, Document(load_project(path), path))
    asked = []
    monkeypatch.setattr("widgets.main_window.QMessageBox.exec", lambda box: asked.append(box.text()) or 0)
    win.asked = asked
    return win


@pytest.fixture
def gate(monkeypatch):
    """Holds every save's write until ``release`` is set; records the writing threads."""
    release, threads = threading.Event(), []
    real = project_io.SaveSnapshot.write

    def held(snap, **k):
        threads.append(threading.current_thread())
        assert release.wait(20)
        return real(snap, **k)
    monkeypatch.setattr(project_io.SaveSnapshot, "write", held)
    return release, threads


def _title(win) -> str:
    return load_project(win.doc.path).title


def test_ctrl_s_writes_off_the_gui_thread_while_the_window_runs(window, gate):
    release, threads = gate
    edits.set_project_attrs(window.doc, title="saved")
    seen = []

    def during_save() -> None:  # runs from the window's event loop while the file is written
        seen.append(window.saving.busy())
        edits.set_project_attrs(window.doc, title="after the snapshot")  # an edit during the save
        release.set()
    QTimer.singleShot(50, during_save)
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # the real shortcut
    assert seen == [True]
    assert threads and threads[0] is not threading.main_thread()
    assert _title(window) == "saved"  # the snapshot, not the document as it became
    assert window.doc.modified  # the later edit is not saved
    assert window.asked == [] and not window.saving.busy()


def test_closing_waits_for_a_save_in_flight(window, gate, qtbot):
    release, _ = gate
    edits.set_project_attrs(window.doc, title="saved before closing")
    closed = []

    def close_during_save() -> None:
        threading.Timer(0.2, release.set).start()  # the write ends while the window is closing
        closed.append(window.close())
    QTimer.singleShot(50, close_during_save)
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert closed == [True] and not window.isVisible()
    assert window.asked == []  # saved: no unsaved-changes question
    assert _title(window) == "saved before closing"
    assert not window.saving.busy()
