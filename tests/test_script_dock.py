"""The Script dock and File ▸ Import Script…, driven like a user would (qtbot)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from app.document import Document
from app.script.builder import SETTINGS_KEY

from .helpers_script import FULL_SCRIPT
from .helpers_window import open_window


def _click_line(qtbot, dock, line: int) -> None:
    block = dock.text.document().findBlockByNumber(line - 1)
    from PySide6.QtGui import QTextCursor

    rect = dock.text.cursorRect(QTextCursor(block))
    qtbot.mouseClick(dock.text.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.x() + 4, rect.center().y()))


def test_import_script_then_navigate_from_the_dock(qtbot, tmp_path):
    source = tmp_path / "lighthouse.txt"
    source.write_text(FULL_SCRIPT.replace("PAGE TWO", "A stray line between pages\n\nPAGE TWO"))
    window = open_window(qtbot, Document())
    file_menu = window.menuBar().actions()[0].menu()
    assert window.act_import_script in file_menu.actions()
    assert window.script_dock.toggleViewAction() in window.docks_menu.actions()
    dock = window.script_dock

    summary = dock.import_file(source)
    assert summary is not None and summary["pages"] == 2
    assert dock.isVisible() and dock.text.toPlainText().startswith("THE LAST LIGHTHOUSE")
    assert len(window.doc.project.pages) == 2 and window.doc.undo_stack.count() == 1
    problems = [dock.problems.item(i).text() for i in range(dock.problems.count())]
    assert problems == [] or all(p.startswith("line ") for p in problems)

    # click ANA's line on page one: the canvas shows page one with that panel selected and highlighted
    page1, page2 = window.doc.project.pages
    dock.text.verticalScrollBar().setValue(0)
    _click_line(qtbot, dock, 15)
    scene = window.view.page_scene
    assert scene.page_id == page1.id and scene.selected_panel_ids() == [page1.panels[1].id]
    assert dock.highlighted == (12, 18)
    assert dock.text.extraSelections() and dock.text.extraSelections()[0].cursor.selectedText().startswith("PANEL 2")

    # a line on page two switches the page
    panel_line = next(v["lines"][0] for k, v in window.doc.project.settings[SETTINGS_KEY]["panels"].items()
                      if v["id"] == page2.panels[1].id)
    dock.show_line(panel_line)
    assert scene.page_id == page2.id and scene.selected_panel_ids() == [page2.panels[1].id]

    # selecting a panel on the canvas highlights its lines
    scene.set_page(page1.id)
    scene.select_ids([page1.panels[0].id])
    assert dock.highlighted == (6, 11)

    # an edited script updates the book in one undo step; a removed panel is listed, not deleted
    source.write_text(FULL_SCRIPT.replace("PANEL 2\nSea serpent rising in the beam.\n\nMYSTERY VOICE: Who wakes me?\n",
                                          ""))
    serpent = page2.panels[1].id
    summary = dock.import_file(source)
    assert summary["update"] and summary["removed_panels"] == [serpent]
    assert window.doc.project.panel_or_none(serpent) is not None
    listed = [dock.problems.item(i).text() for i in range(dock.problems.count())]
    assert any(serpent in text for text in listed)
    assert window.doc.undo_stack.count() == 2
    window.doc.undo_stack.undo()
    assert dock.meta()["removed"] == []


def test_an_unusable_script_is_refused_with_one_line(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 20)
    window = open_window(qtbot, Document())
    assert window.script_dock.import_file(junk) is None
    assert len(shown) == 1 and "not a text file" in shown[0] and "\n" not in shown[0]
    assert window.doc.undo_stack.count() == 0
