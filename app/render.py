"""Render pages: white page, panel art clipped to its frame, frame borders, balloons above.

:func:`paint_page` draws in page millimetres on any QPainter (raster image, PDF, or the canvas), so
every output shares one drawing code. :func:`render_page` rasterises a page at a dpi.
"""

from __future__ import annotations

import io
import struct
import threading
import zlib
from collections import OrderedDict
from typing import Callable

from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter, QPainterPath, QPen, QPolygonF

from . import lettering
from .image_store import image_header, png_size
from .images import MAX_IMAGE_PIXELS
from .layout import MM_PER_INCH
from .project import Page, Panel, Placement, Project
from .placement import image_frame
from .qtgui import ensure_gui

ImageSource = Callable[[str], QImage]

#: The most pixels one rendered page may have: A3 with bleed at 600 dpi (72 million) fits.
MAX_PAGE_PIXELS = 100_000_000
#: Qt refuses to decode images above 256 MB by default; every image a project may hold (up to
#: :data:`app.images.MAX_IMAGE_PIXELS`, 4 bytes a pixel once decoded) must decode for export.
QT_IMAGE_LIMIT_MB = MAX_IMAGE_PIXELS * 4 // (1024 * 1024) + 64


def allow_project_images() -> None:
    """Raise Qt's image-decoding allocation limit so that every image a project may hold decodes."""
    if QImageReader.allocationLimit() < QT_IMAGE_LIMIT_MB:
        QImageReader.setAllocationLimit(QT_IMAGE_LIMIT_MB)


def px(mm: float, dpi: float) -> int:
    """Millimetres to whole pixels at ``dpi`` (round(mm / 25.4 * dpi))."""
    return round(mm / MM_PER_INCH * dpi)


def page_pixel_size(page: Page, dpi: float, bleed: bool = False) -> tuple[int, int]:
    """Output size in pixels: the trim size, or the trim plus the bleed on each side.

    With bleed the trim box stays at a whole-pixel offset, so the image is exactly
    ``2 * px(bleed)`` larger than the trim-size image.
    """
    w, h = px(page.width_mm, dpi), px(page.height_mm, dpi)
    if bleed:
        b = px(page.bleed_mm, dpi)
        return w + 2 * b, h + 2 * b
    return w, h


def page_size_problem(project: Project, page: Page, dpi: float, bleed: bool = False) -> str | None:
    """Why ``page`` cannot be rendered at ``dpi`` (too many pixels, with the largest dpi that fits); None if it can."""
    width, height = page_pixel_size(page, dpi, bleed)
    if width * height <= MAX_PAGE_PIXELS:
        return None
    fits = int(dpi * (MAX_PAGE_PIXELS / (width * height)) ** 0.5)
    while fits > 1:
        fit_w, fit_h = page_pixel_size(page, fits, bleed)
        if fit_w * fit_h <= MAX_PAGE_PIXELS:
            break
        fits -= 1
    number = project.pages.index(page) + 1 if page in project.pages else 0
    return (f"page {number} at {dpi:g} dpi would be {width} × {height} px, more than {MAX_PAGE_PIXELS:,} "
            f"pixels: use {fits} dpi or less")


def check_page_sizes(project: Project, pages: list[Page], dpi: float, bleed: bool = False) -> None:
    """Raise ValueError (one line) when any of ``pages`` is too large to render at ``dpi``."""
    for page in pages:
        problem = page_size_problem(project, page, dpi, bleed)
        if problem:
            raise ValueError(problem)


def panel_path(panel: Panel) -> QPainterPath:
    path = QPainterPath()
    path.addPolygon(QPolygonF([QPointF(x, y) for x, y in panel.points]))
    path.closeSubpath()
    return path


def image_rect(panel: Panel, width: int, height: int, placement: Placement | None = None) -> QRectF:
    """Where a ``width`` × ``height`` px image lies on the page (mm) for a panel's placement
    (see :func:`app.placement.image_frame`)."""
    box = panel.bbox
    if width <= 0 or height <= 0:
        return QRectF(box.x, box.y, box.w, box.h)
    rect = image_frame(box, (width, height), placement or panel.placement).rect
    return QRectF(rect.x, rect.y, rect.w, rect.h)


def decode_pixels(png: bytes) -> Image.Image:
    """A project image decoded to 8-bit RGB or RGBA by Pillow (no Qt: any thread may call it, and
    other threads run meanwhile; Qt's decoder holds Python's lock for the whole decode). An image
    already RGB or RGBA is returned as decoded, without a converted copy."""
    try:
        img = Image.open(io.BytesIO(png))
        img.load()
        if img.mode in ("RGB", "RGBA"):
            return img
        alpha = img.mode in ("LA", "PA") or (img.mode == "P" and "transparency" in img.info)
        return img.convert("RGBA" if alpha else "RGB")
    except Exception:  # noqa: BLE001 - any decoder failure is one message
        raise ValueError("an image of the project could not be decoded") from None


