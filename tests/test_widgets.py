"""Drive the real main window and canvas with mouse and keyboard events (pytest-qt, offscreen)."""

from __future__ import annotations


import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QContextMenuEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtCore import QSettings
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from app import edits, layout
from app.document import Document
from app.project import Project, Rect

from widgets import mime
from widgets.canvas import Tool
from tests.helpers_window import open_window
from widgets.main_window import MainWindow

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier



def make_doc() -> Document:
    project = Project(title="Test")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2"))
    doc = Document(project)
    edits.add_card(doc, "character", "Aki Tanaka", [Image.new("RGB", (32, 32), "red")])
    edits.add_card(doc, "style", "Ink Wash", [])
    doc.undo_stack.clear()
    return doc


@pytest.fixture
def win(qtbot):
    window = open_window(qtbot, make_doc())
    yield window
    window.doc.undo_stack.setClean()  # let the fixture close without the unsaved-changes question
    window.close()


def page(win):
    return win.doc.project.pages[0]


def vp(win, x: float, y: float) -> QPoint:
    """Viewport position of a page point in mm."""
    return win.view.mapFromScene(QPointF(x, y))


def drag(win, a: tuple[float, float], b: tuple[float, float], mods=NOMOD, steps: int = 6) -> None:
    viewport = win.view.viewport()
    pa, pb = vp(win, *a), vp(win, *b)
    QTest.mousePress(viewport, LEFT, mods, pa)
    for i in range(1, steps + 1):
        p = pa + (pb - pa) * (i / steps)
        QTest.mouseMove(viewport, p)
    QTest.mouseRelease(viewport, LEFT, mods, pb)


def click(win, x: float, y: float, mods=NOMOD) -> None:
    QTest.mouseClick(win.view.viewport(), LEFT, mods, vp(win, x, y))


def test_drag_draws_a_panel_as_one_undo_step(win):
    edits.delete_items(win.doc, page(win).id, [p.id for p in page(win).panels])
    win.doc.undo_stack.clear()
    win.tool_actions["panel"].trigger()
    drag(win, (30, 40), (120, 110))
    assert len(page(win).panels) == 1
    box = page(win).panels[0].bbox
    assert box.w == pytest.approx(90, abs=2.5) and box.h == pytest.approx(70, abs=2.5)
    assert win.doc.undo_stack.count() == 1
    assert win.view.page_scene.selected_ids() == [page(win).panels[0].id]
    win.act_undo.trigger()
    assert page(win).panels == []


def test_resize_by_handle_and_undo(win):
    panel = page(win).panels[0]
    before = panel.bbox
    click(win, before.x + 10, before.y + 10)
    assert win.view.page_scene.selected_ids() == [panel.id]
    win.view.snapping = False
    drag(win, (before.right, before.bottom), (before.right - 20, before.bottom - 15))
    after = page(win).panel(panel.id).bbox
    assert (after.x, after.y) == pytest.approx((before.x, before.y))
    assert after.w == pytest.approx(before.w - 20, abs=0.8)
    assert after.h == pytest.approx(before.h - 15, abs=0.8)
    assert win.doc.undo_stack.count() == 1
    win.act_undo.trigger()
    assert page(win).panel(panel.id).bbox == before


def test_move_drag_is_one_step_and_nudges(win, qtbot):
    panel = page(win).panels[0]
    start = panel.bbox
    win.view.snapping = False
    drag(win, (start.x + 20, start.y + 20), (start.x + 45, start.y + 35), steps=20)
    moved = page(win).panel(panel.id).bbox
    assert moved.x - start.x == pytest.approx(25, abs=0.8)
    assert moved.y - start.y == pytest.approx(15, abs=0.8)
    assert win.doc.undo_stack.count() == 1  # twenty mouse moves, one undo step
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_Right)
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    nudged = page(win).panel(panel.id).bbox
    assert nudged.x == pytest.approx(moved.x + 0.5) and nudged.y == pytest.approx(moved.y + 5)
    for _ in range(3):
        win.act_undo.trigger()
    assert page(win).panel(panel.id).bbox == start


