"""Small badges on a panel naming its bound cards (initials + cw/sw), each with a × to unbind."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from . import style

PAD, GAP, HEIGHT, CLOSE_W = 5.0, 4.0, 18.0, 14.0


@dataclass
class Badge:
    card_id: str
    label: str  # e.g. "AK 80"
    tooltip: str
    is_style: bool


def initials(name: str) -> str:
    words = [w for w in name.replace("-", " ").split() if w]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


class BadgeStripItem(QGraphicsItem):
    """A row of badges drawn at screen size at a panel's top-left corner."""

    def __init__(self, owner: QGraphicsItem) -> None:
        super().__init__()  # top-level, so balloons never hide the badges
        self.owner = owner
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(15_000)
        self.font = QFont()
        self.font.setPixelSize(11)
        self.font.setBold(True)
        self.badges: list[Badge] = []
        self._rects: list[QRectF] = []
        self.setAcceptHoverEvents(True)

    def set_badges(self, badges: list[Badge]) -> None:
        self.prepareGeometryChange()
        self.badges = badges
        fm = QFontMetricsF(self.font)
        x = 0.0
        self._rects = []
        for b in badges:
            w = PAD + fm.horizontalAdvance(b.label) + PAD + CLOSE_W
            self._rects.append(QRectF(x, 0, w, HEIGHT))
            x += w + GAP
        self.setVisible(bool(badges))
        self.setToolTip("\n".join(b.tooltip for b in badges))

    def boundingRect(self) -> QRectF:  # noqa: N802
        if not self._rects:
            return QRectF()
        return QRectF(0, 0, self._rects[-1].right(), HEIGHT).adjusted(-1, -1, 1, 1)

    def hit(self, local: QPointF) -> tuple[str, bool] | None:
        """(card id, on the ×) of the badge under ``local``, or None."""
        for badge, rect in zip(self.badges, self._rects):
            if rect.contains(local):
                return badge.card_id, local.x() >= rect.right() - CLOSE_W
        return None

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(self.font)
        for badge, rect in zip(self.badges, self._rects):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(style.STYLE_BADGE if badge.is_style else style.CHARACTER_BADGE)
            painter.drawRoundedRect(rect, 4, 4)
            painter.setPen(QPen(Qt.GlobalColor.white))
            text_rect = QRectF(rect.x() + PAD, rect.y(), rect.width() - PAD - CLOSE_W, rect.height())
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, badge.label)
            c = QPointF(rect.right() - CLOSE_W / 2 - 1, rect.center().y())
            painter.setPen(QPen(Qt.GlobalColor.white, 1.4))
            d = 3.0
            painter.drawLine(c + QPointF(-d, -d), c + QPointF(d, d))
            painter.drawLine(c + QPointF(-d, d), c + QPointF(d, -d))
