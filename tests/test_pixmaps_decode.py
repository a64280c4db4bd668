"""Canvas images: an opaque image is decoded and area-scaled as RGB, then given its alpha; the same pixels."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage

from widgets.canvas import pixmaps


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _scaled_as_rgba(data: bytes, width: int, height: int) -> QImage:
    """The reference: the whole image converted to RGBA first, then area-averaged."""
    rgba = Image.open(io.BytesIO(data)).convert("RGBA").resize((width, height), Image.Resampling.BOX)
    return QImage(rgba.tobytes(), width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()


def test_opaque_images_stay_rgb_until_scaled_and_give_the_same_pixels(qapp):
    pixels = np.random.default_rng(7).integers(0, 256, (120, 97, 4), dtype=np.uint8)
    opaque = _png(Image.fromarray(pixels[..., :3], "RGB"))
    sources = [opaque, _png(Image.fromarray(pixels, "RGBA")), _png(Image.fromarray(pixels[..., 0], "L")),
               _png(Image.fromarray(pixels[..., :3], "RGB").convert("P"))]
    assert pixmaps.decode(opaque).mode == "RGB"  # no full-size RGBA copy of an opaque image
    for data in sources:
        for width, height in ((40, 50), (97, 13)):
            assert pixmaps.area_scale(pixmaps.decode(data), width, height) == _scaled_as_rgba(data, width, height)


def test_a_page_shown_decodes_its_panel_images_side_by_side_once_each(qtbot, monkeypatch):
    """Showing a page starts its panels' decodes on the scaling threads before the first frame; the
    GUI thread takes over those not started and waits for those under way: each image decoded once."""
    import threading

    from app import edits
    from tests.helpers_window import one_page_doc, open_window

    doc = one_page_doc("Decode")
    page = doc.project.pages[0]
    rng = np.random.default_rng(3)
    for panel in page.panels:
        edits.add_variant(doc, panel.id, _png(Image.fromarray(rng.integers(0, 256, (768, 1024, 3), dtype=np.uint8))))
    doc.undo_stack.setClean()
    page = doc.project.pages[0]  # the edits replaced it
    threads: list[str] = []
    real = pixmaps.decode

    def spy(data: bytes):
        threads.append(threading.current_thread().name)
        return real(data)
    monkeypatch.setattr(pixmaps, "decode", spy)
    win = open_window(qtbot, doc)
    qtbot.waitUntil(lambda: all(win.view.page_scene.pixmaps.decoded(p.image) is not None for p in page.panels))
    assert len(threads) == len(page.panels)  # once each
    assert any(name.startswith("panelsmith-scale") for name in threads)


def test_zooming_past_full_size_decodes_the_source_off_the_gui_thread(qtbot, monkeypatch):
    """A panel shown larger than its image is drawn from the source, decoded on the scaling threads
    (the nearest copy, stretched, meanwhile): zooming in never decodes on the GUI thread."""
    import threading

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app import edits
    from tests.helpers_window import one_page_doc, open_window

    doc = one_page_doc("Magnified")
    panel = doc.project.pages[0].panels[0]
    rng = np.random.default_rng(5)
    edits.add_variant(doc, panel.id, _png(Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))))
    doc.undo_stack.setClean()
    threads: list[str] = []
    real = pixmaps.decode

    def spy(data: bytes):
        threads.append(threading.current_thread().name)
        return real(data)
    real_get = pixmaps.PixmapCache.get

    def get_spy(self, *args, **kwargs):  # the synchronous decode (Qt's decoder, on the caller's thread)
        threads.append(threading.current_thread().name)
        return real_get(self, *args, **kwargs)
    monkeypatch.setattr(pixmaps, "decode", spy)
    monkeypatch.setattr(pixmaps.PixmapCache, "get", get_spy)
    win = open_window(qtbot, doc, width=900, height=700)
    panel = win.doc.project.pages[0].panels[0]
    item = win.view.page_scene.items_by_id[panel.id]
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    for _ in range(6):  # Ctrl+=, as a person zooms in: the 96 px high image covers far more pixels
        QTest.keyClick(win, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert panel.bbox.h * win.view.px_per_mm() > 2 * 96
    win.view.centerOn(panel.bbox.x + panel.bbox.w / 2, panel.bbox.y + panel.bbox.h / 2)
    win.view.viewport().repaint()
    qtbot.waitUntil(lambda: item.painted_size == (128, 96), timeout=10_000)  # the source itself, magnified
    assert threads and "MainThread" not in threads
