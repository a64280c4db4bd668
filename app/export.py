"""Export finished pages: one PNG per page, one multi-page PDF, a CBZ, or one panel's image."""

from __future__ import annotations

import errno
import os
import tempfile
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Callable, Iterable
from xml.sax.saxutils import escape

from PySide6.QtCore import QMarginsF, QSizeF
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter, QPdfWriter

from .layout import MM_PER_INCH
from .project import Page, Project
from .qtgui import ensure_gui
from .render import (check_page_sizes, decode_pixels, paint_page, px, qimage_from_pixels,
                     qimage_to_png_fast, render_page, uncached_images)

# exported pages: a fast deflate level, ISA-L's or zlib's (zlib 6 took 77 % of a CBZ export for ~10 % smaller files)
PNG_LEVEL = 1

FORMATS = ("png", "pdf", "cbz")
#: Raster pages are drawn straight into 24-bit RGB, the PNG's own layout (no conversion before encoding).
PAGE_FORMAT = QImage.Format.Format_RGB888


class ExportError(Exception):
    """An export that cannot be done (one-line message)."""


class ExportCancelled(ExportError):
    """The export was cancelled through its progress callback; nothing was written."""


#: Called with (pages done, pages in all) before each page and once all are done; a False
#: return cancels the export (:class:`ExportCancelled`, nothing written).
Progress = Callable[[int, int], "bool | None"]


def _step(progress: Progress | None, done: int, total: int, out: Path) -> None:
    if progress is not None and progress(done, total) is False:
        raise ExportCancelled(f"export to {out} cancelled; nothing was written")


# --- atomic output ---------------------------------------------------------------------------------------

# The function that wraps a temporary file's descriptor; tests swap it to simulate a full disk.
_open_for_write: Callable[[int], IO[bytes]] = lambda fd: os.fdopen(fd, "wb")  # noqa: E731


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "the disk is full"
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return "the file is too large for this disk (file size limit reached)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return " ".join(str(exc).split()) or type(exc).__name__


def _temp_beside(target: Path) -> tuple[int, Path]:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    return fd, Path(name)


