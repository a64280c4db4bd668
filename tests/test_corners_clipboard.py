"""Corner editing and Copy/Cut/Paste/Duplicate, driven through the real window (pytest-qt, offscreen)."""

from __future__ import annotations

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app import clipboard, edits, layout
from app.document import Document
from app.project import Project, Rect
from widgets.main_window import MainWindow
from widgets.canvas.panel_item import PanelItem

from .test_widgets import click, drag, make_doc, page, vp, win  # noqa: F401 - fixtures

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def status(w) -> str:
    return w.statusBar().currentMessage()


def test_drag_one_corner_is_one_undo_step(win):
    panel = page(win).panels[0]
    before = list(panel.points)
    click(win, panel.bbox.x + 10, panel.bbox.y + 10)
    win.view.snapping = False
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_E)  # Edit Corners
    assert win.view.corner_mode and win.act_corners.isChecked()
    item = win.view.page_scene.items_by_id[panel.id]
    assert all(h.isVisible() for h in item.corner_handles)
    assert not any(h.isVisible() for h in item.handles.values())
    x, y = before[2]  # bottom-right corner moves alone: the frame becomes a slanted quad
    drag(win, (x, y), (x - 15, y - 10))
    after = page(win).panel(panel.id).points
    assert after[2] == pytest.approx((x - 15, y - 10), abs=0.8)
    assert after[:2] == before[:2] and after[3] == before[3]
    assert not page(win).panel(panel.id).is_rect
    assert win.doc.undo_stack.count() == 1
    assert win.doc.undo_stack.undoText() == "Move Corner"
    win.act_undo.trigger()
    assert page(win).panel(panel.id).points == before
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_Escape)
    assert not win.view.corner_mode


def test_self_intersecting_corner_drag_is_refused(win):
    panel = page(win).panels[0]
    before = list(panel.points)
    box = panel.bbox
    click(win, box.x + 10, box.y + 10)
    win.view.snapping = False
    win.act_corners.trigger()
    # the top-left corner dragged past the right edge would make a bow tie
    drag(win, before[0], (box.right + 10, box.y + box.h / 2))
    assert page(win).panel(panel.id).points == before
    assert win.doc.undo_stack.count() == 0
    assert "cross itself" in status(win)
    item = win.view.page_scene.items_by_id[panel.id]
    assert item.points == before and not item.invalid


def test_double_click_border_enters_corner_mode_resize_keeps_rectangles(win):
    panel = page(win).panels[0]
    box = panel.bbox
    QTest.mouseDClick(win.view.viewport(), LEFT, NOMOD, vp(win, box.x + box.w / 2, box.y))
    assert win.view.corner_mode
    QTest.mouseDClick(win.view.viewport(), LEFT, NOMOD, vp(win, box.x + box.w / 2, box.y))
    assert not win.view.corner_mode
    win.view.snapping = False
    drag(win, (box.right, box.bottom), (box.right - 10, box.bottom - 10))  # a resize grip again
    assert page(win).panel(panel.id).is_rect


def _panel_with_image(win):
    panel = page(win).panels[0]
    edits.add_variant(win.doc, panel.id, Image.new("RGB", (64, 48), "blue"), kind="import")
    edits.bind_card(win.doc, panel.id, win.doc.project.characters[0].id)
    win.doc.undo_stack.clear()
    return page(win).panel(panel.id)


def _shows_image(w, panel_id: str) -> bool:
    item = w.view.page_scene.items_by_id[panel_id]
    return isinstance(item, PanelItem) and item.image_key() is not None and \
        item.pixmaps.get(w.doc.project.images, item.image_key()) is not None


def test_copy_paste_same_page_and_second_page(win):
    panel = _panel_with_image(win)
    click(win, panel.bbox.x + 10, panel.bbox.y + 10)
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_C, CTRL)
    assert QApplication.clipboard().mimeData().hasFormat(clipboard.MIME_TYPE)
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_V, CTRL)
    assert len(page(win).panels) == 5
    new = page(win).panels[-1]
    assert new.id != panel.id and new.variants[0].id != panel.variants[0].id
    assert new.image == panel.image and new.characters == panel.characters
    assert new.bbox.x == pytest.approx(panel.bbox.x + 5) and new.bbox.y == pytest.approx(panel.bbox.y + 5)
    assert win.view.page_scene.selected_ids() == [new.id]
    assert _shows_image(win, new.id)
    assert win.doc.undo_stack.count() == 1
    # onto a second page: same place, its own ids, one undo step
    second = edits.add_page(win.doc)
    win.doc.undo_stack.clear()
    win.view.page_scene.set_page(second)
    win.act_paste.trigger()
    pasted = win.doc.project.page(second).panels
    copy = pasted[-1]
    assert copy.id not in {p.id for p in page(win).panels}
    assert copy.points == panel.points and _shows_image(win, copy.id)
    assert win.doc.undo_stack.count() == 1
    win.act_undo.trigger()
    assert copy.id not in {p.id for p in win.doc.project.page(second).panels}


def test_cut_removes_and_duplicate(win):
    panel = _panel_with_image(win)
    bid = edits.add_balloon(win.doc, page(win).id, "speech", Rect(60, 60, 40, 20), "Hey", (70, 90))
    win.doc.undo_stack.clear()
    click(win, panel.bbox.x + 10, panel.bbox.y + 10)
    win.act_cut.trigger()
    assert panel.id not in {p.id for p in page(win).panels}
    assert win.doc.undo_stack.count() == 1
    win.act_paste.trigger()  # back where it was cut from, a few mm on
    assert len(page(win).panels) == 4 and _shows_image(win, page(win).panels[-1].id)
    win.view.page_scene.select_ids([bid])
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_D, CTRL)
    twin = page(win).balloons[-1]
    assert twin.id != bid and twin.text == "Hey" and twin.tail == (75, 95)
    assert win.doc.undo_stack.count() == 3


def test_paste_into_another_window_carries_the_image(win, qtbot):
    panel = _panel_with_image(win)
    click(win, panel.bbox.x + 10, panel.bbox.y + 10)
    win.act_copy.trigger()
    project = Project(title="Other")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"]))
    other = MainWindow(Document(project))
    qtbot.addWidget(other, before_close_func=lambda w: w.doc.undo_stack.setClean())
    other.show()
    qtbot.waitExposed(other)
    assert panel.image not in other.doc.project.images
    other.act_paste.trigger()
    pasted = other.doc.project.pages[0].panels
    assert len(pasted) == 1 and pasted[0].image == panel.image
    assert panel.image in other.doc.project.images
    assert pasted[0].characters == []  # the card exists only in the first project
    assert "Aki Tanaka" in status(other)
    assert _shows_image(other, pasted[0].id)
    assert other.doc.undo_stack.count() == 1
    other.act_undo.trigger()
    assert other.doc.project.pages[0].panels == [] and panel.image not in other.doc.project.images
    other.doc.undo_stack.setClean()
    other.close()


def test_paste_at_a_point_centres_the_items(win):
    panel = page(win).panels[0]
    win.view.page_scene.select_ids([panel.id])
    win.act_copy.trigger()
    from PySide6.QtCore import QPointF

    ids = win.clipboard.paste(at=QPointF(150, 200))
    box = page(win).panel(ids[0]).bbox
    assert (box.x + box.w / 2, box.y + box.h / 2) == pytest.approx((150, 200))
