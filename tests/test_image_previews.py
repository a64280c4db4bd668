"""Image previews: made when an image comes in, stored beside it, drawn by the canvas at page zoom
instead of decoding the full image, and never trusted when they do not fit their image."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from app import edits, image_previews, render
from app.document import Document
from app.project_io import load_project, save_project
from widgets.canvas import pixmaps

W, H = 1024, 768  # a generated panel's size; its preview is 512 × 384


def _picture(seed: int) -> Image.Image:
    """Smooth colour fields (an illustration, not noise: a preview is meant to look the same)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    a, b, c = rng.uniform(0.002, 0.01, 3)
    rgb = np.stack([128 + 120 * np.sin(a * x + b * y), 128 + 120 * np.cos(b * x - c * y), 128 + 100 * np.sin(c * (x + y))], -1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


@pytest.fixture
def saved(tmp_path):
    """A one-page book whose four panels got generated images, saved, then opened afresh."""
    from tests.helpers_window import one_page_doc

    doc = one_page_doc("Previews")
    for i, panel in enumerate(doc.project.pages[0].panels):
        edits.add_variants(doc, panel.id, [(_picture(i), i)], "generate", "a scene")
    path = tmp_path / "book.comic"
    save_project(doc.project, path)
    keys = [p.image for p in doc.project.pages[0].panels]
    image_previews.SHELF.clear()  # only the file knows them now
    return path, keys


def _decode_counter(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = pixmaps.decode

    def spy(data: bytes):
        calls.append(len(data))
        return real(data)
    monkeypatch.setattr(pixmaps, "decode", spy)
    return calls


def test_a_generated_image_is_saved_with_its_preview(saved):
    path, keys = saved
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {f"previews/{k}.jpg" for k in keys} <= names
        preview = Image.open(io.BytesIO(zf.read(f"previews/{keys[0]}.jpg")))
        full = Image.open(io.BytesIO(zf.read(f"images/{keys[0]}.png"))).convert("RGB")
    assert (preview.format, preview.size, preview.mode) == ("JPEG", (512, 384), "RGB")
    reference = np.asarray(full.resize((512, 384), Image.Resampling.BOX), dtype=int)
    assert np.abs(np.asarray(preview, dtype=int) - reference).mean() < 2.0  # the same picture, not a lossy blur


def _screen_colour(win, panel) -> np.ndarray:
    """The colour the canvas shows at the centre of ``panel``."""
    win.view.centerOn(panel.bbox.x + panel.bbox.w / 2, panel.bbox.y + panel.bbox.h / 2)
    win.view.viewport().repaint()
    point = win.view.mapFromScene(panel.bbox.x + panel.bbox.w / 2, panel.bbox.y + panel.bbox.h / 2)
    c = win.view.viewport().grab().toImage().pixelColor(point)
    return np.array([c.red(), c.green(), c.blue()])


def test_the_canvas_shows_a_page_from_previews_and_decodes_the_full_image_when_zoomed_in(saved, qtbot, monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from tests.helpers_window import open_window

    path, keys = saved
    decodes = _decode_counter(monkeypatch)
    win = open_window(qtbot, Document(load_project(path), path), width=1000, height=700)
    pixmaps_cache = win.view.page_scene.pixmaps
    panel = win.doc.project.pages[0].panels[0]
    centre = np.asarray(_picture(0), dtype=int)[H // 2 - 4:H // 2 + 4, W // 2 - 4:W // 2 + 4].reshape(-1, 3).mean(0)
    qtbot.waitUntil(lambda: pixmaps_cache.pending == 0)
    assert panel.bbox.w * win.view.px_per_mm() < 512  # the page fits: each panel smaller than its preview
    assert np.abs(_screen_colour(win, panel) - centre).max() < 12  # the picture is on screen
    assert decodes == []  # from the previews: no full image decoded
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    win.view.setFocus()
    # the image covers the panel's height: zoom in with the real shortcut (Ctrl+=), as a person does,
    # until it is shown taller than its preview (384 px) yet smaller than itself (768 px)
    for _ in range(12):
        if panel.bbox.h * win.view.px_per_mm() > 1.2 * 384:
            break
        QTest.keyClick(win, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert 1.2 * 384 < panel.bbox.h * win.view.px_per_mm() < H
    win.view.centerOn(panel.bbox.x + panel.bbox.w / 2, panel.bbox.y + panel.bbox.h / 2)
    win.view.viewport().repaint()
    qtbot.waitUntil(lambda: len(decodes) >= 1 and pixmaps_cache.pending == 0, timeout=10000)
    assert np.abs(_screen_colour(win, panel) - centre).max() < 12


def test_a_preview_that_does_not_fit_its_image_is_not_used(tmp_path, qapp):
    """A preview of another size (or not a JPEG) from a file is ignored: the full image is decoded."""
    png = io.BytesIO()
    _picture(5).save(png, "PNG")
    project_images = {"k" * 24: png.getvalue()}
    wrong = io.BytesIO()
    _picture(5).resize((300, 300)).save(wrong, "JPEG")
    image_previews.remember("k" * 24, wrong.getvalue())
    assert image_previews.decode("k" * 24, (W, H)) is None
    image_previews.SHELF.clear()
    image_previews.remember("k" * 24, b"\xff\xd8 not a jpeg")
    assert image_previews.decode("k" * 24, (W, H)) is None
    cache = pixmaps.PixmapCache()
    try:
        pix, exact = cache.scaled(project_images, "k" * 24, 256, 192)
        assert exact and pix.width() == 256  # drawn from the full image
        assert cache.decoded("k" * 24) is not None
    finally:
        cache.close()


def test_a_full_decode_makes_the_preview_that_the_next_save_stores(tmp_path, qapp):
    """An image that came without a preview (a file from before previews) gets one when the canvas decodes it."""
    png = io.BytesIO()
    _picture(9).save(png, "PNG")
    data = png.getvalue()
    from app.images import image_key

    key = image_key(data)
    cache = pixmaps.PixmapCache()
    try:
        cache.scaled({key: data}, key, 200, 150)
        cache._pool.shutdown(wait=True)  # the preview is made on the scaling threads
    finally:
        cache.close()
    assert image_previews.decode(key, (W, H)) is not None


def test_page_thumbnails_are_drawn_from_previews(saved, monkeypatch):
    path, keys = saved
    project = load_project(path)
    full: list[int] = []
    real = render.decode_pixels
    monkeypatch.setattr(render, "decode_pixels", lambda data: full.append(1) or real(data))
    source = render.reduced_images(project, 300)
    assert source(keys[0]).width() >= 300
    assert full == []
    big = render.reduced_images(project, 1024)  # larger than the preview: the full image
    assert big(keys[0]).width() == W
    assert full == [1]


def test_an_appending_save_keeps_the_previews_in_place_and_adds_the_new_one(saved, monkeypatch):
    import app.project_io as project_io

    monkeypatch.setattr(project_io, "APPEND_MIN_BYTES", 0)
    path, keys = saved
    doc = Document(load_project(path), path)
    with zipfile.ZipFile(path) as zf:
        before = {i.filename: i.header_offset for i in zf.infolist() if i.filename.startswith("previews/")}
    panel = doc.project.pages[0].panels[0]
    edits.add_variants(doc, panel.id, [(_picture(11), 11)], "generate", "again")
    size = path.stat().st_size
    save_project(doc.project, path)
    with zipfile.ZipFile(path) as zf:
        after = {i.filename: i.header_offset for i in zf.infolist() if i.filename.startswith("previews/")}
        assert zf.testzip() is None
    assert path.stat().st_size > size  # appended, not rewritten
    assert {k: after[k] for k in before} == before  # the old previews stay where they were
    new = doc.project.pages[0].panels[0].image
    assert f"previews/{new}.jpg" in after and len(after) == len(before) + 1


def test_a_stranger_file_cannot_give_previews_to_images_it_does_not_hold(saved, tmp_path):
    path, keys = saved
    other = tmp_path / "other.comic"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(other, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == f"images/{keys[1]}.png":
                continue  # the image is not in this file, only a "preview" of it
            dst.writestr(info, data)
    image_previews.SHELF.clear()
    with zipfile.ZipFile(other) as zf:
        from app.image_store import FileSource
        from app.project_io import _place_pictures

        _place_pictures(FileSource(other), zf.infolist())
    assert image_previews.known(keys[1]) is None
    assert image_previews.known(keys[0]) is not None


def test_card_pictures_are_drawn_from_previews(qapp, monkeypatch):
    from widgets import thumbnails

    doc = Document()
    card_id = edits.add_card(doc, "character", "Ada", [_picture(3)])
    key = doc.project.card(card_id).references[0].image
    full: list[int] = []
    real = render.decode_pixels
    monkeypatch.setattr(render, "decode_pixels", lambda data: full.append(1) or real(data))
    monkeypatch.setattr(thumbnails, "decode_pixels", render.decode_pixels)
    icon = thumbnails.square_image(doc.project.images[key], 96, key)
    assert (icon.width(), icon.height()) == (96, 96) and full == []
    centre = np.asarray(_picture(3), dtype=int)[H // 2, W // 2]
    c = icon.pixelColor(48, 48)
    assert np.abs(np.array([c.red(), c.green(), c.blue()]) - centre).max() < 12
    image_previews.SHELF.clear()  # without a preview: the full image, decoded by Pillow
    assert thumbnails.square_image(doc.project.images[key], 96, key).width() == 96 and full == [1]