def qimage_from_pixels(pixels: Image.Image) -> QImage:
    """A QImage (its own copy) of what :func:`decode_pixels` gave."""
    allow_project_images()
    fmt = QImage.Format.Format_RGBA8888 if pixels.mode == "RGBA" else QImage.Format.Format_RGB888
    data = pixels.tobytes()
    image = QImage(data, pixels.width, pixels.height, len(data) // max(1, pixels.height), fmt).copy()
    if image.isNull():
        raise ValueError("an image of the project could not be decoded")
    return image


def qimage_from_png(png: bytes) -> QImage:
    """A project image decoded (by Pillow: see :func:`decode_pixels`)."""
    return qimage_from_pixels(decode_pixels(png))


_DECODED_BUDGET = 512 * 1024 * 1024  # bytes of decoded pixels kept between renders
_decoded: OrderedDict[tuple[str, int], QImage] = OrderedDict()
_decoded_bytes = 0
_decoded_lock = threading.Lock()


def decoded_image(key: str, png: bytes) -> QImage:
    """The decoded image of a store entry, from a small LRU cache (keys are content hashes)."""
    global _decoded_bytes
    cache_key = (key, len(png))
    with _decoded_lock:
        image = _decoded.get(cache_key)
        if image is not None:
            _decoded.move_to_end(cache_key)
            return image
    image = qimage_from_png(png)
    size = image.sizeInBytes()
    with _decoded_lock:
        if size <= _DECODED_BUDGET // 4 and cache_key not in _decoded:
            _decoded[cache_key] = image
            _decoded_bytes += size
            while _decoded_bytes > _DECODED_BUDGET:
                _, old = _decoded.popitem(last=False)
                _decoded_bytes -= old.sizeInBytes()
    return image


def clear_image_cache() -> None:
    global _decoded_bytes
    with _decoded_lock:
        _decoded.clear()
        _decoded_bytes = 0


def uncached_images(project: Project) -> ImageSource:
    """A decoder for the project's image keys that keeps nothing (exports: a book is read once)."""
    return lambda key: qimage_from_png(project.images[key])


def reduced_images(project: Project, max_side: int) -> ImageSource:
    """A decoder for small pictures (thumbnails, any thread): each image decoded by Pillow and
    reduced by a whole factor to at most about ``max_side`` px (the frame an image covers depends on
    its aspect ratio only), so drawing it is cheap; Qt holds Python's lock while it draws, and a
    full-size image drawn small stalls the GUI thread. An image's stored preview (see
    :mod:`app.image_previews`) stands in for it when it is at least ``max_side`` px. Nothing is cached."""
    def source(key: str) -> QImage:
        pixels = preview_pixels(project, key, max_side) or decode_pixels(project.images[key])
        factor = max(pixels.width, pixels.height) // max(1, max_side)
        if factor >= 2:
            pixels = pixels.reduce(factor)
        return qimage_from_pixels(pixels)
    return source


def preview_pixels(project: Project, key: str, min_side: int) -> Image.Image | None:
    """The decoded stored preview of image ``key`` when it is sound and at least ``min_side`` px on
    its long side; else None."""
    from . import image_previews

    if image_previews.known(key) is None:
        return None
    try:
        full = png_size(image_header(project.images, key))
    except (ValueError, KeyError, OSError):
        return None
    preview = image_previews.decode(key, full)
    return preview if preview is not None and max(preview.size) >= min_side else None


def project_images(project: Project) -> ImageSource:
    """A decoder for the project's image keys (cached across renders)."""
    return lambda key: decoded_image(key, project.images[key])


def paint_panel_art(painter: QPainter, panel: Panel, image: QImage) -> None:
    """Draw a panel's image with its placement, clipped to the panel polygon (painter in mm)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    painter.setClipPath(panel_path(panel), Qt.ClipOperation.IntersectClip)
    painter.drawImage(image_rect(panel, image.width(), image.height()), image)
    painter.restore()


def paint_panel_border(painter: QPainter, panel: Panel, stroke_mm: float) -> None:
    if stroke_mm <= 0:
        return
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    pen = QPen(QColor(Qt.GlobalColor.black), stroke_mm)
    pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(panel_path(panel))
    painter.restore()


def paint_page(painter: QPainter, project: Project, page: Page, images: ImageSource | None = None,
               bleed: bool = True, balloons: bool = True) -> None:
    """Draw a whole page in page mm: white paper (including the bleed when ``bleed``), panels by z
    (art clipped to the frame, then the border), then balloons by z."""
    images = images or project_images(project)
    paper = page.bleed_rect if bleed else page.trim
    painter.fillRect(QRectF(paper.x, paper.y, paper.w, paper.h), QColor(Qt.GlobalColor.white))
    for panel in sorted(page.panels, key=lambda p: p.z):
        key = panel.image
        if key is not None and key in project.images:
            paint_panel_art(painter, panel, images(key))
        paint_panel_border(painter, panel, page.stroke_mm)
    if balloons:
        for balloon in sorted(page.balloons, key=lambda b: b.z):
            lettering.paint_balloon(painter, balloon)


def render_page(project: Project, page: Page | int | str, dpi: float | None = None, bleed: bool = False,
                images: ImageSource | None = None, fmt: QImage.Format = QImage.Format.Format_RGB32) -> QImage:
    """Rasterise a page (object, index or id) at ``dpi`` (default the project's) to an RGB QImage
    (``fmt``: RGB32, or RGB888 for the exporters, which is drawn a little quicker and needs no
    conversion before encoding; antialiased edges may differ by 1 in a few pixels between them)."""
    ensure_gui()
    page = _page(project, page)
    dpi = float(dpi or project.dpi)
    check_page_sizes(project, [page], dpi, bleed)
    width, height = page_pixel_size(page, dpi, bleed)
    image = QImage(width, height, fmt)
    image.fill(QColor(Qt.GlobalColor.white))
    dots_per_meter = round(dpi / MM_PER_INCH * 1000)
    image.setDotsPerMeterX(dots_per_meter)
    image.setDotsPerMeterY(dots_per_meter)
    painter = QPainter(image)
    try:
        scale = dpi / MM_PER_INCH
        if bleed:
            b = px(page.bleed_mm, dpi)
            painter.translate(b, b)
        painter.scale(scale, scale)
        paint_page(painter, project, page, images, bleed=bleed)
    finally:
        painter.end()
    return image


def qimage_to_pil(image: QImage) -> Image.Image:
    """An RGB PIL image with the pixels of a QImage."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    data = bytes(rgb.constBits())[: rgb.bytesPerLine() * rgb.height()]
    return Image.frombuffer("RGB", (rgb.width(), rgb.height()), data, "raw", "RGB", rgb.bytesPerLine(), 1).copy()


def qimage_to_png(image: QImage, dpi: float | None = None, level: int = 6) -> bytes:
    """PNG bytes of a QImage (with its dpi recorded when given) at zlib ``level`` (0–9)."""
    pil = qimage_to_pil(image)
    buf = io.BytesIO()
    pil.save(buf, format="PNG", compress_level=level, **({"dpi": (dpi, dpi)} if dpi else {}))
    return buf.getvalue()


def _deflate() -> tuple[Callable[[bytes, int], bytes], str]:
    """The quickest zlib-format compressor at hand: ISA-L's (the ``isal`` package: about 3× zlib's
    speed at level 1 on page pixels, and files a little smaller), else the standard library's.
    Both release Python's lock while they work."""
    try:
        from isal import isal_zlib
    except ImportError:
        return (lambda data, level: zlib.compress(data, level)), "zlib"
    return (lambda data, level: isal_zlib.compress(data, max(0, min(3, level)))), "isal"


DEFLATE, DEFLATE_NAME = _deflate()


def _png_chunk(kind: bytes, data: bytes) -> list[bytes]:
    return [struct.pack(">I", len(data)), kind, data, struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))]