def test_move_snaps_to_gutter_and_shows_guide(win):
    a = page(win).panels[0]
    box = a.bbox
    # drag slightly off, snapping pulls it back onto the safe-area line
    viewport = win.view.viewport()
    QTest.mousePress(viewport, LEFT, NOMOD, vp(win, box.x + 10, box.y + 10))
    QTest.mouseMove(viewport, vp(win, box.x + 12, box.y + 12))
    QTest.mouseMove(viewport, vp(win, box.x + 10.6, box.y + 10.5))
    assert win.view.page_scene.snap_guide.isVisible()
    QTest.mouseRelease(viewport, LEFT, NOMOD, vp(win, box.x + 10.6, box.y + 10.5))
    assert not win.view.page_scene.snap_guide.isVisible()
    assert page(win).panel(a.id).bbox == box or win.doc.undo_stack.count() == 0


def test_knife_splits_panel_leaving_gutter(win):
    panel = page(win).panels[0]
    box = panel.bbox
    win.tool_actions["knife"].trigger()
    y = box.y + box.h / 2
    drag(win, (box.x - 3, y), (box.right + 2, y))
    assert len(page(win).panels) == 5
    top = page(win).panel(panel.id).bbox
    assert top.bottom < y
    gap = min(p.bbox.y - top.bottom for p in page(win).panels if p.bbox.y > top.bottom and p.bbox.x == top.x)
    assert gap == pytest.approx(page(win).gutter_mm, abs=0.01)
    assert win.doc.undo_stack.count() == 1
    win.act_undo.trigger()
    assert len(page(win).panels) == 4


def test_knife_across_two_panels_is_one_step(win):
    p0, p1 = page(win).panels[:2]
    y = p0.bbox.y + p0.bbox.h / 3
    win.view.set_tool(Tool.KNIFE)
    drag(win, (p0.bbox.x - 2, y), (p1.bbox.right + 2, y))
    assert len(page(win).panels) == 6
    assert win.doc.undo_stack.count() == 1
    win.act_undo.trigger()
    assert len(page(win).panels) == 4


def send_drop(widget, data: QMimeData, pos: QPoint) -> QDropEvent:
    """Deliver drag-enter, drag-move and drop events, as a drag from another widget would."""
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, data, LEFT, NOMOD)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(pos, Qt.DropAction.CopyAction, data, LEFT, NOMOD)
    QApplication.sendEvent(widget, move)
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, data, LEFT, NOMOD)
    QApplication.sendEvent(widget, event)
    return event


def drop(win, data: QMimeData, x: float, y: float) -> QDropEvent:
    return send_drop(win.view.viewport(), data, vp(win, x, y))


def test_drop_card_binds_and_badge_unbinds(win):
    panel = page(win).panels[1]
    char = win.doc.project.characters[0]
    style = win.doc.project.styles[0]
    c = panel.bbox
    drop(win, mime.card_mime_data(char.id), c.x + c.w / 2, c.y + c.h / 2)
    drop(win, mime.card_mime_data(style.id), c.x + c.w / 2, c.y + c.h / 2)
    bound = page(win).panel(panel.id)
    assert [b.card for b in bound.characters] == [char.id]
    assert [b.card for b in bound.styles] == [style.id]
    item = win.view.page_scene.items_by_id[panel.id]
    assert item.badges.isVisible() and [b.label for b in item.badges.badges] == ["AT 100", "IW 100"]
    # the properties dock shows the bindings with sliders
    assert set(win.props_dock._rows) == {char.id, style.id}
    # click the × of the first badge
    rect = item.badges._rects[0]
    close_local = QPointF(rect.right() - 6, rect.center().y())
    scene_pt = item.badges.mapToScene(close_local)
    view_pt = win.view.mapFromScene(scene_pt)
    # badges ignore transformations: map through the device transform
    view_pt = (item.badges.deviceTransform(win.view.viewportTransform()).map(close_local)).toPoint()
    QTest.mouseClick(win.view.viewport(), LEFT, NOMOD, view_pt)
    assert page(win).panel(panel.id).characters == []
    win.act_undo.trigger()
    assert [b.card for b in page(win).panel(panel.id).characters] == [char.id]
    win.act_undo.trigger()
    win.act_undo.trigger()
    assert page(win).panel(panel.id).characters == [] and page(win).panel(panel.id).styles == []


def test_card_list_drag_payload_and_file_drop_creates_card(win, tmp_path):
    lst = win.cards_dock.lists["character"]
    data = lst.mimeData([lst.item(0)])
    assert mime.card_id(data) == win.doc.project.characters[0].id
    path = tmp_path / "mira_sato.png"
    Image.new("RGB", (40, 30), "blue").save(path)
    files = QMimeData()
    files.setUrls([QUrl.fromLocalFile(str(path))])
    send_drop(lst.viewport(), files, QPoint(20, 20))
    names = [c.name for c in win.doc.project.characters]
    assert names == ["Aki Tanaka", "Mira Sato"]
    assert lst.count() == 2


