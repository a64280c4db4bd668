"""Status bar and note bar as a person sees them: file names, long notes once per run, dismissible."""

from __future__ import annotations

import os

import pytest
from PySide6.QtTest import QTest
from PySide6.QtCore import Qt

from tests.helpers_window import one_page_doc, open_window

SHOTS = os.environ.get("PANELSMITH_SHOTS")
NOTE = ("Panel 1: note: Aki: no face model pack, so identity comes only from the card's prompt and references; "
        "put an insightface pack in the models folder")


@pytest.fixture
def win(qtbot):
    return open_window(qtbot, one_page_doc("Notes"))


def test_a_long_note_shows_once_per_run_in_a_dismissible_bar(win, qtbot, monkeypatch):
    bar = win.note_bar
    assert not bar.isVisible()
    win.generation.show_message(NOTE)
    assert bar.isVisible() and bar.label.text() == NOTE
    assert win.statusBar().currentMessage() == ""  # not cut off under the cursor read-out
    assert bar.action.text() == "Preferences…"
    if SHOTS:
        win.grab().save(os.path.join(SHOTS, "note-bar.png"))
    opened = []
    monkeypatch.setattr(win.generation, "preferences", lambda: opened.append(True))
    QTest.mouseClick(bar.action, Qt.MouseButton.LeftButton)
    assert opened == [True]
    QTest.mouseClick(bar.close_button, Qt.MouseButton.LeftButton)
    assert not bar.isVisible()
    win.generation.show_message(NOTE.replace("Panel 1", "Panel 2"))  # the next job: same note, not again
    assert not bar.isVisible()
    win.generation.show_message("Generated Panel 2")  # short: the status bar as before
    assert win.statusBar().currentMessage() == "Generated Panel 2" and not bar.isVisible()
