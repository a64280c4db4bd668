"""The window's chrome at a laptop's 1366 x 768: one main toolbar of icons whose tooltips name the keys,
and a tool-options bar that shows only the current tool's options, switched by the tools' own keys."""

from __future__ import annotations

import os

import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolBar

from app import edits, layout
from app.document import Document
from app.project import Project, Rect
from tests.helpers_window import open_window
from widgets.help_menu import LICENCES

SHOTS = os.environ.get("PANELSMITH_SHOTS")
LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier


@pytest.fixture
def win(qtbot):
    project = Project(title="Chrome")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2"))
    window = open_window(qtbot, Document(project), width=1366, height=768)
    window.activateWindow()
    qtbot.waitActive(window)
    yield window
    window.doc.undo_stack.setClean()
    window.close()


def toolbars(win) -> list[QToolBar]:
    return [tb for tb in win.findChildren(QToolBar) if tb.isVisible()]


def assert_nothing_in_an_overflow(win) -> None:
    QApplication.processEvents()
    assert win.width() == 1366
    for tb in toolbars(win):
        [extension] = [c for c in tb.children() if c.objectName() == "qt_toolbar_ext_button"]
        assert not extension.isVisible(), f"{tb.objectName()} hides actions behind its chevron"
        for action in tb.actions():
            if action.isVisible() and not action.isSeparator():
                widget = tb.widgetForAction(action)
                assert widget is not None and widget.isVisible(), action.text() or action.objectName()
                assert tb.rect().contains(widget.geometry()), action.text()


def test_one_main_toolbar_of_icons_with_every_tool_and_keys_in_the_tooltips(win):
    bars = toolbars(win)
    assert [tb.objectName() for tb in bars] == ["MainToolbar", "ToolOptionsBar"]
    main = win.main_toolbar
    assert main.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly
    buttons = [a for a in main.actions() if not a.isSeparator() and not main.widgetForAction(a).inherits("QSpinBox")]
    assert all(not a.icon().isNull() for a in buttons)
    for tool in win.tool_group.actions():  # every tool, the mask brush included
        assert tool in main.actions()
    for action in buttons:
        keys = [k for k in action.shortcuts() if not k.isEmpty()]
        if keys:
            assert f"({keys[0].toString(QKeySequence.SequenceFormat.NativeText)}" in action.toolTip(), action.text()
    undo = next(a for a in main.actions() if a.text() == "Undo")
    assert undo.toolTip() == f"Undo ({QKeySequence(QKeySequence.StandardKey.Undo).toString()})"
    assert win.tool_actions["select"].toolTip().startswith("Select (V)")
    assert "Font Awesome" in LICENCES and "SIL Open Font License" in LICENCES


def test_nothing_hides_in_an_overflow_at_1366_px_under_any_tool(win, qtbot):
    assert_nothing_in_an_overflow(win)
    if SHOTS:
        win.grab().save(os.path.join(SHOTS, "chrome-1366.png"))
    for key, action in win.tool_actions.items():
        action.trigger()
        assert_nothing_in_an_overflow(win)


def shown(qtbot, *widgets) -> None:
    """Wait for the bar's layout (the next turn of the event loop) to show ``widgets``."""
    qtbot.waitUntil(lambda: all(w.isVisible() for w in widgets), timeout=2000)


def test_tool_keys_switch_the_options_bar(win, qtbot):
    bar, viewport, gen = win.tool_options, win.view.viewport(), win.generation
    assert bar.visible_sections() == ["layout", "image"] and win.gutter_spin.isVisible()
    QTest.keyClick(viewport, Qt.Key.Key_M)
    assert bar.visible_sections() == ["mask"]
    shown(qtbot, gen.brush_size, gen.feather)
    assert not win.gutter_spin.isVisible() and not win.font_combo.isVisible()
    QTest.keyClick(viewport, Qt.Key.Key_B)
    assert bar.visible_sections() == ["lettering"]
    shown(qtbot, win.font_combo, win.font_size)
    assert not gen.brush_size.isVisible()
    QTest.keyClick(viewport, Qt.Key.Key_F)
    assert bar.visible_sections() == ["layout"]
    shown(qtbot, win.gutter_spin)
    QTest.keyClick(viewport, Qt.Key.Key_H)
    assert bar.visible_sections() == [] and "Drag" in bar.hint.text()
    shown(qtbot, bar.hint)
    QTest.keyClick(viewport, Qt.Key.Key_R)
    assert bar.visible_sections() == ["image"]
    shown(qtbot, win.pan_buttons["left"])
    QTest.keyClick(viewport, Qt.Key.Key_V)
    assert bar.visible_sections() == ["layout", "image"]


def test_a_selected_balloon_shows_the_lettering_options_under_select(win, qtbot):
    page = win.doc.project.pages[0]
    edits.add_balloon(win.doc, page.id, "speech", Rect(60, 60, 40, 20), "Hey")
    QTest.mouseClick(win.view.viewport(), LEFT, NOMOD, win.view.mapFromScene(QPointF(80, 70)))
    assert win.tool_options.visible_sections() == ["layout", "lettering"]
    shown(qtbot, win.font_size)
    QTest.mouseClick(win.view.viewport(), LEFT, NOMOD, win.view.mapFromScene(QPointF(2, 2)))  # nothing selected
    assert win.tool_options.visible_sections() == ["layout", "image"]


def mask_height(win, panel_id, size: int) -> int:
    """Type ``size`` into the bar's brush size, dab once in the panel's middle; the mask's height in px."""
    spin = win.generation.brush_size
    spin.selectAll()
    QTest.keyClicks(spin, str(size))
    QTest.keyClick(spin, Qt.Key.Key_Return)
    box = win.doc.project.find_panel(panel_id)[1].bbox
    at = win.view.mapFromScene(QPointF(box.x + box.w / 2, box.y + box.h / 2))
    QTest.mousePress(win.view.viewport(), LEFT, NOMOD, at)
    QTest.mouseRelease(win.view.viewport(), LEFT, NOMOD, at)
    bbox = win.view.mask_layer.mask_image().getbbox()
    win.generation.act_clear_mask.trigger()
    return bbox[3] - bbox[1]


def test_brush_size_in_the_options_bar_sizes_the_mask_brush(win, qtbot):
    panel = win.doc.project.pages[0].panels_in_reading_order()[0]
    edits.add_variant(win.doc, panel.id, Image.new("RGB", (200, 200), "teal"))
    win.view.page_scene.select_ids([panel.id])
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_M)
    shown(qtbot, win.generation.brush_size)
    small, large = mask_height(win, panel.id, 6), mask_height(win, panel.id, 40)
    assert win.view.brush_px == 40.0
    assert 4 <= small <= 8 and 36 <= large <= 44


def test_a_layout_saved_for_the_old_toolbars_is_not_restored(qtbot):
    """A window state saved by a Panelsmith with other toolbars (no version) would put the tool-options bar
    beside the main toolbar, where both overflow at 1366 px: it is ignored."""
    project = Project(title="Upgrade")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2"))
    old = open_window(qtbot, Document(project), width=1366, height=768)
    old.removeToolBarBreak(old.tool_options)
    assert not old.toolBarBreak(old.tool_options)
    state = old.saveState()  # without a version, as before
    old.doc.undo_stack.setClean()
    old.close()
    old.settings.setValue("window/state", state)  # over what closing saved
    win = open_window(qtbot, Document(project), width=1366, height=768)
    assert win.toolBarBreak(win.tool_options) and win.tool_options.y() > win.main_toolbar.y()
    win.doc.undo_stack.setClean()
    win.close()