def test_drop_image_file_sets_panel_image_and_history(win, tmp_path):
    panel = page(win).panels[2]
    path = tmp_path / "art.jpg"
    Image.new("RGB", (300, 200), "green").save(path)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    c = panel.bbox
    drop(win, data, c.x + 5, c.y + 5)
    p = page(win).panel(panel.id)
    assert p.image is not None and p.variants[0].kind == "import"
    click(win, c.x + 20, c.y + 20)
    assert win.variants_dock.strip.count() == 1
    # reframe: drag the image inside the frame
    win.view.set_tool(Tool.REFRAME)
    drag(win, (c.x + 20, c.y + 20), (c.x + 30, c.y + 24))
    placement = page(win).panel(panel.id).placement
    assert placement.offset_x == pytest.approx(10, abs=0.8)
    win.act_undo.trigger()
    assert page(win).panel(panel.id).placement.offset_x == 0


def test_type_in_balloon_and_undo(win, qtbot):
    win.tool_actions["balloon:speech"].trigger()
    click(win, 100, 60)
    balloons = page(win).balloons
    assert len(balloons) == 1 and balloons[0].kind.value == "speech" and balloons[0].tail is not None
    editor = win.view.text_editor()
    assert editor is not None
    win.view.page_scene.setFocusItem(None)  # as when the window is not active: keys still reach the editor
    QTest.keyClicks(win.view.viewport(), "Hi Bob, have a VFKRHBC")  # tool shortcut letters are text here
    assert page(win).balloon(balloons[0].id).text == "Hi Bob, have a VFKRHBC"
    for _ in range(9):
        QTest.keyClick(win.view.viewport(), Qt.Key.Key_Backspace)
    assert page(win).balloon(balloons[0].id).text == "Hi Bob, have a"[:-1]
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_Escape)
    qtbot.wait(10)
    assert win.view.text_editor() is None and win.view.tool == Tool.BALLOON
    assert win.doc.undo_stack.count() == 2  # add balloon + the typing, merged
    win.act_undo.trigger()
    assert page(win).balloons[0].text == ""
    win.act_undo.trigger()
    assert page(win).balloons == []


def test_double_click_balloon_edits_text(win, qtbot):
    bid = edits.add_balloon(win.doc, page(win).id, "caption", Rect(20, 20, 50, 15), "Meanwhile")
    QTest.mouseDClick(win.view.viewport(), LEFT, NOMOD, vp(win, 40, 27))
    assert win.view.text_editor() is not None
    QTest.keyClicks(win.view.viewport(), "...")
    assert page(win).balloon(bid).text == "Meanwhile..."


def test_rubber_band_selects_and_merge(win):
    panels = page(win).panels
    top = [p for p in panels if p.bbox.y < 100]
    win.view.snapping = False
    # start on the page margin (empty) and sweep across the top row
    drag(win, (2, 2), (200, 60))
    assert set(win.view.page_scene.selected_ids()) == {p.id for p in top}
    win.act_merge.trigger()
    assert len(page(win).panels) == 3
    win.act_undo.trigger()
    assert len(page(win).panels) == 4


def test_delete_and_z_order(win):
    panel = page(win).panels[0]
    click(win, panel.bbox.x + 5, panel.bbox.y + 5)
    win.act_front.trigger()
    assert page(win).panel(panel.id).z == max(p.z for p in page(win).panels)
    win.act_delete.trigger()
    assert all(p.id != panel.id for p in page(win).panels)
    win.act_undo.trigger()
    win.act_undo.trigger()
    assert page(win).panels[0].id == panel.id


def test_gutter_spin_reflows_panels(win):
    a = page(win).panels[0].bbox
    win.gutter_spin.setValue(9.0)
    assert page(win).gutter_mm == 9.0
    b = page(win).panels[0].bbox
    assert b.right == pytest.approx(a.right - 2.0)
    win.template_combo.setCurrentIndex(win.template_combo.findText("3-tier"))
    win.apply_template("3-tier")
    assert len(page(win).panels) == 3