def _fsync_path(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _publish(pairs: list[tuple[Path, Path]]) -> None:
    """Rename each finished temporary file over its target (after all were written and fsynced)."""
    for tmp, target in pairs:
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    if os.name == "posix" and pairs:
        fd = os.open(pairs[0][1].parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_bytes(target: Path, data: bytes) -> Path:
    """``data`` into a temporary file beside ``target``, flushed and fsynced; returns the temporary path."""
    fd, tmp = _temp_beside(target)
    try:
        with _open_for_write(fd) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _failed(out: Path, exc: BaseException) -> ExportError:
    return ExportError(f"could not export {out}: {_reason(exc)}; nothing was written")


def write_one(path: Path, write: Callable[[Path], Path]) -> Path:
    """Publish one file atomically: ``write(path)`` makes a finished temporary file beside ``path``,
    which then replaces it; on failure nothing is left and the old file stays. Returns ``path``."""
    try:
        tmp = write(path)
        try:
            _publish([(tmp, path)])
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise _failed(path, exc) from None
    return path


def check_out(out: str | os.PathLike, project_path: str | os.PathLike | None) -> None:
    """Refuse an output that is the project file itself (under any spelling, link or hard link)."""
    if project_path is None:
        return
    out, project = Path(out), Path(project_path)
    same = os.path.realpath(out) == os.path.realpath(project)
    if not same and out.exists() and project.exists():
        try:
            same = os.path.samefile(out, project)
        except OSError:
            same = False
    if same:
        raise ExportError(f"--out {out} is the project file itself: choose another name")


def _page_pngs(project: Project, selected: list[Page], dpi: float, bleed: bool,
               before_page: Callable[[int], None] = lambda n: None) -> Iterable[bytes]:
    """The PNG of each page, in order. Pages are drawn here one by one (``before_page(n)`` first,
    which may raise to stop); the art of the next page is decoded meanwhile on one thread pool
    (Pillow, no Qt) and each drawn page is encoded on another by the quick writer (numpy and the
    compressor release the GIL), with a bounded number in flight. Images are decoded without caching."""
    workers = max(1, min(8, os.cpu_count() or 1))
    pending: list[Future[bytes]] = []
    decoding: dict[str, Future] = {}

    def prefetch(page: Page) -> None:
        for panel in page.panels:
            key = panel.image
            if key is not None and key in project.images and key not in decoding:
                decoding[key] = decoders.submit(decode_pixels, project.images[key])

    def images(key: str):
        future = decoding.pop(key, None)
        return qimage_from_pixels(future.result() if future is not None else decode_pixels(project.images[key]))

    with ThreadPoolExecutor(workers, thread_name_prefix="export-png") as pool, \
            ThreadPoolExecutor(workers, thread_name_prefix="export-decode") as decoders:
        try:
            if selected:
                prefetch(selected[0])
            for n, page in enumerate(selected):
                before_page(n)
                if n + 1 < len(selected):
                    prefetch(selected[n + 1])
                image = render_page(project, page, dpi, bleed, images, PAGE_FORMAT)
                pending.append(pool.submit(qimage_to_png_fast, image, dpi, PNG_LEVEL))
                del image
                if len(pending) > workers:
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()
        finally:
            for future in [*pending, *decoding.values()]:
                future.cancel()


def page_file_name(index: int, count: int) -> str:
    """``page-001.png``… (zero-padded so that names sort in page order)."""
    return f"page-{index + 1:0{max(3, len(str(count)))}d}.png"


def _pages(project: Project, pages: Iterable[int] | None) -> list[Page]:
    if not project.pages:
        raise ExportError("the project has no pages")
    indices = list(range(len(project.pages))) if pages is None else list(pages)
    return [project.pages[i] for i in indices]


def export_png(project: Project, out_dir: str | os.PathLike, dpi: float | None = None, bleed: bool = False,
               pages: Iterable[int] | None = None, project_path: str | os.PathLike | None = None,
               progress: Progress | None = None) -> list[Path]:
    """Write ``page-001.png``… into ``out_dir`` (created); returns the files written.

    Every page goes to a temporary file first; they replace the targets only when all were written,
    so a failure (a full disk) or a cancel (see :data:`Progress`) leaves nothing behind."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    dpi = float(dpi or project.dpi)
    selected = _pages(project, pages)
    targets = [out / page_file_name(i, len(selected)) for i in range(len(selected))]
    for target in targets:
        check_out(target, project_path)
    done: list[tuple[Path, Path]] = []
    try:
        pngs = _page_pngs(project, selected, dpi, bleed, lambda n: _step(progress, n, len(selected), out))
        for png, target in zip(pngs, targets):
            done.append((_write_bytes(target, png), target))
        _step(progress, len(selected), len(selected), out)
        _publish(done)
    except OSError as exc:
        raise _failed(out, exc) from None
    finally:
        for tmp, _ in done:
            tmp.unlink(missing_ok=True)
    return targets


def export_cbz(project: Project, out_file: str | os.PathLike, dpi: float | None = None, bleed: bool = False,
               project_path: str | os.PathLike | None = None, progress: Progress | None = None) -> Path:
    """A comic book archive: page PNGs in reading order (names sort) plus a ComicInfo.xml; nothing
    is left when it fails or is cancelled (see :data:`Progress`)."""
    out = Path(out_file)
    check_out(out, project_path)
    dpi = float(dpi or project.dpi)
    selected = _pages(project, None)
    tmp: Path | None = None
    try:
        fd, tmp = _temp_beside(out)
        with _open_for_write(fd) as f:
            with zipfile.ZipFile(f, "w") as zf:
                pngs = _page_pngs(project, selected, dpi, bleed, lambda n: _step(progress, n, len(selected), out))
                for i, png in enumerate(pngs):
                    zf.writestr(zipfile.ZipInfo(page_file_name(i, len(selected))), png)  # stored: PNG already
                info = (f'<?xml version="1.0" encoding="utf-8"?>\n<ComicInfo>\n'
                        f'  <Title>{escape(project.title or out.stem)}</Title>\n'
                        f'  <PageCount>{len(selected)}</PageCount>\n'
                        f'  <Manga>{"YesAndRightToLeft" if selected[0].reading_order.value == "rtl" else "No"}</Manga>\n'
                        f'</ComicInfo>\n')
                zf.writestr("ComicInfo.xml", info, compress_type=zipfile.ZIP_DEFLATED)
                _step(progress, len(selected), len(selected), out)
            f.flush()
            os.fsync(f.fileno())
        _publish([(tmp, out)])
        tmp = None
    except OSError as exc:
        raise _failed(out, exc) from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return out


def export_pdf(project: Project, out_file: str | os.PathLike, dpi: float | None = None, bleed: bool = False,
               project_path: str | os.PathLike | None = None, lossless: bool = False,
               progress: Progress | None = None) -> Path:
    """One PDF page per comic page at its physical size (trim, or trim plus bleed).

    Pages are drawn as vectors (frames, balloons, text) with the panel images embedded (JPEG, or
    losslessly compressed when ``lossless``); ``dpi`` is the writer's resolution. The PDF is written to a temporary file, checked to be
    complete, fsynced and renamed: a failure or a cancel (see :data:`Progress`) leaves nothing behind.
    """
    ensure_gui()
    out = Path(out_file)
    check_out(out, project_path)
    dpi = int(round(dpi or project.dpi))
    selected = _pages(project, None)
    images = uncached_images(project)
    try:
        fd, tmp = _temp_beside(out)
        os.close(fd)
    except OSError as exc:
        raise _failed(out, exc) from None
    painter = QPainter()
    try:
        writer = QPdfWriter(str(tmp))
        writer.setResolution(dpi)
        writer.setCreator("Panelsmith")
        writer.setTitle(project.title or out.stem)
        for i, page in enumerate(selected):
            _step(progress, i, len(selected), out)
            box = page.bleed_rect if bleed else page.trim
            layout = QPageLayout(QPageSize(QSizeF(box.w, box.h), QPageSize.Unit.Millimeter, "",
                                           QPageSize.SizeMatchPolicy.ExactMatch),
                                 QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0))
            if i == 0:
                writer.setPageLayout(layout)
                if not painter.begin(writer):
                    raise ExportError(f"could not export {out}: the PDF cannot be written; nothing was written")
                painter.setRenderHint(QPainter.RenderHint.LosslessImageRendering, lossless)
            else:
                writer.setPageLayout(layout)
                writer.newPage()
            painter.resetTransform()
            scale = dpi / MM_PER_INCH
            painter.scale(scale, scale)
            painter.translate(-box.x, -box.y)
            paint_page(painter, project, page, images, bleed=bleed)
        _step(progress, len(selected), len(selected), out)
        ended = painter.end()
        del writer  # closes the file
        if not ended or not _pdf_complete(tmp):
            raise OSError(errno.EIO, "the PDF was not written completely (is the disk full?)")
        _fsync_path(tmp)
        _publish([(tmp, out)])
    except OSError as exc:
        raise _failed(out, exc) from None
    finally:
        if painter.isActive():
            painter.end()
        tmp.unlink(missing_ok=True)
    return out


def _pdf_complete(path: Path) -> bool:
    """Whether the file ends with a PDF trailer (a truncated write does not)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 64))
            return b"%%EOF" in f.read()
    except OSError:
        return False


