"""Animated export: a motion panel's loop as GIF, WebP or MP4, and a motion page (the page with its
animated panels playing in place) as WebP or MP4. Print formats (PNG, PDF, CBZ) keep the still.

A webtoon page (the webtoon preset, or any page at least twice as tall as wide) does not fit a screen:
its motion page is a phone-like viewport (the page's width, 9:16) that scrolls from the top of the page
to its bottom at an even speed while the loops play in place. The speed is a third of the viewport's
height a second (about three seconds to read a screenful) and the video lasts at least as long as the
longest loop; when that would pass ``MAX_PAGE_FRAMES`` the scroll is faster instead. Other pages are
shown whole, as before.

GIF and WebP are written by Pillow, MP4 by PyAV (H.264, yuv420p). Like every export, the file is
written beside its target and renamed over it when complete: a failure leaves nothing.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Callable

from PIL import Image

from .export import ExportError, _temp_beside, _write_bytes, check_out, write_one
from .images import decode_png
from .project import Page, Panel, Project

LOOP_FORMATS = ("gif", "webp", "mp4")
PAGE_FORMATS = ("webp", "mp4")
PAGE_DPI = 96  # a motion page is for screens
MAX_PAGE_FRAMES = 512
VIEWPORT_ASPECT = 16 / 9  # a webtoon page's viewport: height / width, as a phone held upright
SCROLL_VIEWPORTS_PER_SECOND = 1 / 3  # the scroll speed on a webtoon page, in viewport heights a second


def _loop_panel(project: Project, panel_id: str) -> Panel:
    try:
        _, panel = project.find_panel(panel_id)
    except KeyError:
        raise ExportError(f"no panel {panel_id!r} in the project") from None
    if panel.motion is None:
        raise ExportError(f"panel {panel_id} has no loop: animate it first (panelsmith animate PATH --panel "
                          f"{panel_id})")
    return panel


def loop_frames(project: Project, panel: Panel) -> list[Image.Image]:
    """The RGB frames of the panel's current loop, all at the first frame's size."""
    frames = [decode_png(project.images[key]).convert("RGB") for key in panel.motion.frames]
    size = frames[0].size
    return [f if f.size == size else f.resize(size, Image.Resampling.LANCZOS) for f in frames]


def export_loop(project: Project, panel_id: str, fmt: str, out: str | os.PathLike,
                project_path: str | os.PathLike | None = None) -> Path:
    """Write panel ``panel_id``'s loop as ``fmt`` (gif, webp or mp4) to ``out``."""
    if fmt not in LOOP_FORMATS:
        raise ExportError(f"a panel's loop is written as {', '.join(LOOP_FORMATS)}, not {fmt}")
    panel = _loop_panel(project, panel_id)
    return _write(loop_frames(project, panel), panel.motion.fps, fmt, Path(out), project_path)


def export_motion_page(project: Project, fmt: str, out: str | os.PathLike, page_index: int | None = None,
                       dpi: float | None = None, project_path: str | os.PathLike | None = None) -> Path:
    """Write page ``page_index`` (default: the first page with an animated panel) with its animated
    panels playing in place as ``fmt`` (webp or mp4).

    The page plays at the fastest loop's fps for as long as its longest loop; each panel shows
    the frame of its own loop at that moment (loops repeat). ``dpi`` defaults to 96."""
    if fmt not in PAGE_FORMATS:
        raise ExportError(f"a motion page is written as {' or '.join(PAGE_FORMATS)}, not {fmt}; "
                          "gif is for one panel's loop (--panel ID)")
    if not project.pages:
        raise ExportError("the project has no pages")
    if page_index is None:
        page_index = next((i for i, pg in enumerate(project.pages) if any(p.motion for p in pg.panels)), 0)
    if not 0 <= page_index < len(project.pages):
        raise ExportError(f"page {page_index + 1} does not exist (the project has {len(project.pages)})")
    page = project.pages[page_index]
    loops = [p for p in page.panels if p.motion is not None]
    if not loops:
        raise ExportError(f"page {page_index + 1} has no animated panel: animate a panel first, "
                          "or export it as png, pdf or cbz")
    check_out(Path(out), project_path)
    fps = max(p.motion.fps for p in loops)
    seconds = max(len(p.motion.frames) / p.motion.fps for p in loops)
    dpi = dpi or PAGE_DPI
    view = scroll_viewport(page, dpi)
    if view is None:
        count = max(1, min(MAX_PAGE_FRAMES, math.ceil(seconds * fps - 1e-9)))
        frames = [_page_frame(project, page, loops, index / fps, dpi) for index in range(count)]
    else:
        (width, height), travel = view
        scroll = travel / (SCROLL_VIEWPORTS_PER_SECOND * height)
        count = max(2, min(MAX_PAGE_FRAMES, math.ceil(max(seconds, scroll) * fps - 1e-9)))
        frames = [_viewport_frame(project, page, loops, index / fps, dpi, (width, height),
                                  round(travel * index / (count - 1)))
                  for index in range(count)]
    return _write(frames, fps, fmt, Path(out), project_path)


