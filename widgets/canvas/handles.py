"""Screen-sized handles: the eight resize grips of a selected item, a panel's corner handles (Edit
Corners mode, roles ``corner:0``, ``corner:1``…) and a balloon's tail tip."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.project import Rect

from . import style

# role -> (fx, fy): which fraction of the box the grip sits at; also which edges it moves
ROLES: dict[str, tuple[float, float]] = {
    "nw": (0, 0), "n": (0.5, 0), "ne": (1, 0), "e": (1, 0.5),
    "se": (1, 1), "s": (0.5, 1), "sw": (0, 1), "w": (0, 0.5),
}
CURSORS = {
    "nw": Qt.CursorShape.SizeFDiagCursor, "se": Qt.CursorShape.SizeFDiagCursor,
    "ne": Qt.CursorShape.SizeBDiagCursor, "sw": Qt.CursorShape.SizeBDiagCursor,
    "n": Qt.CursorShape.SizeVerCursor, "s": Qt.CursorShape.SizeVerCursor,
    "e": Qt.CursorShape.SizeHorCursor, "w": Qt.CursorShape.SizeHorCursor,
}


class HandleItem(QGraphicsItem):
    """A square grip that keeps its size on screen; ``role`` is a compass point or ``"tail"``."""

    def __init__(self, role: str, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.role = role
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(50)
        self.setCursor(CURSORS.get(role, Qt.CursorShape.CrossCursor))

    @property
    def owner_id(self) -> str:
        return self.parentItem().item_id  # type: ignore[union-attr]

    def boundingRect(self) -> QRectF:  # noqa: N802
        s = style.HANDLE_PX / 2 + 3
        return QRectF(-s, -s, 2 * s, 2 * s)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        s = style.HANDLE_PX / 2
        painter.setPen(QPen(style.SELECTION, 1.2))
        painter.setBrush(style.HANDLE_FILL if self.role != "tail" else style.SELECTION)
        if self.role == "tail":
            painter.drawEllipse(QRectF(-s, -s, 2 * s, 2 * s))
        elif self.role.startswith("corner:"):  # a diamond, so corners never look like resize grips
            painter.setBrush(style.CORNER_FILL)
            painter.setPen(QPen(style.CORNER_LINE, 1.5))
            s += 1.5
            painter.drawPolygon(QPolygonF([QPointF(0, -s), QPointF(s, 0), QPointF(0, s), QPointF(-s, 0)]))
        else:
            painter.drawRect(QRectF(-s, -s, 2 * s, 2 * s))


def corner_index(role: str) -> int | None:
    """The corner a ``corner:N`` handle moves, else None."""
    return int(role.split(":", 1)[1]) if role.startswith("corner:") else None


def place_handles(handles: dict[str, HandleItem], box: Rect) -> None:
    for role, (fx, fy) in ROLES.items():
        handles[role].setPos(box.x + box.w * fx, box.y + box.h * fy)


def resized_box(box: Rect, role: str, dx: float, dy: float, keep_aspect: bool = False) -> Rect:
    """The box after dragging grip ``role`` by (dx, dy); never inverted, at least 1 mm."""
    fx, fy = ROLES[role]
    x0, y0, x1, y1 = box.x, box.y, box.right, box.bottom
    if fx == 0:
        x0 = min(x0 + dx, x1 - 1)
    elif fx == 1:
        x1 = max(x1 + dx, x0 + 1)
    if fy == 0:
        y0 = min(y0 + dy, y1 - 1)
    elif fy == 1:
        y1 = max(y1 + dy, y0 + 1)
    if keep_aspect and fx != 0.5 and fy != 0.5 and box.w and box.h:
        s = max((x1 - x0) / box.w, (y1 - y0) / box.h)
        w, h = box.w * s, box.h * s
        if fx == 0:
            x0 = x1 - w
        else:
            x1 = x0 + w
        if fy == 0:
            y0 = y1 - h
        else:
            y1 = y0 + h
    return Rect(x0, y0, x1 - x0, y1 - y0)
