"""Lettering as a person does it in the window: grips under any tool, Esc on a new balloon, balloons
that grow to hold their text at the project's lettering size (pytest-qt, offscreen)."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from app import edits, lettering
from app.project import Rect
from tests.helpers_window import one_page_doc, open_window
from widgets.canvas.balloon_item import BalloonItem

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier
SHOTS = os.environ.get("PANELSMITH_SHOTS")  # a folder: save the screenshots there to look at them


@pytest.fixture
def win(qtbot):
    return open_window(qtbot, one_page_doc("Lettering"))


def page(win):
    return win.doc.project.pages[0]


def vp(win, x: float, y: float) -> QPoint:
    return win.view.mapFromScene(QPointF(x, y))


def drag(win, a, b, steps: int = 6) -> None:
    viewport = win.view.viewport()
    pa, pb = vp(win, *a), vp(win, *b)
    QTest.mousePress(viewport, LEFT, NOMOD, pa)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, pa + (pb - pa) * (i / steps))
    QTest.mouseRelease(viewport, LEFT, NOMOD, pb)


def click(win, x: float, y: float) -> None:
    QTest.mouseClick(win.view.viewport(), LEFT, NOMOD, vp(win, x, y))


def shot(widget, name: str) -> None:
    if SHOTS:
        widget.grab().save(os.path.join(SHOTS, name))


@pytest.mark.parametrize("tool", ["balloon:speech", "panel", "knife", "reframe"])
def test_selected_balloons_grips_resize_it_under_any_tool(win, tool):
    bid = edits.add_balloon(win.doc, page(win).id, "speech", Rect(60, 60, 40, 20), "Hey")
    win.doc.undo_stack.clear()
    click(win, 80, 70)  # select it with the Select tool
    assert win.view.page_scene.selected_ids() == [bid]
    win.tool_actions[tool].trigger()
    win.view.snapping = False
    drag(win, (100, 80), (112, 88))  # the bottom-right grip
    assert [b.id for b in page(win).balloons] == [bid]  # no new balloon drawn on top
    r = page(win).balloon(bid).rect
    assert (r.x, r.y, r.w, r.h) == pytest.approx((60, 60, 52, 28), abs=0.8)
    assert len(page(win).panels) == 4 and win.doc.undo_stack.count() == 1
    win.act_undo.trigger()
    assert page(win).balloon(bid).rect == Rect(60, 60, 40, 20)


def test_away_from_grips_the_balloon_tool_still_draws(win):
    edits.add_balloon(win.doc, page(win).id, "speech", Rect(60, 60, 40, 20), "Hey")
    click(win, 80, 70)
    win.tool_actions["balloon:speech"].trigger()
    click(win, 150, 200)
    assert len(page(win).balloons) == 2


def test_esc_on_a_new_empty_balloon_removes_it(win, qtbot):
    win.tool_actions["balloon:speech"].trigger()
    click(win, 100, 60)
    assert len(page(win).balloons) == 1 and win.view.text_editor() is not None
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_Escape)
    qtbot.wait(10)
    assert page(win).balloons == [] and win.view.text_editor() is None
    assert not win.doc.undo_stack.canUndo()  # no step left behind
    # typed, then erased: still nothing to keep
    click(win, 100, 60)
    QTest.keyClicks(win.view.viewport(), "Hm")
    for _ in range(2):
        QTest.keyClick(win.view.viewport(), Qt.Key.Key_Backspace)
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_Escape)
    qtbot.wait(10)
    assert page(win).balloons == [] and not win.doc.undo_stack.canUndo()
    # a balloon with text stays, and so does an old empty balloon edited and left with Esc
    click(win, 100, 60)
    QTest.keyClicks(win.view.viewport(), "Hi")
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_Escape)
    old = edits.add_balloon(win.doc, page(win).id, "caption", Rect(20, 20, 40, 12))
    win.tool_actions["select"].trigger()
    QTest.mouseDClick(win.view.viewport(), LEFT, NOMOD, vp(win, 40, 26))
    assert win.view.text_editor() is not None
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_Escape)
    qtbot.wait(10)
    assert [b.text for b in page(win).balloons] == ["Hi", ""] and page(win).balloons[1].id == old


def test_balloons_grow_to_hold_their_text_at_the_lettering_size(win, qtbot):
    edits.set_project_attrs(win.doc, settings={lettering.LETTERING_SETTING: 10.0})
    win.tool_actions["balloon:speech"].trigger()
    win.view.snapping = False
    drag(win, (45, 33), (75, 47))  # a 30 x 14 mm balloon: at 10 pt this line needs more room
    line = "We have to get out of here before it's dark!"  # 44 characters
    assert len(line) == 44
    QTest.keyClicks(win.view.viewport(), line)
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_Escape)
    click(win, 150, 40)
    QTest.keyClicks(win.view.viewport(), "Hi!")
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_Escape)
    qtbot.wait(10)
    long, short = page(win).balloons
    # both lettered at the project's size, never shrunk
    assert long.font_size == short.font_size == 10.0
    assert lettering.fitted_font_size(long) == lettering.fitted_font_size(short) == 10.0
    # the long one is drawn grown about its centre (grips and selection follow); the short one is as drawn
    w, h = 30.0, 14.0
    assert (long.rect.w, long.rect.h) == pytest.approx((w, h), abs=0.5)  # to a screen pixel
    grown = lettering.fitted_rect(long)
    assert grown.w > w * 1.2 and grown.h > h * 1.2
    r = long.rect
    assert (grown.x + grown.w / 2, grown.y + grown.h / 2) == pytest.approx((r.x + r.w / 2, r.y + r.h / 2))
    assert lettering.fitted_rect(short) == short.rect
    item = win.view.page_scene.items_by_id[long.id]
    assert isinstance(item, BalloonItem) and item.box == grown
    se = item.handles["se"].pos()
    assert (se.x(), se.y()) == pytest.approx((grown.right, grown.bottom))
    box = lettering.text_rect(long)
    font = lettering._layout_font("", False)
    assert lettering._fits(long.text, font, 10.0, box.width(), box.height())
    win.view.page_scene.select_ids([long.id])
    shot(win.view, "lettering-grown.png")
    # dragging a grip smaller never makes the text smaller: the balloon still holds it
    win.tool_actions["select"].trigger()
    win.view.snapping = False
    drag(win, (grown.right, grown.bottom), (grown.right - 30, grown.bottom - 20))
    after = page(win).balloon(long.id)
    assert after.rect.w < grown.w and lettering.fitted_font_size(after) == 10.0
    box = lettering.text_rect(after)
    assert lettering._fits(after.text, font, 10.0, box.width(), box.height())
    assert lettering.fitted_rect(after).w > after.rect.w
