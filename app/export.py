"""Export finished pages: one PNG per page, one multi-page PDF, a CBZ, or one panel's image."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Iterable
from xml.sax.saxutils import escape

from PySide6.QtCore import QMarginsF, QSizeF
from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

from .layout import MM_PER_INCH
from .project import Page, Project
from .qtgui import ensure_gui
from .render import check_page_sizes, paint_page, project_images, px, qimage_to_png, render_page

FORMATS = ("png", "pdf", "cbz")


class ExportError(Exception):
    """An export that cannot be done (one-line message)."""


def page_file_name(index: int, count: int) -> str:
    """``page-001.png``… (zero-padded so that names sort in page order)."""
    return f"page-{index + 1:0{max(3, len(str(count)))}d}.png"


def _pages(project: Project, pages: Iterable[int] | None) -> list[Page]:
    if not project.pages:
        raise ExportError("the project has no pages")
    indices = list(range(len(project.pages))) if pages is None else list(pages)
    return [project.pages[i] for i in indices]


def export_png(project: Project, out_dir: str | os.PathLike, dpi: float | None = None, bleed: bool = False,
               pages: Iterable[int] | None = None) -> list[Path]:
    """Write ``page-001.png``… into ``out_dir`` (created); returns the files written."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    dpi = float(dpi or project.dpi)
    images = project_images(project)
    written = []
    selected = _pages(project, pages)
    for i, page in enumerate(selected):
        target = out / page_file_name(i, len(selected))
        target.write_bytes(qimage_to_png(render_page(project, page, dpi, bleed, images), dpi))
        written.append(target)
    return written


def export_cbz(project: Project, out_file: str | os.PathLike, dpi: float | None = None, bleed: bool = False) -> Path:
    """A comic book archive: page PNGs in reading order (names sort) plus a ComicInfo.xml."""
    out = Path(out_file)
    dpi = float(dpi or project.dpi)
    images = project_images(project)
    selected = _pages(project, None)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for i, page in enumerate(selected):
                png = qimage_to_png(render_page(project, page, dpi, bleed, images), dpi)
                zf.writestr(zipfile.ZipInfo(page_file_name(i, len(selected))), png)  # stored: PNG already
            info = (f'<?xml version="1.0" encoding="utf-8"?>\n<ComicInfo>\n'
                    f'  <Title>{escape(project.title or out.stem)}</Title>\n'
                    f'  <PageCount>{len(selected)}</PageCount>\n'
                    f'  <Manga>{"YesAndRightToLeft" if selected[0].reading_order.value == "rtl" else "No"}</Manga>\n'
                    f'</ComicInfo>\n')
            zf.writestr("ComicInfo.xml", info, compress_type=zipfile.ZIP_DEFLATED)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def export_pdf(project: Project, out_file: str | os.PathLike, dpi: float | None = None, bleed: bool = False) -> Path:
    """One PDF page per comic page at its physical size (trim, or trim plus bleed).

    Pages are drawn as vectors (frames, balloons, text) with the panel images embedded;
    ``dpi`` is the writer's resolution.
    """
    ensure_gui()
    out = Path(out_file)
    dpi = int(round(dpi or project.dpi))
    selected = _pages(project, None)
    images = project_images(project)
    tmp = out.with_name(f".{out.name}.tmp")
    writer = QPdfWriter(str(tmp))
    writer.setResolution(dpi)
    writer.setCreator("Panelsmith")
    writer.setTitle(project.title or out.stem)
    painter = QPainter()
    try:
        for i, page in enumerate(selected):
            box = page.bleed_rect if bleed else page.trim
            layout = QPageLayout(QPageSize(QSizeF(box.w, box.h), QPageSize.Unit.Millimeter, "",
                                           QPageSize.SizeMatchPolicy.ExactMatch),
                                 QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0))
            if i == 0:
                writer.setPageLayout(layout)
                if not painter.begin(writer):
                    raise ExportError(f"cannot write {out}")
            else:
                writer.setPageLayout(layout)
                writer.newPage()
            painter.resetTransform()
            scale = dpi / MM_PER_INCH
            painter.scale(scale, scale)
            painter.translate(-box.x, -box.y)
            paint_page(painter, project, page, images, bleed=bleed)
        painter.end()
        os.replace(tmp, out)
    finally:
        if painter.isActive():
            painter.end()
        tmp.unlink(missing_ok=True)
    return out


def export_panel(project: Project, panel_id: str, out: str | os.PathLike) -> Path:
    """Write a panel's current image at full resolution (the stored PNG, unchanged)."""
    try:
        _, panel = project.find_panel(panel_id)
    except KeyError:
        raise ExportError(f"no panel {panel_id!r} in the project") from None
    key = panel.image
    if key is None:
        raise ExportError(f"panel {panel_id} has no image")
    path = Path(out)
    path.write_bytes(project.images[key])
    return path


def export(project: Project, fmt: str, out: str | os.PathLike, dpi: float | None = None,
           bleed: bool = False) -> list[Path]:
    """Export in ``fmt`` (png, pdf or cbz); returns the files written."""
    if fmt in ("png", "cbz"):  # raster pages: refuse a dpi too large for the page before writing anything
        check_page_sizes(project, _pages(project, None), float(dpi or project.dpi), bleed)
    if fmt == "png":
        return export_png(project, out, dpi, bleed)
    if fmt == "pdf":
        return [export_pdf(project, out, dpi, bleed)]
    if fmt == "cbz":
        return [export_cbz(project, out, dpi, bleed)]
    raise ExportError(f"unknown export format {fmt!r}: use {', '.join(FORMATS)}")


def bleed_px(page: Page, dpi: float) -> int:
    return px(page.bleed_mm, dpi)