def test_prompt_typing_is_one_undo_step(win):
    panel = page(win).panels[0]
    click(win, panel.bbox.x + 5, panel.bbox.y + 5)
    assert win.props_dock.panel_id == panel.id
    win.props_dock.prompt.setFocus()
    QTest.keyClicks(win.props_dock.prompt, "a quiet street")
    assert page(win).panel(panel.id).prompt == "a quiet street"
    assert win.doc.undo_stack.count() == 1
    win.act_undo.trigger()
    assert page(win).panel(panel.id).prompt == ""


def test_reading_order_numbers(win):
    win.act_order.setChecked(True)
    numbers = [i.number for i in win.view.page_scene._order_items]
    assert numbers == [1, 2, 3, 4]
    win.set_reading_order("rtl")
    first = win.view.page_scene._order_items[0]
    assert first.pos().x() > page(win).width_mm / 2  # rtl: number 1 is top right


def test_add_and_reorder_pages(win):
    win.pages_dock.add_page()
    pages = win.doc.project.pages
    assert len(pages) == 2 and win.view.page_id == pages[1].id
    win.pages_dock.list.pageMoved.emit(pages[1].id, 0)
    assert win.doc.project.pages[0].id == pages[1].id
    assert win.pages_dock.list.count() == 2


def test_title_and_close_with_unsaved_changes_asks(win, qtbot):
    assert win.windowTitle().startswith("Untitled")
    assert not win.isWindowModified()
    edits.add_panel(win.doc, page(win).id, Rect(5, 5, 20, 20))
    assert win.isWindowModified()

    def answer(button):
        def press():
            box = win.unsaved_box
            assert box is not None
            box.button(button).click()
        return press

    QTimer.singleShot(0, answer(QMessageBox.StandardButton.Cancel))
    assert not win.close()
    assert win.isVisible()
    QTimer.singleShot(0, answer(QMessageBox.StandardButton.Discard))
    assert win.close()


def test_save_and_reopen(win, tmp_path, monkeypatch):
    path = tmp_path / "story.comic"
    monkeypatch.setattr("widgets.main_window.QFileDialog.getSaveFileName", lambda *a, **k: (str(path), ""))
    edits.add_balloon(win.doc, page(win).id, "speech", Rect(20, 20, 40, 20), "Hello", tail=(30, 50))
    edits.bind_card(win.doc, page(win).panels[0].id, win.doc.project.characters[0].id, 60)
    assert win.act_save.isEnabled()
    win.act_save.trigger()
    assert path.exists() and not win.doc.modified
    assert win.windowTitle().startswith("story.comic")
    saved = win.doc.project
    other = MainWindow(Document(Project()))
    try:
        assert other.load(str(path))
        assert other.doc.project == saved
        assert other.view.page_scene.items_by_id  # the canvas shows the reopened page
        assert str(path.resolve()) in [a.toolTip() for a in other.recent_menu.actions()]
    finally:
        other.close()


def test_bad_file_shows_one_line_message(win, tmp_path, monkeypatch):
    bad = tmp_path / "broken.comic"
    bad.write_bytes(b"not a zip at all")
    shown = []
    monkeypatch.setattr("widgets.main_window.QMessageBox.critical", lambda *a: shown.append(a[2]))
    assert not win.load(str(bad))
    assert len(shown) == 1 and "\n" not in shown[0] and "Traceback" not in shown[0]


def test_window_state_persists(win):
    win.save_state()
    s = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Panelsmith", "Panelsmith")
    assert s.value("window/state") is not None


def test_zoom_actions_and_hand_pan(win):
    z = win.view.zoom_percent()
    win.act_zoom_in.trigger()
    assert win.view.zoom_percent() > z
    win.act_fit.trigger()
    win.act_zoom_in.trigger()
    win.act_zoom_in.trigger()
    h = win.view.horizontalScrollBar().value()
    drag(win, (100, 100), (60, 100), mods=Qt.KeyboardModifier.ControlModifier)
    assert win.view.horizontalScrollBar().value() != h
    assert win.doc.undo_stack.count() == 0


