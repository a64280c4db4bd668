"""Page thumbnails: drawn lazily for the rows in view, off the GUI thread, and kept in the project file."""

from __future__ import annotations

import threading
import zipfile

import pytest

from app import edits, page_thumbnails
from app.document import Document
from app.layout import PAGE_SIZES
from app.project_io import load_project, save_project
from tests.helpers_project import solid_png
from tests.helpers_window import open_window, record_paints
from widgets import thumbnails

PAGES = 30


@pytest.fixture
def drawn(monkeypatch):
    """Each page thumbnail drawn: (thread is the GUI thread, page id)."""
    calls: list[tuple[bool, str]] = []
    real = thumbnails.draw_page_thumbnail

    def spy(project, page, *a, **k):
        calls.append((threading.current_thread() is threading.main_thread(), page.id))
        return real(project, page, *a, **k)
    monkeypatch.setattr(thumbnails, "draw_page_thumbnail", spy)
    page_thumbnails.SHELF.clear()
    return calls


def _book() -> Document:
    doc = Document()
    for n in range(PAGES):
        pid = edits.add_page(doc, PAGE_SIZES["A4"], "2-tier")
        panel = doc.project.page(pid).panels[0].id
        edits.add_variant(doc, panel, solid_png((n * 8 % 256, 90, 200 - n)))
    doc.undo_stack.setClean()
    return doc


def _wait_thumbnails(qtbot, win) -> None:
    dock = win.pages_dock

    def shown() -> bool:
        rows = dock.visible_rows()
        return bool(rows) and all(dock.list.item(r).data(Qt_FP()) for r in rows)
    qtbot.waitUntil(shown, timeout=30_000)


def Qt_FP():  # noqa: N802
    from widgets.docks.pages import FP_ROLE
    return FP_ROLE


def test_only_rows_in_view_are_drawn_and_off_the_gui_thread(qtbot, drawn):
    win = open_window(qtbot, _book(), height=600)
    _wait_thumbnails(qtbot, win)
    visible = win.pages_dock.visible_rows()
    assert 0 < len(visible) < PAGES
    assert drawn and not any(on_gui for on_gui, _ in drawn)
    assert len({pid for _, pid in drawn}) <= len(visible) + 1
    win.pages_dock.thumbnailer.wait()


def test_saved_thumbnails_open_without_drawing(qtbot, drawn, tmp_path):
    doc = _book()
    win = open_window(qtbot, doc, height=600)
    _wait_thumbnails(qtbot, win)
    win.pages_dock.thumbnailer.wait()
    path = save_project(doc.project, tmp_path / "book.comic")
    with zipfile.ZipFile(path) as zf:
        stored = [n for n in zf.namelist() if n.startswith("thumbnails/")]
    assert len(stored) == len({pid for _, pid in drawn}) > 0
    page_thumbnails.SHELF.clear()  # a fresh start: only the file knows the pictures
    drawn.clear()
    project = load_project(path)
    again = open_window(qtbot, Document(project, path), height=600)
    _wait_thumbnails(qtbot, again)
    assert drawn == []
    again.pages_dock.thumbnailer.wait()


def test_an_edited_page_gets_a_new_thumbnail(qtbot, drawn):
    doc = _book()
    win = open_window(qtbot, doc, height=600)
    _wait_thumbnails(qtbot, win)
    first = doc.project.pages[0]
    before = win.pages_dock.list.item(0).data(Qt_FP())
    edits.add_variant(doc, first.panels[1].id, solid_png((255, 0, 0)))
    win.pages_dock.refresh_thumbnails()
    qtbot.waitUntil(lambda: win.pages_dock.list.item(0).data(Qt_FP()) not in ("", before), timeout=30_000)
    assert win.pages_dock.list.item(0).data(Qt_FP()) == page_thumbnails.fingerprint(doc.project.pages[0])
    win.pages_dock.thumbnailer.wait()


def test_thumbnails_draw_reduced_images(monkeypatch):
    """A page thumbnail draws each panel's art reduced near its size on the thumbnail (drawing a
    full-size image small holds Python's lock and stalls the GUI thread), in the same place."""
    from PIL import Image

    from app import render

    doc = Document()
    page_id = edits.add_page(doc, PAGE_SIZES["A4"], "grid-2x2")
    page = doc.project.page(page_id)
    edits.add_variant(doc, page.panels[0].id, Image.new("RGB", (1600, 1200), (200, 40, 40)))
    page = doc.project.page(page_id)
    sizes, rects = [], []
    real = render.paint_panel_art

    def recording(painter, panel, image):
        sizes.append((image.width(), image.height()))
        rects.append(render.image_rect(panel, image.width(), image.height()))
        return real(painter, panel, image)
    monkeypatch.setattr(render, "paint_panel_art", recording)
    png = page_thumbnails.render_thumbnail(doc.project, page, 150)
    assert png.startswith(b"\x89PNG") and len(sizes) == 1
    assert max(sizes[0]) < 2 * 300  # 1600 px reduced by a whole factor to about 300
    full = render.image_rect(page.panels[0], 1600, 1200)
    assert abs(rects[0].width() - full.width()) < 0.5 and abs(rects[0].x() - full.x()) < 0.5


