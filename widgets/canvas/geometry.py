"""Small geometry helpers between the model (mm tuples) and Qt (scene units are millimetres)."""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRectF
from PySide6.QtGui import QPainterPath, QPolygonF

from app.project import Placement, Point, Rect
from app.placement import image_frame


def polygon(points: list[Point]) -> QPolygonF:
    return QPolygonF([QPointF(x, y) for x, y in points])


def polygon_path(points: list[Point]) -> QPainterPath:
    path = QPainterPath()
    path.addPolygon(polygon(points))
    path.closeSubpath()
    return path


def qrect(rect: Rect) -> QRectF:
    return QRectF(rect.x, rect.y, rect.w, rect.h)


def model_rect(rect: QRectF) -> Rect:
    r = rect.normalized()
    return Rect(r.x(), r.y(), r.width(), r.height())


def image_rect(box: Rect, image_w: int, image_h: int, placement: Placement) -> QRectF:
    """Where a panel's image lies in page mm (shared math with export: :func:`app.placement.image_frame`)."""
    if image_w <= 0 or image_h <= 0:
        return qrect(box)
    return qrect(image_frame(box, (image_w, image_h), placement).rect)


def scale_points(points: list[Point], old: Rect, new: Rect) -> list[Point]:
    """Map a polygon from one bounding box onto another (resize by handle)."""
    sx = new.w / old.w if old.w else 1.0
    sy = new.h / old.h if old.h else 1.0
    return [(new.x + (x - old.x) * sx, new.y + (y - old.y) * sy) for x, y in points]


def segment_crosses(points: list[Point], a: QPointF, b: QPointF) -> bool:
    """True when the segment a→b crosses the polygon's outline (so a knife cut through it makes sense)."""
    line = QLineF(a, b)
    n = len(points)
    for i in range(n):
        edge = QLineF(QPointF(*points[i]), QPointF(*points[(i + 1) % n]))
        kind, _ = line.intersects(edge)
        if kind == QLineF.IntersectionType.BoundedIntersection:
            return True
    return False


def constrain_angle(a: QPointF, b: QPointF) -> QPointF:
    """Snap the direction a→b to multiples of 45° (Shift while drawing a knife line)."""
    line = QLineF(a, b)
    angle = round(line.angle() / 45.0) * 45.0
    line.setAngle(angle)
    return line.p2()