def test_balloon_tail_and_resize_are_one_step_each(win):
    bid = edits.add_balloon(win.doc, page(win).id, "speech", Rect(60, 60, 40, 20), "Hey", tail=(70, 95))
    win.doc.undo_stack.clear()
    click(win, 80, 70)
    assert win.view.page_scene.selected_ids() == [bid]
    win.view.snapping = False
    drag(win, (70, 95), (110, 100))
    assert page(win).balloon(bid).tail == pytest.approx((110, 100), abs=0.8)
    drag(win, (100, 80), (110, 90))  # bottom-right grip
    r = page(win).balloon(bid).rect
    assert (r.w, r.h) == pytest.approx((50, 30), abs=0.8)
    assert win.doc.undo_stack.count() == 2
    win.act_undo.trigger()
    win.act_undo.trigger()
    assert page(win).balloon(bid).tail == (70, 95) and page(win).balloon(bid).rect == Rect(60, 60, 40, 20)


def test_scene_follows_document_without_orphans(win):
    from widgets.canvas.badges import BadgeStripItem

    for panel in page(win).panels:
        edits.bind_card(win.doc, panel.id, win.doc.project.characters[0].id)
    edits.apply_template(win.doc, page(win).id, "grid-3x3")
    win.act_undo.trigger()
    strips = [i for i in win.view.page_scene.items() if isinstance(i, BadgeStripItem)]
    assert len(strips) == len(page(win).panels) == 4
    assert set(win.view.page_scene.items_by_id) == {p.id for p in page(win).panels}


def test_pick_variant_is_undoable(win):
    panel = page(win).panels[0]
    v1 = edits.add_variant(win.doc, panel.id, Image.new("RGB", (64, 64), "red"), kind="import")
    edits.add_variant(win.doc, panel.id, Image.new("RGB", (64, 64), "blue"), kind="import")
    click(win, panel.bbox.x + 5, panel.bbox.y + 5)
    strip = win.variants_dock.strip
    assert strip.count() == 2
    item = strip.item(0)
    QTest.mouseClick(strip.viewport(), LEFT, NOMOD, strip.visualItemRect(item).center())
    assert page(win).panel(panel.id).current == v1
    win.variants_dock.favourite.click()
    assert page(win).panel(panel.id).variants[0].favourite
    win.act_undo.trigger()
    win.act_undo.trigger()
    assert page(win).panel(panel.id).current != v1


def test_autosave_and_recovery_offer(win, tmp_path, monkeypatch):
    path = tmp_path / "crash.comic"
    monkeypatch.setattr("widgets.main_window.QFileDialog.getSaveFileName", lambda *a, **k: (str(path), ""))
    assert win.save()
    edits.add_panel(win.doc, page(win).id, Rect(5, 5, 30, 30))
    assert win.autosave.autosave_now() is not None
    assert win.autosave.autosave_now() is None  # nothing new since
    answers = []
    monkeypatch.setattr("widgets.autosave.QMessageBox.question",
                        lambda *a: answers.append(a[1]) or QMessageBox.StandardButton.Yes)
    other = MainWindow(Document(Project()))
    try:
        assert other.load(str(path))
        assert answers and len(other.doc.project.pages[0].panels) == 5
        assert other.doc.modified and other.isWindowModified()
    finally:
        other.doc.undo_stack.setClean()
        other.close()


def test_wheel_zooms_and_reframe_wheel_scales_image(win):
    from PySide6.QtGui import QWheelEvent

    def wheel(x: float, y: float, steps: int, mods=NOMOD) -> None:
        pos = QPointF(vp(win, x, y))
        event = QWheelEvent(pos, QPointF(win.view.viewport().mapToGlobal(pos.toPoint())), QPoint(0, 0),
                            QPoint(0, 120 * steps), Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase,
                            False)
        QApplication.sendEvent(win.view.viewport(), event)

    z = win.view.zoom_percent()
    wheel(100, 100, 2)
    assert win.view.zoom_percent() == pytest.approx(z * 1.44, rel=0.01)
    assert "%" in win.zoom_label.text()
    panel = page(win).panels[0]
    edits.add_variant(win.doc, panel.id, Image.new("RGB", (64, 48), "red"), kind="import")
    win.doc.undo_stack.clear()
    win.view.fit_page()
    win.view.set_tool(Tool.REFRAME)
    c = panel.bbox
    wheel(c.x + 10, c.y + 10, 1)
    wheel(c.x + 10, c.y + 10, 1)
    assert page(win).panel(panel.id).placement.scale == pytest.approx(1.08 ** 2, rel=1e-3)
    assert win.doc.undo_stack.count() == 1  # consecutive wheel steps merge into one undo step


