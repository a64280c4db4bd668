"""Export at book scale: pages encoded on a thread pool in order (ISA-L deflate when installed), no render cache
filled, lossless PDF art, progress and cancel."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QImage

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
    """Each page is drawn straight into RGB888 and encoded on a worker thread by the quick PNG
    writer (rows filtered with "Up", deflate level 1): Pillow's encoder (three times slower) is
    never used, and the files decode to the rendered pixels with the dpi recorded."""
    import threading

    doc = _book(3)
    expected = [render.qimage_to_pil(render.render_page(doc.project, i, 40, images=render.uncached_images(doc.project)))
                for i in range(3)]
    threads, formats = [], []
    real = export.qimage_to_png_fast

    def recording(*args, **kwargs):
        threads.append(threading.current_thread().name)
        formats.append(args[0].format())
        return real(*args, **kwargs)

    def no_pillow(*args, **kwargs):
        raise AssertionError("an exported page went through Pillow's PNG encoder")
    monkeypatch.setattr(export, "qimage_to_png_fast", recording)
    monkeypatch.setattr(render, "qimage_to_pil", no_pillow)
    files = export.export_png(doc.project, tmp_path / "out")
    assert len(threads) == 3 and all(name.startswith("export-png") for name in threads)
    assert formats == [QImage.Format.Format_RGB888] * 3  # drawn in the PNG's own layout: nothing to convert
    for path, want in zip(files, expected):
        with Image.open(path) as got:
            assert round(got.info["dpi"][0]) == 40
            assert np.array_equal(np.asarray(got.convert("RGB")), np.asarray(want))


def test_rgb_art_is_decoded_without_a_converted_copy(monkeypatch):
    """RGB and RGBA art is used as Pillow decoded it (a converted copy cost a fifth of the decode);
    other modes are still converted (grey with alpha to RGBA)."""

    rgb = np.random.default_rng(3).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    png = io.BytesIO()
    Image.fromarray(rgb).save(png, format="PNG")
    grey = io.BytesIO()
    Image.new("LA", (8, 8), (90, 128)).save(grey, format="PNG")
    decoded = render.decode_pixels(grey.getvalue())
    assert decoded.mode == "RGBA" and decoded.getpixel((0, 0)) == (90, 90, 90, 128)

    def no_convert(*args, **kwargs):
        raise AssertionError("RGB art was converted to a copy")
    monkeypatch.setattr(Image.Image, "convert", no_convert)
    decoded = render.decode_pixels(png.getvalue())
    assert decoded.mode == "RGB" and np.array_equal(np.asarray(decoded), rgb)
    image = render.qimage_from_pixels(decoded)
    assert (image.width(), image.height()) == (32, 24) and image.pixelColor(5, 7).getRgb()[:3] == tuple(rgb[7, 5])


def test_pages_are_compressed_by_isal_when_it_is_installed(tmp_path, monkeypatch):
    """With the isal package, page pixels go through ISA-L's deflate (one call a page) and decode
    to exactly the rendered pixels."""
    isal_zlib = pytest.importorskip("isal.isal_zlib")
    doc = _book(2)
    calls = []
    real = isal_zlib.compress

    def recording(data, level):
        calls.append(level)
        return real(data, level)
    monkeypatch.setattr(isal_zlib, "compress", recording)
    assert render.DEFLATE_NAME == "isal"
    files = export.export_png(doc.project, tmp_path / "out")
    assert calls == [1, 1]
    for index, path in enumerate(files):
        page = render.render_page(doc.project, index, 40, images=render.uncached_images(doc.project))
        want = render.qimage_to_pil(page)
        with Image.open(path) as got:
            assert np.array_equal(np.asarray(got.convert("RGB")), np.asarray(want))


def test_without_isal_pages_are_compressed_by_zlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "isal", None)  # not installed
    deflate, name = render._deflate()
    assert name == "zlib"
    monkeypatch.setattr(render, "DEFLATE", deflate)
    doc = _book(1)
    image = render.render_page(doc.project, 0, 40, images=render.uncached_images(doc.project))
    with Image.open(io.BytesIO(render.qimage_to_png_fast(image, 40))) as got:
        assert np.array_equal(np.asarray(got.convert("RGB")), np.asarray(render.qimage_to_pil(image)))



@pytest.mark.parametrize("fmt", ["cbz", "png", "pdf"])
def test_export_reports_progress_and_a_cancel_leaves_nothing(tmp_path, fmt):
    """``progress(done, total)`` is called before each page and at the end; returning False
    cancels: ExportCancelled, no output and no temporary file, an older output kept."""
    doc = _book(3)
    out = tmp_path / ("book" if fmt == "png" else f"book.{fmt}")
    seen = []
    export.export(doc.project, fmt, out, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    seen.clear()
    with pytest.raises(export.ExportCancelled, match="cancelled; nothing was written"):
        export.export(doc.project, fmt, out, progress=lambda done, total: seen.append(done) or done < 2)
    assert seen == [0, 1, 2]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # no temporary file left
