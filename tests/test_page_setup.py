"""File ▸ New… and Page ▸ Page Setup… driven as a person does (keys and clicks on the real combo
boxes, spin boxes and OK button), and the page-setup edit underneath (pytest-qt, offscreen)."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from app import edits, layout, lettering, page_presets
from app.document import Document
from app.project import Project, ReadingOrder, Rect
from tests.helpers_window import isolate_engine_settings, open_window
from widgets.page_setup import NewComicDialog, PageSetupDialog

SHOTS = os.environ.get("PANELSMITH_SHOTS")  # a folder: save the dialogs' screenshots there to look at them
LEFT = Qt.MouseButton.LeftButton
LONG = "Nobody letters a forty-four character line at 6 pt."


@pytest.fixture(autouse=True)
def settings(tmp_path_factory, monkeypatch):
    isolate_engine_settings(tmp_path_factory, monkeypatch, tmp_path_factory.mktemp("models"))


@pytest.fixture
def win(qtbot):
    project = Project(title="Setup")
    for _ in range(2):
        project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "manga-5"))
    doc = Document(project)
    edits.add_balloon(doc, project.pages[0].id, "speech", Rect(20, 20, 40, 20), LONG)
    doc.undo_stack.clear()
    window = open_window(qtbot, doc)
    yield window
    window.doc.undo_stack.setClean()
    window.close()


def type_into(spin, text: str) -> None:
    """Select the spin box's text and type over it, then Enter, as a person does."""
    spin.setFocus()
    QTest.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(spin, text)
    QTest.keyClick(spin, Qt.Key.Key_Tab)


def click_ok(qtbot, dialog) -> None:
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), LEFT)


def white_box(image: QImage) -> tuple[int, int]:
    """(width, height) in pixels of the preview's trim: the bounding box of pure white pixels."""
    xs, ys = [], []
    white = QColor("#ffffff").rgb()
    for y in range(0, image.height()):
        for x in range(0, image.width()):
            if image.pixel(x, y) == white:
                xs.append(x)
                ys.append(y)
    return max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