def test_the_dock_decodes_art_with_pillow_off_the_gui_thread(qtbot, drawn, monkeypatch):
    """The dock's thumbnail jobs decode the art with Pillow, which lets the GUI thread run while it
    decodes (Qt's decoder holds Python's lock for a whole full-size image: 30-200 ms of frozen window)."""
    from app import render

    decoded: list[bool] = []
    real = render.decode_pixels

    def spy(png):
        decoded.append(threading.current_thread() is threading.main_thread())
        return real(png)
    monkeypatch.setattr(render, "decode_pixels", spy)
    win = open_window(qtbot, _book(), height=600)
    _wait_thumbnails(qtbot, win)
    win.pages_dock.thumbnailer.wait()
    # the page on the canvas may reuse the canvas's decoded pixels; every other page decodes its art
    others = [page for _, page in drawn if page != win.view.page_scene.page_id]
    assert others and len(decoded) >= len(others) and not any(decoded)


def test_one_move_draws_one_thumbnail_and_the_other_rows_keep_theirs(qtbot, drawn):
    doc = _book()
    win = open_window(qtbot, doc, height=600)
    _wait_thumbnails(qtbot, win)
    win.pages_dock.thumbnailer.wait()
    qtbot.wait(50)
    dock = win.pages_dock
    rows = dock.visible_rows()
    assert len(rows) >= 2
    before = {r: dock.list.item(r).data(Qt_FP()) for r in rows}
    drawn.clear()
    page = doc.project.pages[0]
    edits.move_items(doc, page.id, [page.panels[0].id], 2.0, 1.0)
    kept: list[bool] = []

    def settled() -> bool:
        kept.append(all(dock.list.item(r).data(Qt_FP()) == before[r] for r in rows[1:]))
        return dock.list.item(0).data(Qt_FP()) not in ("", before[0])
    qtbot.waitUntil(settled, timeout=30_000)
    dock.thumbnailer.wait()
    assert [pid for _, pid in drawn] == [page.id]
    assert all(kept)  # never a placeholder (or a redraw) for the rows the move left alone


def test_the_shown_pages_thumbnail_reuses_the_canvas_pixels(qtbot, drawn, monkeypatch):
    """An edit on the page the canvas shows redraws its thumbnail from the pixels the canvas already
    decoded (only reduced, not decoded again), and it looks the same as one drawn by decoding."""
    import io
    import random

    import numpy as np
    from PIL import Image

    from app import render
    from tests.helpers_project import tiny_png

    doc = _book()
    page = doc.project.pages[0]
    edits.add_variant(doc, page.panels[0].id, tiny_png(random.Random(3), (640, 480)))
    doc.undo_stack.setClean()
    win = open_window(qtbot, doc, height=600)
    key = doc.project.pages[0].panels[0].image
    qtbot.waitUntil(lambda: win.view.page_scene.pixmaps.decoded(key) is not None, timeout=30_000)
    _wait_thumbnails(qtbot, win)
    win.pages_dock.thumbnailer.wait()
    decoded: list[int] = []
    real = render.decode_pixels
    monkeypatch.setattr(render, "decode_pixels", lambda png: decoded.append(len(png)) or real(png))
    drawn.clear()
    before = win.pages_dock.list.item(0).data(Qt_FP())
    page = doc.project.pages[0]
    edits.move_items(doc, page.id, [page.panels[0].id], 2.0, 1.0)
    qtbot.waitUntil(lambda: win.pages_dock.list.item(0).data(Qt_FP()) not in ("", before), timeout=30_000)
    win.pages_dock.thumbnailer.wait()
    assert [pid for _, pid in drawn] == [page.id] and decoded == []
    fp = page_thumbnails.fingerprint(doc.project.pages[0])
    monkeypatch.setattr(render, "decode_pixels", real)
    shown = np.asarray(Image.open(io.BytesIO(page_thumbnails.lookup(fp))).convert("RGB"), dtype=int)
    from app import image_previews

    image_previews.SHELF.clear()  # drawn by decoding the full image (the canvas's decode made a preview)
    fresh = page_thumbnails.render_thumbnail(doc.project, doc.project.pages[0])
    again = np.asarray(Image.open(io.BytesIO(fresh)).convert("RGB"), dtype=int)
    assert shown.shape == again.shape and np.abs(shown - again).max() <= 2


def test_thumbnails_are_drawn_after_the_canvas_first_frame(qtbot, drawn, monkeypatch):
    """Opening a book paints the canvas first: no page thumbnail starts before its first frame."""
    from PySide6.QtCore import QThreadPool

    from widgets.main_window import MainWindow

    order: list[str] = []
    real_start = QThreadPool.start

    def start(pool, job, *args):
        if isinstance(job, thumbnails._Job):
            order.append("thumbnail")
        return real_start(pool, job, *args)
    monkeypatch.setattr(QThreadPool, "start", start)

    win = MainWindow(_book())
    qtbot.addWidget(win, before_close_func=lambda w: w.doc.undo_stack.setClean())
    record_paints(win.view.viewport(), order)
    win.resize(1400, 600)
    win.show()
    qtbot.waitExposed(win)
    _wait_thumbnails(qtbot, win)
    assert "paint" in order and "thumbnail" in order
    assert order.index("paint") < order.index("thumbnail")
    win.pages_dock.thumbnailer.wait()
