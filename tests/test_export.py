"""Rendering and export: exact pixel sizes, clipping, empty frames, balloons, PDF pages, CBZ contents."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from PIL import Image

from app import edits, export, lettering, render
from app.document import Document
from app.layout import PAGE_SIZES, parse_page_size
from app.project import Balloon, BalloonKind, Placement, Rect
from tests.helpers_project import solid_png

RED = (220, 20, 20)


def _doc_with_art(template: str = "grid-2x2") -> tuple[Document, str, list[str]]:
    doc = Document()
    page = edits.add_page(doc, PAGE_SIZES["A4"], template)
    panels = [p.id for p in doc.project.page(page).panels]
    return doc, page, panels


def _pil(qimage) -> Image.Image:
    return render.qimage_to_pil(qimage)


def _is_white(px) -> bool:
    return all(c >= 250 for c in px[:3])


def _is_red(px) -> bool:
    return px[0] > 180 and px[1] < 70 and px[2] < 70


def test_a4_pixel_sizes():
    doc, page, _ = _doc_with_art()
    img = render.render_page(doc.project, 0, dpi=300)
    assert (img.width(), img.height()) == (2480, 3508)
    bleed = render.render_page(doc.project, 0, dpi=300, bleed=True)
    b = round(3 / 25.4 * 300)
    assert (bleed.width(), bleed.height()) == (2480 + 2 * b, 3508 + 2 * b)
    assert render.page_pixel_size(doc.project.pages[0], 150) == (round(210 / 25.4 * 150), round(297 / 25.4 * 150))


@pytest.mark.parametrize("size", ["B5", "US-comic", "webtoon", "150x200mm"])
def test_other_sizes(size):
    preset = parse_page_size(size)
    doc = Document()
    edits.add_page(doc, preset, "splash")
    dpi = 100
    img = render.render_page(doc.project, 0, dpi=dpi)
    assert (img.width(), img.height()) == (round(preset.width_mm / 25.4 * dpi), round(preset.height_mm / 25.4 * dpi))


def test_panel_art_is_clipped_to_a_polygon_frame():
    doc = Document()
    page = edits.add_page(doc, PAGE_SIZES["A4"])
    tri = edits.add_panel(doc, page, [(20.0, 20.0), (120.0, 20.0), (20.0, 120.0)])
    edits.add_variant(doc, tri, solid_png(RED, (300, 200)))
    edits.set_placement(doc, tri, Placement(offset_x=10, offset_y=5, scale=3.0))  # art overflows the frame a lot
    dpi = 100
    img = _pil(render.render_page(doc.project, 0, dpi=dpi))

    def at(x_mm, y_mm):
        return img.getpixel((round(x_mm / 25.4 * dpi), round(y_mm / 25.4 * dpi)))

    assert _is_red(at(40, 40)) and _is_red(at(25, 100)) and _is_red(at(100, 25))
    # inside the bounding box but outside the triangle, and all around the frame: white
    for point in [(100, 100), (80, 80), (72, 72), (10, 10), (130, 60), (60, 130), (19, 50), (50, 19)]:
        assert _is_white(at(*point)), point
    # nothing red anywhere outside the triangle (beyond the border's antialiasing)
    w, h = img.size
    s = 25.4 / dpi
    for y in range(0, h, 7):
        for x in range(0, w, 7):
            xm, ym = x * s, y * s
            outside = xm < 19 or ym < 19 or xm + ym > 141
            if outside:
                assert not _is_red(img.getpixel((x, y))), (xm, ym)


def test_empty_frames_show_their_border():
    doc, page, panels = _doc_with_art("splash")
    dpi = 100
    img = _pil(render.render_page(doc.project, 0, dpi=dpi))
    box = doc.project.pages[0].panels[0].bbox
    x = round(box.x / 25.4 * dpi)
    y_mid = round((box.y + box.h / 2) / 25.4 * dpi)
    assert max(img.getpixel((x, y_mid))) < 100  # the border line is dark
    centre = img.getpixel((round((box.x + box.w / 2) / 25.4 * dpi), y_mid))
    assert _is_white(centre)


def test_border_width_follows_stroke():
    doc, page, _ = _doc_with_art("splash")
    dpi = 300

    def dark_run(stroke: float) -> int:
        edits.set_page_props(doc, page, stroke_mm=stroke)
        img = _pil(render.render_page(doc.project, 0, dpi=dpi)).convert("L")
        y = img.height // 2
        return sum(1 for x in range(0, 300) if img.getpixel((x, y)) < 128)

    thin, thick = dark_run(0.3), dark_run(2.0)
    assert abs(thick - 2.0 / 25.4 * dpi) <= 2 and abs(thin - 0.3 / 25.4 * dpi) <= 2


def test_balloons_are_drawn_above_the_art():
    doc, page, panels = _doc_with_art("splash")
    edits.add_variant(doc, panels[0], solid_png(RED))
    edits.add_balloon(doc, page, BalloonKind.SPEECH, Rect(50, 50, 80, 40), "HELLO THERE", tail=(60, 130))
    dpi = 100
    img = _pil(render.render_page(doc.project, 0, dpi=dpi))

    def at(x_mm, y_mm):
        return img.getpixel((round(x_mm / 25.4 * dpi), round(y_mm / 25.4 * dpi)))

    assert _is_white(at(60, 70))  # balloon fill over the red art, left of the text
    assert _is_red(at(150, 150))
    text = lettering.text_rect(doc.project.pages[0].balloons[0])
    crop = img.crop(tuple(round(v / 25.4 * dpi) for v in (text.left(), text.top(), text.right(), text.bottom())))
    assert min(crop.convert("L").getdata()) < 80  # some dark lettering inside the text box
    # the tail covers the art on its way to (60, 130): white fill near the centre→tip line
    near = [at(70 + dx, 110 + dy) for dx in (-2, -1, 0, 1, 2) for dy in (-2, -1, 0, 1, 2)]
    assert any(_is_white(p) for p in near)
    assert _is_red(at(80, 120)) and _is_red(at(55, 110))


def test_balloon_shapes_and_text_fit():
    for kind in BalloonKind:
        b = Balloon(id=f"b-{kind.value}", kind=kind, rect=Rect(10, 10, 60, 30), text="Hi", tail=(20, 80))
        path = lettering.balloon_path(b)
        box = path.boundingRect()
        assert box.width() >= 54 and box.height() >= 27, kind
        if kind in (BalloonKind.SPEECH, BalloonKind.SHOUT):
            assert box.bottom() == pytest.approx(80, abs=0.5), kind  # the tail reaches its tip
        if kind == BalloonKind.THOUGHT:
            assert 60 < box.bottom() < 80  # bubbles lead towards the tip
    short = Balloon(id="s", kind=BalloonKind.SPEECH, rect=Rect(0, 0, 60, 30), text="Hi", font_size=9)
    long = Balloon(id="l", kind=BalloonKind.SPEECH, rect=Rect(0, 0, 60, 30), text="word " * 60, font_size=9)
    huge_word = Balloon(id="w", kind=BalloonKind.CAPTION, rect=Rect(0, 0, 20, 10), text="Supercalifragilistic",
                        font_size=12)
    assert lettering.fitted_font_size(short) == 9 and lettering.fitted_rect(short) == short.rect
    # text never shrinks: the balloon grows about its centre, keeping its proportions, until the text fits
    assert lettering.fitted_font_size(long) == 9 and lettering.fitted_font_size(huge_word) == 12
    for b in (long, huge_word):
        grown = lettering.fitted_rect(b)
        assert grown.w > b.rect.w and grown.h > b.rect.h
        assert grown.w / grown.h == pytest.approx(b.rect.w / b.rect.h)
        assert (grown.x + grown.w / 2, grown.y + grown.h / 2) == pytest.approx((b.rect.x + b.rect.w / 2,
                                                                                 b.rect.y + b.rect.h / 2))
        box = lettering.text_rect(b)
        font = lettering._layout_font(b.font, False)
        assert lettering._fits(b.text, font, b.font_size, box.width(), box.height())
        assert not lettering._fits(b.text, font, b.font_size, box.width() * 0.97, box.height() * 0.97)
    assert lettering.lettering_font("", 10).family() == lettering.BUNDLED_FAMILY


def test_export_png_files(tmp_path):
    doc, page, panels = _doc_with_art()
    edits.add_page(doc)
    files = export.export_png(doc.project, tmp_path / "out", dpi=72, bleed=True)
    assert [f.name for f in files] == ["page-001.png", "page-002.png"]
    with Image.open(files[0]) as im:
        b = round(3 / 25.4 * 72)
        assert im.size == (round(210 / 25.4 * 72) + 2 * b, round(297 / 25.4 * 72) + 2 * b)
        assert round(im.info["dpi"][0]) == 72


def _pdf_pages(data: bytes) -> list[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    return [(float(w), float(h)) for w, h in boxes]


def test_export_pdf_pages_and_sizes(tmp_path):
    doc, page, panels = _doc_with_art()
    edits.add_variant(doc, panels[0], solid_png(RED))
    edits.add_balloon(doc, page, BalloonKind.CAPTION, Rect(20, 20, 50, 15), "Meanwhile…")
    edits.add_page(doc)
    edits.add_page(doc, parse_page_size("150x200mm"), "2-tier")
    out = export.export_pdf(doc.project, tmp_path / "book.pdf", dpi=150)
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) == 3
    boxes = _pdf_pages(data)
    pt = 72 / 25.4
    assert len(boxes) == 3
    for (w, h), (wmm, hmm) in zip(boxes, [(210, 297), (210, 297), (150, 200)]):
        assert abs(w - wmm * pt) <= 1 and abs(h - hmm * pt) <= 1
    bleed = _pdf_pages(export.export_pdf(doc.project, tmp_path / "bleed.pdf", dpi=150, bleed=True).read_bytes())
    assert abs(bleed[0][0] - 216 * pt) <= 1 and abs(bleed[0][1] - 303 * pt) <= 1


def test_export_cbz(tmp_path):
    doc, page, panels = _doc_with_art()
    for _ in range(10):
        edits.add_page(doc)
    out = export.export_cbz(doc.project, tmp_path / "book.cbz", dpi=40)
    with zipfile.ZipFile(out) as zf:
        names = [n for n in zf.namelist() if n.endswith(".png")]
        assert names == sorted(names) and len(names) == 11
        assert names[0] == "page-001.png" and names[-1] == "page-011.png"
        with Image.open(io.BytesIO(zf.read(names[0]))) as im:
            assert im.size == (round(210 / 25.4 * 40), round(297 / 25.4 * 40))
        assert b"<PageCount>11</PageCount>" in zf.read("ComicInfo.xml")
    assert not list(tmp_path.glob(".*tmp"))


def test_export_panel_full_resolution(tmp_path):
    doc, page, panels = _doc_with_art()
    png = solid_png(RED, (1600, 900))
    edits.add_variant(doc, panels[1], png)
    out = export.export_panel(doc.project, panels[1], tmp_path / "p.png")
    assert out.read_bytes() == png
    with pytest.raises(export.ExportError, match="has no image"):
        export.export_panel(doc.project, panels[0], tmp_path / "q.png")
    with pytest.raises(export.ExportError, match="no panel"):
        export.export_panel(doc.project, "panel-nope", tmp_path / "q.png")


def test_image_rect_cover_and_placement():
    doc, page, panels = _doc_with_art("splash")
    panel = doc.project.pages[0].panels[0]
    box = panel.bbox
    r = render.image_rect(panel, 1000, 1000)  # square image into a tall frame: covers the height
    assert r.height() == pytest.approx(box.h) and r.width() == pytest.approx(box.h)
    assert r.center().x() == pytest.approx(box.x + box.w / 2)
    moved = render.image_rect(panel, 1000, 1000, Placement(offset_x=5, offset_y=-3, scale=2))
    assert moved.height() == pytest.approx(2 * box.h)
    assert moved.center().x() == pytest.approx(box.x + box.w / 2 + 5)
    assert moved.center().y() == pytest.approx(box.y + box.h / 2 - 3)
