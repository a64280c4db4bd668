"""Small pictures for the docks: page thumbnails (rendered like the export), card and variant icons."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPixmap

from app.project import Page, Project
from app.render import render_page

PALETTE = ["#0f8b8d", "#7b3fbf", "#d1495b", "#edae49", "#00798c", "#30638e", "#6a994e", "#bc4749"]


def page_thumbnail(project: Project, page: Page, height_px: int = 150) -> QPixmap:
    """The page rendered as the export renders it, ``height_px`` high."""
    dpi = height_px / (page.height_mm / 25.4)
    return QPixmap.fromImage(render_page(project, page, dpi=dpi))


def image_icon(project: Project, key: str | None, size: int = 96) -> QPixmap | None:
    """A square, centre-cropped thumbnail of a stored image."""
    if not key or key not in project.images:
        return None
    image = QImage.fromData(project.images[key])
    if image.isNull():
        return None
    image = image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                         Qt.TransformationMode.SmoothTransformation)
    x, y = (image.width() - size) // 2, (image.height() - size) // 2
    return QPixmap.fromImage(image.copy(x, y, size, size))


def initials_icon(name: str, size: int = 96) -> QPixmap:
    """A coloured tile with a card's initials (a card without reference images)."""
    from .canvas.badges import initials

    pix = QPixmap(size, size)
    pix.fill(QColor(PALETTE[sum(map(ord, name)) % len(PALETTE)]))
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(size // 3)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(Qt.GlobalColor.white)
    painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, initials(name))
    painter.end()
    return pix


def icon(pix: QPixmap) -> QIcon:
    return QIcon(pix)


ICON_SIZE = QSize(72, 72)
