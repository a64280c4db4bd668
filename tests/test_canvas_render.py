"""Canvas drawing: panel images pre-scaled to their on-screen size (area averaged), panels and
balloons cached per zoom, and still the right pixels after zooming and editing (offscreen)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QRectF

from app import edits, layout
from app.document import Document
from app.project import BalloonKind, Project, Rect
from tests.helpers_pixmap import pixmap_array
from widgets.canvas import PageView
from widgets.canvas.geometry import image_rect

RED, BLUE = (220, 30, 30), (30, 40, 220)
IMAGE_W, IMAGE_H = 1000, 640


def two_colour_image() -> Image.Image:
    """Left half red, right half blue."""
    pixels = np.zeros((IMAGE_H, IMAGE_W, 3), np.uint8)
    pixels[:, : IMAGE_W // 2] = RED
    pixels[:, IMAGE_W // 2:] = BLUE
    return Image.fromarray(pixels)


@pytest.fixture
def view(qtbot):
    project = Project(title="Speed")
    page = layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2")
    project.pages.append(page)
    doc = Document(project)
    edits.add_variant(doc, page.panels[0].id, two_colour_image(), kind="import")
    edits.add_balloon(doc, page.id, BalloonKind.CAPTION, Rect(120, 200, 60, 30), "HELLO")
    view = PageView(doc)
    qtbot.addWidget(view)
    view.resize(700, 900)
    view.show()
    qtbot.waitExposed(view)
    view.fit_page()
    return view


def settle(qtbot, view: PageView) -> np.ndarray:
    """The viewport's pixels once the copies scaled off the GUI thread have arrived."""
    view.viewport().grab()  # paints: asks for the copies of this zoom
    qtbot.waitUntil(lambda: view.page_scene.pixmaps.pending == 0, timeout=10000)
    return pixmap_array(view.viewport().grab())


def on_screen(view: PageView, rect: QRectF) -> QRectF:
    return view.mapFromScene(rect).boundingRect().toRectF()


def panel_and_image(view: PageView):
    panel = view.page_scene.page.panels[0]
    item = view.page_scene.items_by_id[panel.id]
    return item, on_screen(view, image_rect(item.box, IMAGE_W, IMAGE_H, item.placement))


def colour_at(pixels: np.ndarray, point: QPointF) -> np.ndarray:
    x, y = int(point.x()), int(point.y())
    return pixels[y - 2: y + 3, x - 2: x + 3].reshape(-1, 3).mean(axis=0)


def assert_shows_image(view: PageView, pixels: np.ndarray) -> None:
    item, _ = panel_and_image(view)
    frame = on_screen(view, QRectF(item.box.x, item.box.y, item.box.w, item.box.h))
    y = frame.center().y()
    left = colour_at(pixels, QPointF(frame.left() + frame.width() * 0.15, y))
    right = colour_at(pixels, QPointF(frame.right() - frame.width() * 0.15, y))
    assert np.abs(left - RED).max() < 20, left
    assert np.abs(right - BLUE).max() < 20, right


def test_panel_image_is_drawn_from_a_copy_of_its_on_screen_size_at_two_zooms(view, qtbot):
    item, shown = panel_and_image(view)
    for zoom in (1.0, 1.35):
        if zoom != 1.0:
            view.zoom_by(zoom, anchor_under_mouse=False)
            view.centerOn(QPointF(item.box.x + item.box.w / 2, item.box.y + item.box.h / 2))
            item, shown = panel_and_image(view)
        pixels = settle(qtbot, view)
        assert_shows_image(view, pixels)
        width, height = round(shown.width()), round(shown.height())
        assert width < IMAGE_W  # a downscale: the full-size image would be drawn shrunk every frame
        # the pixmap blitted is the image pre-scaled to the size it covers on screen, not the image
        assert item.painted_size is not None
        assert abs(item.painted_size[0] - width) <= 1 and abs(item.painted_size[1] - height) <= 1, \
            (item.painted_size, width, height)


def test_balloon_text_is_drawn_again_after_an_edit(view, qtbot):
    page = view.page_scene.page
    balloon = page.balloons[0]
    item = view.page_scene.items_by_id[balloon.id]
    box = on_screen(view, QRectF(item.box.x, item.box.y, item.box.w, item.box.h)).toRect().adjusted(4, 4, -4, -4)  # inside the outline

    def ink() -> int:
        pixels = settle(qtbot, view)[box.top():box.bottom(), box.left():box.right()]
        return int((pixels.max(axis=2) < 200).sum())  # lettering (antialiased) on the white fill

    before = ink()
    assert before > 10  # HELLO is drawn
    edits.update_balloon(view.doc, page.id, balloon.id, text="")
    assert ink() == 0  # the cached balloon was drawn again: no text left
    edits.update_balloon(view.doc, page.id, balloon.id, text="HELLO THERE, A LONGER LINE")
    assert ink() > before
    view.doc.undo_stack.undo()
    assert ink() == 0
