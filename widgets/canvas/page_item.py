"""The page sheet with its bleed, trim and safe-area guides."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.project import Page

from . import style
from .geometry import qrect


class PageItem(QGraphicsItem):
    """Draws the sheet (bleed area, white trim) and, when ``show_guides``, the guide lines."""

    def __init__(self, page: Page) -> None:
        super().__init__()
        self.page = page
        self.show_guides = True
        self.setZValue(-10_000)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_page(self, page: Page) -> None:
        self.prepareGeometryChange()
        self.page = page
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return qrect(self.page.bleed_rect).adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        page = self.page
        bleed, trim = qrect(page.bleed_rect), qrect(page.trim)
        painter.fillRect(bleed, style.BLEED_FILL)
        painter.fillRect(trim, style.PAGE_FILL)
        if not self.show_guides:
            return
        pen = QPen(style.BLEED_LINE, 1)
        pen.setCosmetic(True)
        pen.setStyle(Qt.PenStyle.DotLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if page.bleed_mm > 0:
            painter.drawRect(bleed)
        pen = QPen(style.TRIM_LINE, 1)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawRect(trim)
        pen = QPen(style.SAFE_LINE, 1)
        pen.setCosmetic(True)
        pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRect(qrect(page.safe_rect))
