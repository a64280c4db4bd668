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
    with page_thumbnails._lock:
        page_thumbnails._pictures.clear()
        page_thumbnails._places.clear()
        page_thumbnails._size = 0
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
    with page_thumbnails._lock:  # a fresh start: only the file knows the pictures
        page_thumbnails._pictures.clear()
        page_thumbnails._places.clear()
        page_thumbnails._size = 0
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
