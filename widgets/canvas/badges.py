"""Small badges on a panel: its bound cards (initials + cw/sw, each with a × to unbind) and, for a
motion panel, a loop badge (▶ and the frame count; no ×)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from . import style

PAD, GAP, HEIGHT, CLOSE_W = 5.0, 4.0, 18.0, 14.0
MOTION_BADGE = QColor(20, 20, 24, 200)


@dataclass
class Badge:
    card_id: str
    label: str  # e.g. "AK 80"
    tooltip: str
    is_style: bool
    motion: bool = False  # the loop badge of an animated panel (not a card: no ×, no unbind)


def motion_badge(frames: int, fps: int) -> Badge:
    """The badge of a panel whose current variant is a loop."""
    return Badge("", f"▶ {frames}", f"Loop: {frames} frames at {fps} fps ({frames / max(fps, 1):.1f} s); plays "
                                   f"while the panel is selected or under the pointer", False, motion=True)


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
            w = PAD + fm.horizontalAdvance(b.label) + PAD + (0 if b.motion else CLOSE_W)
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
            if rect.contains(local) and not badge.motion:
                return badge.card_id, local.x() >= rect.right() - CLOSE_W
        return None

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(self.font)
        for badge, rect in zip(self.badges, self._rects):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(MOTION_BADGE if badge.motion else style.STYLE_BADGE if badge.is_style
                             else style.CHARACTER_BADGE)
            painter.drawRoundedRect(rect, 4, 4)
            painter.setPen(QPen(Qt.GlobalColor.white))
            if badge.motion:
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, badge.label)
                continue
            text_rect = QRectF(rect.x() + PAD, rect.y(), rect.width() - PAD - CLOSE_W, rect.height())
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, badge.label)
            c = QPointF(rect.right() - CLOSE_W / 2 - 1, rect.center().y())
            painter.setPen(QPen(Qt.GlobalColor.white, 1.4))
            d = 3.0
            painter.drawLine(c + QPointF(-d, -d), c + QPointF(d, d))
            painter.drawLine(c + QPointF(-d, d), c + QPointF(d, -d))
