"""Undo names that say what changed; questions before a template or page removal drops work; Help menu."""

from __future__ import annotations

import pytest
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app import edits
from app.project import Rect
from tests.helpers_window import choose, one_page_doc, open_window


@pytest.fixture
def win(qtbot):
    doc = one_page_doc("Names")
    edits.add_card(doc, "character", "Mara", [Image.new("RGB", (32, 32), "red")])
    doc.undo_stack.clear()
    window = open_window(qtbot, doc)
    yield window
    window.doc.undo_stack.setClean()
    window.close()


def answer(button_text: str | None) -> list[str]:
    """Answer the next question box by clicking the button named ``button_text`` (None: Cancel)."""
    asked: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        asked.append(box.text())
        for b in box.buttons():
            if (button_text is None and box.buttonRole(b) == QMessageBox.ButtonRole.RejectRole) or \
                    b.text() == button_text:
                b.click()
                return
        box.reject()

    QTimer.singleShot(0, click)
    return asked


def test_undo_names_say_what_changed(win):
    doc, page = win.doc, win.doc.project.pages[0]
    panel = page.panels[0]
    mara = doc.project.characters[0]
    edits.bind_card(doc, panel.id, mara.id)
    assert win.act_undo.text() == "Undo Bind Mara" or doc.undo_stack.undoText() == "Bind Mara"
    edits.bind_card(doc, panel.id, mara.id, 48)
    assert doc.undo_stack.undoText() == "Change cw of Mara to 48"
    bid = edits.add_balloon(doc, page.id, "speech", Rect(20, 20, 40, 20), "Hi")
    edits.update_balloon(doc, page.id, bid, font_size=10.5)
    assert doc.undo_stack.undoText() == "Change size of Balloon to 10.5 pt"
    edits.update_balloon(doc, page.id, bid, kind="thought")
    assert doc.undo_stack.undoText() == "Change kind of Balloon to thought"
    edits.update_balloon(doc, page.id, bid, text="Hello")
    assert doc.undo_stack.undoText() == "Edit text of Balloon"
    edits.set_panel_fields(doc, panel.id, seed=7)
    assert doc.undo_stack.undoText() == "Change seed of Panel to 7"
    edits.set_page_props(doc, page.id, gutter_mm=4.0)
    assert doc.undo_stack.undoText() == "Change gutter of Page to 4 mm"
    edits.update_card(doc, mara.id, name="Mara Voss")
    assert doc.undo_stack.undoText() == "Change name of Mara to Mara Voss"


def test_template_asks_before_dropping_prompts_and_images(win, qtbot):
    doc = win.doc
    combo = win.template_combo
    choose(qtbot, combo, "grid-3x3")  # an untouched page: no question
    assert len(doc.project.pages[0].panels) == 9
    edits.set_panel_fields(doc, doc.project.pages[0].panels[0].id, prompt="a cat on a roof")
    edits.add_variant(doc, doc.project.pages[0].panels[1].id, Image.new("RGB", (8, 8), "blue"))
    steps = doc.undo_stack.count()
    asked = answer(None)
    choose(qtbot, combo, "grid-2x2")
    assert asked and "1 prompt and 1 image" in asked[0]
    assert len(doc.project.pages[0].panels) == 9 and doc.undo_stack.count() == steps
    asked = answer("Apply grid-2x2")
    choose(qtbot, combo, "grid-2x2")
    assert asked and len(doc.project.pages[0].panels) == 4


def test_removing_a_page_with_content_asks(win, qtbot):
    doc = win.doc
    edits.add_page(doc)
    empty = doc.project.pages[1]
    win.pages_dock.show_page(empty.id)
    win.act_remove_page.trigger()  # empty: no question
    assert len(doc.project.pages) == 1
    edits.add_page(doc)
    second = doc.project.pages[1]
    edits.add_balloon(doc, second.id, "caption", Rect(20, 20, 40, 12), "Later")
    win.pages_dock.show_page(second.id)
    asked = answer(None)
    win.act_remove_page.trigger()
    assert asked and "Page 2 has 1 balloon" in asked[0] and len(doc.project.pages) == 2
    answer("Remove Page")
    win.act_remove_page.trigger()
    assert len(doc.project.pages) == 1


def test_help_menu(win, qtbot):
    titles = [a.text().replace("&", "") for a in win.menuBar().actions()]
    assert titles[-1] == "Help"
    win.act_shortcuts.trigger()
    text = win.help_dialog.browser.toPlainText()
    assert "Redo" in text and "Undo" in text and "Ctrl+Z" in text and "Export" in text
    win.help_dialog.close()
    win.act_licences.trigger()
    text = win.help_dialog.browser.toPlainText()
    assert "non-commercial" in text and "Open Font License" in text
    win.help_dialog.close()
    asked = answer("OK")
    win.act_about.trigger()
    assert asked and "Panelsmith" in win.windowTitle()
