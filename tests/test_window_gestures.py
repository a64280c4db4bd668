"""Canvas gestures by mouse and keyboard on the real window: the Vary Region lasso (Alt removes),
Edit Corners with Shift (one axis) and Alt (no snapping), and a card dragged from the Card Library."""

from __future__ import annotations

import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app import edits

from .test_widgets import drag, make_doc, page, send_drop, vp, win  # noqa: F401 - fixtures

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


def held_drag(win, a: tuple[float, float], b: tuple[float, float], mods: Qt.KeyboardModifier,
              steps: int = 6) -> None:
    """Press, move and release with ``mods`` held all along (QTest.mouseMove cannot carry modifiers)."""
    viewport = win.view.viewport()
    pa, pb = vp(win, *a), vp(win, *b)
    QTest.mousePress(viewport, LEFT, mods, pa)
    for i in range(1, steps + 1):
        p = QPointF(pa + (pb - pa) * (i / steps))
        move = QMouseEvent(QEvent.Type.MouseMove, p, QPointF(viewport.mapToGlobal(p.toPoint())), Qt.MouseButton.NoButton,
                           LEFT, mods)
        QApplication.sendEvent(viewport, move)
    QTest.mouseRelease(viewport, LEFT, mods, pb)


def lasso(win, points: list[tuple[float, float]], mods=NOMOD) -> None:
    """Draw a closed outline through page points (mm) with the mask tool's lasso."""
    viewport = win.view.viewport()
    QTest.mousePress(viewport, LEFT, mods, vp(win, *points[0]))
    for x, y in points[1:]:
        QTest.mouseMove(viewport, vp(win, x, y))
    QTest.mouseRelease(viewport, LEFT, mods, vp(win, *points[-1]))


def rect_points(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0 + 0.01)]


# --- (a) the lasso ------------------------------------------------------------------------------------


def test_lasso_fills_the_outline_and_alt_lasso_removes_from_the_mask(win):
    panel = page(win).panels[0]
    box = panel.bbox
    edits.add_variant(win.doc, panel.id, Image.new("RGB", (int(box.w * 4), int(box.h * 4)), "grey"), kind="import")
    win.doc.undo_stack.clear()
    win.generation.act_mask_tool.trigger()
    combo = win.generation.mask_mode
    combo.setCurrentIndex(combo.findData("lasso"))
    assert win.view.mask_mode.value == "lasso"
    # the outer outline: the middle of the frame
    ox0, oy0, ox1, oy1 = box.x + box.w * 0.2, box.y + box.h * 0.2, box.x + box.w * 0.8, box.y + box.h * 0.8
    lasso(win, rect_points(ox0, oy0, ox1, oy1))
    layer = win.view.mask_layer
    assert layer is not None and layer.panel_id == panel.id and layer.lasso == []

    def at(x: float, y: float) -> int:
        p = layer.to_pixels(QPointF(x, y))
        return mask.getpixel((int(p.x()), int(p.y())))

    mask = layer.mask_image()
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    assert at(cx, cy) == 255 and at(ox0 + 2, oy0 + 2) == 255 and at(ox1 - 2, oy1 - 2) == 255
    assert at(box.x + 2, box.y + 2) == 0 and at(box.right - 2, box.bottom - 2) == 0  # outside the outline
    left, top, right, bottom = mask.getbbox()
    tl, br = layer.to_pixels(QPointF(ox0, oy0)), layer.to_pixels(QPointF(ox1, oy1))
    assert left == pytest.approx(tl.x(), abs=3) and top == pytest.approx(tl.y(), abs=3)
    assert right == pytest.approx(br.x(), abs=3) and bottom == pytest.approx(br.y(), abs=3)
    filled = mask.histogram()[255]
    # Alt held: the inner outline is cut out of the mask, the rest stays
    ix0, iy0, ix1, iy1 = cx - box.w * 0.1, cy - box.h * 0.1, cx + box.w * 0.1, cy + box.h * 0.1
    lasso(win, rect_points(ix0, iy0, ix1, iy1), mods=ALT)
    mask = layer.mask_image()
    assert at(cx, cy) == 0 and at(ix0 + 1, iy0 + 1) == 0
    assert at(ox0 + 2, oy0 + 2) == 255 and at(ox1 - 2, oy1 - 2) == 255 and at(ox0 + 2, cy) == 255
    assert 0 < mask.histogram()[255] < filled
    assert win.doc.undo_stack.count() == 0  # a mask is not a document edit


# --- (b) Edit Corners with Shift and Alt ---------------------------------------------------------------


def _corner_mode(win, panel) -> None:
    QTest.mouseClick(win.view.viewport(), LEFT, NOMOD, vp(win, panel.bbox.x + 10, panel.bbox.y + 10))
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_E)  # Edit Corners
    assert win.view.corner_mode