def export_panel(project: Project, panel_id: str, out: str | os.PathLike,
                 project_path: str | os.PathLike | None = None) -> Path:
    """Write a panel's current image at full resolution (the stored PNG, unchanged)."""
    try:
        _, panel = project.find_panel(panel_id)
    except KeyError:
        raise ExportError(f"no panel {panel_id!r} in the project") from None
    key = panel.image
    if key is None:
        raise ExportError(f"panel {panel_id} has no image")
    path = Path(out)
    check_out(path, project_path)
    return write_one(path, lambda target: _write_bytes(target, project.images[key]))


def export(project: Project, fmt: str, out: str | os.PathLike, dpi: float | None = None,
           bleed: bool = False, project_path: str | os.PathLike | None = None, lossless: bool = False,
           progress: Progress | None = None) -> list[Path]:
    """Export in ``fmt`` (png, pdf or cbz); returns the files written. ``project_path``: the
    project's file, which the output may not be; ``lossless``: PDF art without JPEG compression;
    ``progress``: see :data:`Progress` (a False return cancels, nothing written)."""
    if fmt in ("png", "cbz"):  # raster pages: refuse a dpi too large for the page before writing anything
        check_page_sizes(project, _pages(project, None), float(dpi or project.dpi), bleed)
    if fmt == "png":
        return export_png(project, out, dpi, bleed, project_path=project_path, progress=progress)
    if fmt == "pdf":
        return [export_pdf(project, out, dpi, bleed, project_path=project_path, lossless=lossless, progress=progress)]
    if fmt == "cbz":
        return [export_cbz(project, out, dpi, bleed, project_path=project_path, progress=progress)]
    raise ExportError(f"unknown export format {fmt!r}: use {', '.join(FORMATS)}")


def bleed_px(page: Page, dpi: float) -> int:
    return px(page.bleed_mm, dpi)
