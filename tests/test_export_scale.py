"""Export at book scale: pages encoded on a thread pool in order, no render cache filled, lossless PDF art."""

from __future__ import annotations

import numpy as np
from PIL import Image

from app import edits, export, layout, render
from app.document import Document


def _book(pages: int = 3) -> Document:
    doc = Document()
    ids = edits.add_pages(doc, pages, layout.PAGE_SIZES["A4"], "grid-2x2")
    rng = np.random.default_rng(7)
    for n, page_id in enumerate(ids):
        panel = doc.project.page(page_id).panels[0].id
        pixels = rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)
        pixels[:, :, n % 3] = 255  # a different dominant colour per page
        edits.add_variant(doc, panel, Image.fromarray(pixels), kind="import")
    edits.set_project_attrs(doc, dpi=40)
    return doc


def test_png_pages_come_out_in_order_and_leave_the_render_cache_empty(tmp_path):
    doc = _book(5)
    render.clear_image_cache()
    files = export.export_png(doc.project, tmp_path / "out")
    assert not render._decoded  # exports decode without caching
    assert [f.name for f in files] == [export.page_file_name(i, 5) for i in range(5)]
    for index, path in enumerate(files):
        expected = render.qimage_to_pil(render.render_page(doc.project, index, 40, images=render.uncached_images(doc.project)))
        with Image.open(path) as got:
            assert np.array_equal(np.asarray(got.convert("RGB")), np.asarray(expected))


def test_cbz_pages_match_the_png_export(tmp_path):
    import zipfile

    doc = _book(4)
    export.export_cbz(doc.project, tmp_path / "book.cbz")
    pngs = export.export_png(doc.project, tmp_path / "png")
    with zipfile.ZipFile(tmp_path / "book.cbz") as zf:
        names = sorted(n for n in zf.namelist() if n.endswith(".png"))
        assert [zf.read(n) for n in names] == [p.read_bytes() for p in pngs]


def test_pdf_art_is_jpeg_by_default_and_lossless_on_request(tmp_path):
    doc = _book(1)
    default = export.export_pdf(doc.project, tmp_path / "a.pdf", dpi=72).read_bytes()
    lossless = export.export_pdf(doc.project, tmp_path / "b.pdf", dpi=72, lossless=True).read_bytes()
    assert b"/DCTDecode" in default
    assert b"/DCTDecode" not in lossless


def test_pages_are_encoded_on_the_pool_by_the_quick_writer(tmp_path, monkeypatch):
    """Each page is encoded on a worker thread by the quick PNG writer (rows filtered with "Up",
    zlib level 1): Pillow's encoder (three times slower) is never used, and the files decode to
    the rendered pixels with the dpi recorded."""
    import threading

    doc = _book(3)
    expected = [render.qimage_to_pil(render.render_page(doc.project, i, 40, images=render.uncached_images(doc.project)))
                for i in range(3)]
    threads = []
    real = export.qimage_to_png_fast

    def recording(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    def no_pillow(*args, **kwargs):
        raise AssertionError("an exported page went through Pillow's PNG encoder")
    monkeypatch.setattr(export, "qimage_to_png_fast", recording)
    monkeypatch.setattr(render, "qimage_to_pil", no_pillow)
    files = export.export_png(doc.project, tmp_path / "out")
    assert len(threads) == 3 and all(name.startswith("export-png") for name in threads)
    for path, want in zip(files, expected):
        with Image.open(path) as got:
            assert round(got.info["dpi"][0]) == 40
            assert np.array_equal(np.asarray(got.convert("RGB")), np.asarray(want))
