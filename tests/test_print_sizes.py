"""Print sizes: pages up to A3 at 600 dpi export (panel images beyond Qt's default 256 MB decode
limit included); larger exports and upscales are refused up front with one line."""

from __future__ import annotations


import pytest

from app import edits, export, render
from app.document import Document
from app.layout import parse_page_size
from app.project_io import save_project
from tests.image_files import solid_rgb_png
from tests.helpers_cli import run

RED = (220, 20, 20)


def _a3_with_art(art_size: tuple[int, int]) -> tuple[Document, str, str]:
    doc = Document()
    page = edits.add_page(doc, parse_page_size("297x420mm"), "splash")
    panel = doc.project.page(page).panels[0].id
    edits.add_variant(doc, panel, solid_rgb_png(art_size, RED))
    return doc, page, panel


def test_a3_at_600_dpi_renders_a_panel_image_above_qts_default_decode_limit():
    doc, page, _ = _a3_with_art((8200, 8200))  # 269 MB once decoded as 32-bit pixels
    render.clear_image_cache()
    image = render.render_page(doc.project, page, 600, bleed=True)
    assert (image.width(), image.height()) == render.page_pixel_size(doc.project.page(page), 600, bleed=True)
    centre = image.pixelColor(image.width() // 2, image.height() // 2)
    assert (centre.red(), centre.green(), centre.blue()) == RED
    render.clear_image_cache()


def test_a3_at_600_dpi_exports_as_png(tmp_path):
    doc, _, _ = _a3_with_art((64, 64))
    [written] = export.export(doc.project, "png", tmp_path / "out", 600, bleed=True)
    assert written.stat().st_size > 0


@pytest.mark.parametrize("fmt", ["png", "cbz"])
def test_export_dpi_too_big_for_the_page_is_refused_up_front(tmp_path, capsys, fmt):
    doc, _, _ = _a3_with_art((64, 64))
    path = tmp_path / "big.comic"
    save_project(doc.project, path)
    out = tmp_path / ("pages" if fmt == "png" else "book.cbz")
    code, _, err = run(capsys, "export", path, "--format", fmt, "--out", out, "--dpi", "2400")
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and len(err) < 300
    assert "dpi" in err and "page 1" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["big.comic"]


def test_render_refuses_an_absurd_dpi_without_allocating():
    doc, page, _ = _a3_with_art((64, 64))
    with pytest.raises(ValueError, match="dpi"):
        render.render_page(doc.project, page, 2400)


def test_upscale_dpi_too_big_is_refused_up_front(tmp_path, capsys):
    doc = Document()
    page = edits.add_page(doc, parse_page_size("200x200mm"), "splash")
    panel = doc.project.page(page).panels[0].id
    edits.add_variant(doc, panel, solid_rgb_png((64, 64), RED))
    path = tmp_path / "p.comic"
    save_project(doc.project, path)
    before = path.read_bytes()
    code, _, err = run(capsys, "upscale", path, "--panel", panel, "--dpi", "2400", "--models", tmp_path / "models")
    assert code == 2 and err.count("\n") == 1 and len(err) < 300
    assert "--dpi 2400" in err and panel in err and "or less" in err
    assert path.read_bytes() == before