def test_space_drag_pans_without_editing(win):
    win.act_zoom_in.trigger()
    win.act_zoom_in.trigger()
    win.act_zoom_in.trigger()
    bar = win.view.verticalScrollBar()
    before = bar.value()
    QTest.keyPress(win.view.viewport(), Qt.Key.Key_Space)
    panel = page(win).panels[0]
    drag(win, (panel.bbox.x + 10, panel.bbox.y + 40), (panel.bbox.x + 10, panel.bbox.y + 10))
    QTest.keyRelease(win.view.viewport(), Qt.Key.Key_Space)
    assert bar.value() != before
    assert win.doc.undo_stack.count() == 0
    centre = win.view.viewport().rect().center()
    QTest.mouseMove(win.view.viewport(), centre)
    at = win.view.mapToScene(centre)
    assert win.cursor_label.text() == f"x {at.x():.1f}  y {at.y():.1f} mm"


def test_lettering_toolbar_sets_font_of_selected_balloon(win):
    bid = edits.add_balloon(win.doc, page(win).id, "speech", Rect(60, 60, 40, 20), "Hey")
    assert not win.lettering_toolbar.isEnabled()
    click(win, 80, 70)
    assert win.lettering_toolbar.isEnabled()
    win.font_size.setValue(12.5)
    assert page(win).balloon(bid).font_size == 12.5
    win.act_undo.trigger()
    assert page(win).balloon(bid).font_size == 9.0


# --- one set of actions: menus, toolbars and context menus share the same QAction objects ------------

def popup_actions(widget, pos: QPoint) -> list[list]:
    """Send a context-menu event (as a right click does) to ``widget`` at ``pos``; the actions of every
    popup menu that opened, each closed at once."""
    menus: list[list] = []

    def close_popup() -> None:
        menu = QApplication.activePopupWidget()
        if menu is not None:
            menus.append(list(menu.actions()))
            menu.close()

    timer = QTimer(interval=10, timeout=close_popup)
    timer.start()
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos))
    QApplication.sendEvent(widget, event)
    timer.stop()
    return menus


def has(actions, action) -> bool:
    return any(a is action for a in actions)


def test_canvas_context_menu_offers_the_panel_menus_own_actions(win):
    gen, panel = win.generation, page(win).panels_in_reading_order()[0]
    center = panel.bbox.x + panel.bbox.w / 2, panel.bbox.y + panel.bbox.h / 2
    assert not gen.act_generate.isEnabled()
    [actions] = popup_actions(win.view.viewport(), vp(win, *center))
    assert win.view.page_scene.selected_panel_ids() == [panel.id] and gen.act_generate.isEnabled()
    for shared in (gen.act_generate, gen.act_vary, win.pan_menu.menuAction(), gen.act_upscale):
        assert has(actions, shared) and has(win.panel_menu.actions(), shared)
    assert has(win.pan_menu.actions(), gen.act_pan["left"]) and has(win.pan_menu.actions(), gen.act_zoom2)
    assert has(actions, win.act_copy) and has(win.edit_menu.actions(), win.act_copy)
    bid = edits.add_balloon(win.doc, page(win).id, "speech", Rect(60, 60, 40, 20), "Hey")
    [actions] = popup_actions(win.view.viewport(), vp(win, 80, 70))
    assert win.view.page_scene.selected_ids() == [bid]
    assert has(actions, win.act_copy) and not has(actions, gen.act_generate)


def test_preferences_is_in_the_edit_menu(win):
    [edit] = [a.menu() for a in win.menuBar().actions() if a.menu() is win.edit_menu]
    assert edit.title() == "&Edit" and has(edit.actions(), win.generation.act_preferences)
    assert win.generation.act_preferences.shortcut().toString() == "Ctrl+,"


def test_card_library_context_menu_is_one_menu_with_the_character_actions(win):
    chars, cards = win.characters, win.cards_dock.lists["character"]
    assert cards.currentItem() is None and not chars.act_sheet.isEnabled()
    pos = cards.visualItemRect(cards.item(0)).center()
    menus = popup_actions(cards.viewport(), pos)
    assert len(menus) == 1 and cards.currentItem() is cards.item(0) and chars.act_sheet.isEnabled()
    for act in (chars.act_sheet, chars.act_add_tiles, chars.act_train):
        assert has(menus[0], act) and has(win.characters_menu.actions(), act)
    styles = win.cards_dock.lists["style"]
    [style_menu] = popup_actions(styles.viewport(), styles.visualItemRect(styles.item(0)).center())
    assert not has(style_menu, chars.act_sheet)