def qimage_to_png_fast(image: QImage, dpi: float | None = None, level: int = 1) -> bytes:
    """PNG bytes of a QImage for exports: every row with the "Up" filter, compressed at ``level``
    by :data:`DEFLATE` (ISA-L when installed, levels 0–3; else zlib, 0–9). Pillow's per-row filter
    choice is about 3× slower for files about 3 % smaller. The pixels are read from the image
    without copies and numpy and the compressor release Python's lock, so pages encode in parallel
    on a thread pool. The dpi is recorded (pHYs) when given."""
    import numpy as np

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    pixels = np.frombuffer(rgb.constBits(), np.uint8, count=stride * height).reshape(height, stride)[:, :width * 3]
    rows = np.empty((height, width * 3 + 1), np.uint8)
    rows[:, 0] = 2  # filter type Up: each byte minus the byte above it (the first row: minus zero)
    rows[:1, 1:] = pixels[:1]
    np.subtract(pixels[1:], pixels[:-1], out=rows[1:, 1:])
    del pixels, rgb

    out = [b"\x89PNG\r\n\x1a\n", *_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
    if dpi:
        per_metre = int(dpi / 0.0254 + 0.5)  # as Pillow records it
        out += _png_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
    out += [*_png_chunk(b"IDAT", DEFLATE(rows, level)), *_png_chunk(b"IEND", b"")]
    return b"".join(out)


def _page(project: Project, page: Page | int | str) -> Page:
    if isinstance(page, Page):
        return page
    if isinstance(page, int):
        return project.pages[page]
    return project.page(page)