def test_corner_drag_with_shift_moves_along_one_axis_only(win):
    panel = page(win).panels[0]
    before = list(panel.points)
    _corner_mode(win, panel)
    win.view.snapping = False
    x, y = before[2]
    held_drag(win, (x, y), (x - 15, y - 5), SHIFT)  # mostly left: the corner moves only horizontally
    after = page(win).panel(panel.id).points
    assert after[2] == pytest.approx((x - 15, y), abs=0.8)
    assert after[:2] == before[:2] and after[3] == before[3]
    assert win.doc.undo_stack.count() == 1
    win.act_undo.trigger()
    held_drag(win, (x, y), (x - 4, y - 12), SHIFT)  # mostly up: only vertically
    assert page(win).panel(panel.id).points[2] == pytest.approx((x, y - 12), abs=0.8)
    win.act_undo.trigger()
    drag(win, (x, y), (x - 15, y - 5))  # without Shift both coordinates follow the mouse
    assert page(win).panel(panel.id).points[2] == pytest.approx((x - 15, y - 5), abs=0.8)


def test_corner_drag_snaps_and_alt_turns_snapping_off(win):
    panel = page(win).panels[0]
    before = list(panel.points)
    _corner_mode(win, panel)
    win.view.snapping = True
    x, y = before[2]  # bottom-right; the top-right corner above it is a snap target at the same x
    px = 1 / win.view.transform().m11()  # one screen pixel in mm
    drop_at = (x + 3 * px, y - 20)  # 3 px off that x (snapping reaches 7 px), far from every y target
    held_drag(win, (x, y), drop_at, NOMOD)
    snapped = page(win).panel(panel.id).points[2]
    assert snapped[0] == pytest.approx(x, abs=0.01) and snapped[1] == pytest.approx(y - 20, abs=px)
    win.act_undo.trigger()
    held_drag(win, (x, y), drop_at, ALT)  # Alt: the corner stays exactly where the mouse let go
    free = page(win).panel(panel.id).points[2]
    assert free[0] - x == pytest.approx(3 * px, abs=0.6 * px) and free[1] == pytest.approx(y - 20, abs=px)
    assert win.doc.undo_stack.count() == 1


# --- (c) a card dragged from the Card Library onto a panel ---------------------------------------------


def test_card_dragged_from_the_library_binds_to_the_panel_in_one_undo_step(win):
    lst = win.cards_dock.lists["character"]
    card = win.doc.project.characters[0]
    item = lst.item(0)
    data = lst.mimeData([item])  # what the list hands QDrag when a drag starts on the item
    panel = page(win).panels[3]
    c = panel.bbox
    count = win.doc.undo_stack.count()
    event = send_drop(win.view.viewport(), data, vp(win, c.x + c.w / 2, c.y + c.h / 2))
    assert event.isAccepted()
    assert [b.card for b in page(win).panel(panel.id).characters] == [card.id]
    assert all(p.characters == [] for p in page(win).panels if p.id != panel.id)
    assert win.doc.undo_stack.count() == count + 1
    win.act_undo.trigger()
    assert page(win).panel(panel.id).characters == []


# --- (d) the window's layout comes back ------------------------------------------------------------------


def test_window_geometry_and_dock_layout_are_restored_on_reopen(qtbot, win):
    from PySide6.QtCore import QSettings

    from widgets.main_window import MainWindow
    from widgets.settings import app_settings

    right = Qt.DockWidgetArea.RightDockWidgetArea
    assert win.pages_dock.isVisible() and win.dockWidgetArea(win.jobs_dock) != right
    win.pages_dock.toggleViewAction().trigger()  # View ▸ Pages off
    win.addDockWidget(right, win.jobs_dock)  # the Job Queue dragged to the right-hand side
    win.resize(770, 730)  # within the (offscreen) screen: restoreGeometry keeps a window on screen
    qtbot.waitUntil(lambda: win.size().width() == 770)
    assert not win.pages_dock.isVisible()
    win.close()  # the real close: it writes the window's geometry and state
    assert not win.isVisible()
    stored = app_settings()
    assert stored.format() is QSettings.Format.IniFormat and "window/geometry" in stored.allKeys()
    assert "window/state" in stored.allKeys()

    again = MainWindow(make_doc())
    qtbot.addWidget(again, before_close_func=lambda w: w.doc.undo_stack.setClean())
    again.show()
    qtbot.waitExposed(again)
    assert (again.width(), again.height()) == (770, 730)  # not the 1500 × 950 a fresh window gets
    assert not again.pages_dock.isVisible() and again.jobs_dock.isVisible()
    assert again.dockWidgetArea(again.jobs_dock) == right
    assert again.dockWidgetArea(again.cards_dock) == right