def test_new_dialog_by_keyboard_makes_the_chosen_comic(qtbot, win):
    QTest.keyClick(win, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = win.page_setup_dialog
    assert isinstance(dialog, NewComicDialog) and dialog.isVisible()
    qtbot.waitExposed(dialog)
    a4 = dialog.preview.grab().toImage()
    dialog.form.preset.setFocus()
    QTest.keyClick(dialog.form.preset, Qt.Key.Key_Down)  # A4 -> B5 (JIS)
    assert dialog.form.preset.currentData() == "B5"
    assert dialog.form.direction.currentData() == "rtl" and dialog.form.dpi.value() == 350
    assert dialog.preview.grab().toImage() != a4
    type_into(dialog.pages, "3")
    dialog.template.setFocus()
    QTest.keyClicks(dialog.template, "grid-2x2")
    type_into(dialog.form.bleed, "5")
    type_into(dialog.form.lettering, "10")
    if SHOTS:
        dialog.grab().save(os.path.join(SHOTS, "new-comic.png"))
    click_ok(qtbot, dialog)

    project = win.doc.project
    assert len(project.pages) == 3 and win.doc.undo_stack.count() == 0 and not win.doc.modified
    for page in project.pages:
        assert (page.width_mm, page.height_mm, page.bleed_mm) == (182.0, 257.0, 5.0)
        assert page.reading_order == ReadingOrder.RTL and page.template == "grid-2x2" and len(page.panels) == 4
    assert project.dpi == 350 and lettering.project_lettering_pt(project.settings) == 10.0
    assert win.view.page_scene.page_id == project.pages[0].id


def test_new_dialog_custom_size_and_preview_follows_the_preset(qtbot, win):
    win.act_new.trigger()
    dialog = win.page_setup_dialog
    qtbot.waitExposed(dialog)
    a4_w, a4_h = white_box(dialog.preview.grab().toImage())
    dialog.form.preset.setFocus()
    for _ in range(3):
        QTest.keyClick(dialog.form.preset, Qt.Key.Key_Down)  # B5, US comic, webtoon
    assert dialog.form.preset.currentData() == "webtoon"
    web_w, web_h = white_box(dialog.preview.grab().toImage())
    assert a4_h / a4_w == pytest.approx(297 / 210, rel=0.05)
    assert web_h / web_w == pytest.approx(3200 / 800, rel=0.05)
    type_into(dialog.form.width, "150")
    type_into(dialog.form.height, "200")
    assert dialog.form.preset.currentData() == page_presets.CUSTOM
    assert white_box(dialog.preview.grab().toImage()) != (web_w, web_h)
    click_ok(qtbot, dialog)
    page = win.doc.project.pages[0]
    assert (page.width_mm, page.height_mm, page.size_name) == (150.0, 200.0, "custom")


def test_new_dialog_refuses_a_safe_area_wider_than_the_page(qtbot, win):
    before = win.doc.project
    win.act_new.trigger()
    dialog = win.page_setup_dialog
    qtbot.waitExposed(dialog)
    type_into(dialog.form.width, "150")
    type_into(dialog.form.safe, "80")
    click_ok(qtbot, dialog)
    assert dialog.isVisible() and "safe area" in dialog.error.text()
    assert win.doc.project is before
    dialog.reject()


def test_page_setup_scales_panels_and_balloons_in_one_undo_step(qtbot, win):
    doc = win.doc
    before = list(doc.project.pages)
    balloon = before[0].balloons[0]
    grown_before = lettering.fitted_rect(balloon)
    page_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "Pa&ge")
    assert win.act_page_setup in page_menu.actions()
    QTest.keyClick(win, Qt.Key.Key_G, Qt.KeyboardModifier.AltModifier)  # Page menu, then Page Setup… by its key
    qtbot.waitUntil(page_menu.isVisible)
    QTest.keyClick(page_menu, Qt.Key.Key_S)
    dialog = win.page_setup_dialog
    assert isinstance(dialog, PageSetupDialog)
    qtbot.waitExposed(dialog)
    assert dialog.form.preset.currentData() == "A4" and dialog.form.lettering.value() == 9.0
    dialog.form.preset.setFocus()
    QTest.keyClick(dialog.form.preset, Qt.Key.Key_Down)  # B5
    type_into(dialog.form.gutter, "6")
    type_into(dialog.form.lettering, "12")
    shown = dialog.preview.page.balloons[0]
    assert shown.font_size == 12.0 and shown.rect.w < balloon.rect.w  # the preview carries and re-letters it
    qtbot.mouseClick(dialog.all_pages, LEFT, pos=QPoint(8, dialog.all_pages.height() // 2))  # the box
    assert dialog.all_pages.isChecked()
    if SHOTS:
        dialog.grab().save(os.path.join(SHOTS, "page-setup.png"))
    click_ok(qtbot, dialog)

    assert doc.undo_stack.count() == 1
    assert doc.undo_stack.text(0) == "Page Setup of 2 pages: page size, gutter, reading order, print dpi, lettering"
    for page in doc.project.pages:
        assert (page.width_mm, page.height_mm, page.gutter_mm) == (182.0, 257.0, 6.0)
        boxes = [p.bbox for p in page.panels]
        assert min(b.x for b in boxes) == pytest.approx(10) and max(b.right for b in boxes) == pytest.approx(172)
        assert max(b.bottom for b in boxes) == pytest.approx(247)
        top, second = page.panels[0].bbox, page.panels[1].bbox
        assert second.y - top.bottom == pytest.approx(6.0)  # the gap is the new gutter
    new_balloon = doc.project.pages[0].balloons[0]
    assert new_balloon.font_size == 12.0
    assert new_balloon.rect.w < balloon.rect.w  # carried along with the page
    assert lettering.fitted_rect(new_balloon).w > grown_before.w * new_balloon.rect.w / balloon.rect.w  # regrown
    assert doc.project.dpi == 350 and lettering.project_lettering_pt(doc.project.settings) == 12.0
    item = win.view.page_scene.items_by_id[new_balloon.id]
    assert item.balloon.font_size == 12.0

    QTest.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.project.pages == before and doc.project.dpi == 300 and doc.project.settings == {}


def test_page_setup_current_page_only_names_the_change():
    project = Project()
    project.pages = [layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2") for _ in range(2)]
    doc = Document(project)
    first, second = project.pages
    edits.page_setup(doc, [first.id], replace(page_presets.size_of(first, 300), bleed_mm=5.0))
    assert doc.undo_stack.text(0) == "Change bleed to 5 mm"
    assert doc.project.pages[0].bleed_mm == 5.0 and doc.project.pages[1] is second
    assert doc.project.pages[0].panels == first.panels  # the trim, safe area and gutter did not move
    edits.page_setup(doc, [first.id], replace(page_presets.size_of(doc.project.pages[0], 300), bleed_mm=5.0))
    assert doc.undo_stack.count() == 1  # nothing changed: no step


def test_full_bleed_panel_still_bleeds_after_a_resize():
    project = Project()
    project.pages = [layout.new_page(layout.PAGE_SIZES["A4"])]
    doc = Document(project)
    page = project.pages[0]
    edits.add_panel(doc, page.id, Rect(-3, -3, 216, 100))
    edits.page_setup(doc, [page.id], layout.PAGE_SIZES["US-comic"])
    new = doc.project.pages[0]
    box = new.panels[0].bbox
    assert (box.x, box.y) == pytest.approx((-new.bleed_mm, -new.bleed_mm))
    assert box.right == pytest.approx(new.width_mm + new.bleed_mm)
    assert doc.undo_stack.text(1) == "Page Setup: page size, bleed, safe area, gutter"
    edits.page_setup(doc, [page.id], replace(page_presets.size_of(new, 300), name="custom", width_mm=150))
    assert doc.undo_stack.text(2) == "Change page size to custom (150 × 260.35 mm)"


def test_page_setup_refuses_an_impossible_safe_area():
    project = Project()
    project.pages = [layout.new_page(layout.PAGE_SIZES["A4"])]
    doc = Document(project)
    with pytest.raises(ValueError, match="safe area"):
        edits.page_setup(doc, [project.pages[0].id], replace(layout.PAGE_SIZES["A4"], width_mm=150, safe_mm=80))
    assert doc.undo_stack.count() == 0


def test_new_project_is_what_the_command_line_makes(tmp_path):
    from app.cli.main import main
    from app.project_io import load_project

    assert main(["new", str(tmp_path / "b.comic"), "--size", "B5", "--pages", "2", "--template", "3-tier"]) == 0
    made = load_project(tmp_path / "b.comic")
    ours = page_presets.new_project(layout.PAGE_SIZES["B5"], 2, "3-tier", title="b")
    assert [(p.width_mm, p.height_mm, p.reading_order, len(p.panels)) for p in made.pages] == \
        [(p.width_mm, p.height_mm, p.reading_order, len(p.panels)) for p in ours.pages]
    assert (made.dpi, made.title, made.settings) == (ours.dpi, ours.title, ours.settings)


def test_page_setup_with_dpi_and_lettering_undoes_and_redoes():
    project = Project()
    project.pages = [layout.new_page(layout.PAGE_SIZES["A4"], "2-tier") for _ in range(2)]
    doc = Document(project)
    edits.add_balloon(doc, project.pages[1].id, "caption", Rect(20, 20, 30, 10), "Meanwhile")
    edits.add_balloon(doc, project.pages[1].id, "speech", Rect(60, 20, 30, 10), "Own size", font_size=14.0)
    before = list(doc.project.pages)
    edits.page_setup(doc, [before[0].id], replace(page_presets.size_of(before[0], 600), name="A4"), 8.0)
    assert doc.undo_stack.text(doc.undo_stack.index() - 1) == "Page Setup: print dpi, lettering"
    after = list(doc.project.pages)
    assert [b.font_size for b in after[1].balloons] == [8.0, 14.0]  # the project size follows; its own size stays
    assert doc.project.dpi == 600 and after[0].panels == before[0].panels
    doc.undo_stack.undo()
    assert doc.project.pages == before and doc.project.dpi == 300 and doc.project.settings == {}
    doc.undo_stack.redo()
    assert doc.project.pages == after and doc.project.dpi == 600 and doc.project.settings == {"lettering_pt": 8.0}
