"""A small line chart of training loss per step (QPainter; no plotting dependency)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

LINE = QColor("#1e88ff")
GRID = QColor(128, 128, 128, 70)


class LossPlot(QWidget):
    """Loss values against step; the y range follows the data, the x range the planned steps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: list[float] = []
        self.total = 0
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(240, 110)

    def set_values(self, values: list[float], total: int = 0) -> None:
        self.values, self.total = list(values), total
        self.update()

    def add(self, value: float, total: int = 0) -> None:
        self.values.append(value)
        self.total = max(total, len(self.values))
        self.update()

    def points(self, area: QRectF) -> list[QPointF]:
        """Where each value is drawn inside ``area`` (first step left, lowest loss at the bottom)."""
        if not self.values:
            return []
        lo, hi = min(self.values), max(self.values)
        span = hi - lo or 1.0
        steps = max(self.total, len(self.values), 2) - 1
        return [QPointF(area.left() + area.width() * i / steps, area.bottom() - area.height() * (v - lo) / span)
                for i, v in enumerate(self.values)]

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        area = QRectF(self.rect()).adjusted(40, 8, -8, -16)
        painter.setPen(QPen(GRID, 1))
        for i in range(5):
            y = area.top() + area.height() * i / 4
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
        painter.setPen(self.palette().text().color())
        if not self.values:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "loss appears here while training")
            return
        lo, hi = min(self.values), max(self.values)
        painter.drawText(QRectF(0, area.top() - 7, 38, 14), Qt.AlignmentFlag.AlignRight, f"{hi:.3g}")
        painter.drawText(QRectF(0, area.bottom() - 7, 38, 14), Qt.AlignmentFlag.AlignRight, f"{lo:.3g}")
        painter.drawText(QRectF(area.left(), area.bottom() + 2, area.width(), 14), Qt.AlignmentFlag.AlignRight,
                         f"step {len(self.values)}/{max(self.total, len(self.values))}")
        pen = QPen(LINE, 1.6)
        painter.setPen(pen)
        pts = self.points(area)
        if len(pts) == 1:
            painter.drawEllipse(pts[0], 2, 2)
        else:
            painter.drawPolyline(QPolygonF(pts))
