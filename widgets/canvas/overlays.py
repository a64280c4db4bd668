"""Transient canvas overlays: snap guides, the knife line, the rubber rectangle, reading-order numbers."""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsLineItem, QGraphicsRectItem, QStyleOptionGraphicsItem, QWidget

from app.project import Rect

from . import style


def cosmetic_pen(color, width: float = 1.0, dash: bool = False) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)
    if dash:
        pen.setDashPattern([5, 4])
    return pen


class SnapGuideItem(QGraphicsItem):
    """Full-height/width lines where an edge snapped, shown only during a gesture."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(20_000)
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.area = QRectF()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def show_lines(self, xs: list[float], ys: list[float], area: Rect) -> None:
        self.prepareGeometryChange()
        self.xs, self.ys = list(xs), list(ys)
        self.area = QRectF(area.x, area.y, area.w, area.h)
        self.setVisible(bool(xs or ys))
        self.update()

    def clear(self) -> None:
        self.show_lines([], [], Rect(0, 0, 0, 0))

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self.area.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setPen(cosmetic_pen(style.SNAP_LINE, 1))
        for x in self.xs:
            painter.drawLine(QLineF(x, self.area.top(), x, self.area.bottom()))
        for y in self.ys:
            painter.drawLine(QLineF(self.area.left(), y, self.area.right(), y))


def knife_line() -> QGraphicsLineItem:
    item = QGraphicsLineItem()
    item.setPen(cosmetic_pen(style.KNIFE_LINE, 2, dash=True))
    item.setZValue(20_001)
    item.setVisible(False)
    return item


def rubber_rect() -> QGraphicsRectItem:
    item = QGraphicsRectItem()
    item.setPen(cosmetic_pen(style.SELECTION, 1.5, dash=True))
    item.setBrush(style.SELECTION.lighter(190))
    item.setOpacity(0.6)
    item.setZValue(20_001)
    item.setVisible(False)
    return item


class OrderNumberItem(QGraphicsItem):
    """A round screen-sized number at a panel's corner (reading order)."""

    R = 11.0

    def __init__(self, number: int) -> None:
        super().__init__()
        self.number = number
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(19_000)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(-self.R - 1, -self.R - 1, 2 * self.R + 2, 2 * self.R + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(Qt.GlobalColor.white, 1.5))
        painter.setBrush(style.ORDER_BADGE)
        painter.drawEllipse(QPointF(0, 0), self.R, self.R)
        font = QFont()
        font.setPixelSize(12)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(self.boundingRect(), Qt.AlignmentFlag.AlignCenter, str(self.number))