def scroll_viewport(page: Page, dpi: float) -> tuple[tuple[int, int], int] | None:
    """((width, height) of the viewport, how far it scrolls, in pixels at ``dpi``) for a webtoon page whose
    height passes the viewport's; None for a page shown whole."""
    from .render import page_pixel_size

    if page.size_name != "webtoon" and page.height_mm < 2 * page.width_mm:
        return None
    width, height = page_pixel_size(page, dpi)
    view = min(height, round(width * VIEWPORT_ASPECT))
    return ((width, view), height - view) if height > view else None


def _loop_images(project: Project, loops: list[Panel], t: float) -> Callable:
    """The page's image source at ``t`` seconds: each animated panel shows its loop's frame then."""
    from .render import qimage_from_png

    swap = {}
    for panel in loops:
        motion = panel.motion
        swap[panel.image] = motion.frames[int(t * motion.fps + 1e-9) % len(motion.frames)]
    return lambda key: qimage_from_png(project.images[swap.get(key, key)])


def _page_frame(project: Project, page: Page, loops: list[Panel], t: float, dpi: float) -> Image.Image:
    from .render import qimage_to_pil, render_page

    return qimage_to_pil(render_page(project, page, dpi, False, _loop_images(project, loops, t))).convert("RGB")


def _viewport_frame(project: Project, page: Page, loops: list[Panel], t: float, dpi: float, size: tuple[int, int],
                    top: int) -> Image.Image:
    """The ``size`` window of the page rendered at ``dpi`` whose top edge is ``top`` px below the page's:
    the same pixels as the whole page's render cropped there (a whole-pixel shift), drawn alone."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QImage, QPainter

    from .layout import MM_PER_INCH
    from .qtgui import ensure_gui
    from .render import check_page_sizes, paint_page, qimage_to_pil

    ensure_gui()
    check_page_sizes(project, [page], dpi)
    image = QImage(size[0], size[1], QImage.Format.Format_RGB32)
    image.fill(QColor(Qt.GlobalColor.white))
    painter = QPainter(image)
    try:
        painter.translate(0, -top)
        painter.scale(dpi / MM_PER_INCH, dpi / MM_PER_INCH)
        paint_page(painter, project, page, _loop_images(project, loops, t), bleed=False)
    finally:
        painter.end()
    return qimage_to_pil(image).convert("RGB")


def _write(frames: list[Image.Image], fps: int, fmt: str, path: Path,
           project_path: str | os.PathLike | None) -> Path:
    check_out(path, project_path)
    if fmt == "mp4":
        return write_one(path, lambda target: _write_mp4(frames, fps, target))
    return write_one(path, lambda target: _write_bytes(target, encode_pillow(frames, fps, fmt)))


def encode_pillow(frames: list[Image.Image], fps: int, fmt: str) -> bytes:
    """An endless GIF or (lossless) WebP animation of ``frames`` at ``fps``."""
    buffer = io.BytesIO()
    duration = round(1000 / fps)
    if fmt == "gif":
        frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0,
                       disposal=1, optimize=False)
    else:
        frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=duration, loop=0,
                       lossless=True, method=0)
    return buffer.getvalue()


def _write_mp4(frames: list[Image.Image], fps: int, path: Path) -> Path:
    """An H.264 MP4 (yuv420p, even sides: an odd last row or column is cropped) in a temporary file
    beside ``path``, fsynced; returns the temporary path."""
    import av

    width, height = frames[0].size
    even = (width - width % 2, height - height % 2)
    if min(even) < 2:
        raise ExportError(f"the frames are too small for MP4 ({width} × {height} px)")
    fd, tmp = _temp_beside(path)
    os.close(fd)
    try:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream(_codec(), rate=fps)
            stream.width, stream.height = even
            stream.pix_fmt = "yuv420p"
            for frame in frames:
                image = frame if frame.size == even else frame.crop((0, 0, *even))
                for packet in stream.encode(av.VideoFrame.from_image(image)):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, (OSError, ExportError)) or not isinstance(exc, Exception):
            raise
        raise ExportError(f"could not encode {path.name} as MP4: {' '.join(str(exc).split())}") from None
    return tmp


def _codec() -> str:
    import av

    for name in ("libx264", "h264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 - this build of FFmpeg lacks it
            continue
    raise ExportError("this PyAV build has no MP4 video encoder (H.264 or MPEG-4)")
