"""Balloon outline and painting: ``app.lettering`` when present (so canvas == export), else a stand-in."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QPainter, QPainterPath, QPen

from app.project import Balloon, BalloonKind

try:  # the lettering module belongs to another engineer; use it as soon as it exists
    from app import lettering as _lettering
except ImportError:  # pragma: no cover - depends on the checkout
    _lettering = None


def balloon_path(balloon: Balloon) -> QPainterPath:
    if _lettering is not None:
        return _lettering.balloon_path(balloon)
    return _fallback_path(balloon)


def paint_balloon(painter: QPainter, balloon: Balloon) -> None:
    if _lettering is not None:
        _lettering.paint_balloon(painter, balloon)
    else:
        _fallback_paint(painter, balloon)


def lettering_font(family: str, size_pt: float) -> QFont:
    if _lettering is not None and hasattr(_lettering, "lettering_font"):
        return _lettering.lettering_font(family, size_pt)
    font = QFont(family or "Sans Serif")
    font.setPointSizeF(size_pt)
    return font


def text_rect(balloon: Balloon) -> QRectF:
    """The box (page mm) the balloon's text is laid out in."""
    if _lettering is not None and hasattr(_lettering, "text_rect"):
        return _lettering.text_rect(balloon)
    r = balloon.rect
    inset = 0.05 if balloon.kind == BalloonKind.CAPTION else 0.16
    return QRectF(r.x + r.w * inset, r.y + r.h * inset, r.w * (1 - 2 * inset), r.h * (1 - 2 * inset))


# --- stand-in (only used until app.lettering exists) ---------------------------------------------

def _fallback_path(b: Balloon) -> QPainterPath:
    r = QRectF(b.rect.x, b.rect.y, b.rect.w, b.rect.h)
    path = QPainterPath()
    if b.kind == BalloonKind.CAPTION:
        path.addRect(r)
        return path
    if b.kind == BalloonKind.SHOUT:
        c, n = r.center(), 18
        for i in range(2 * n):
            a = math.pi * i / n
            k = 0.5 if i % 2 == 0 else 0.36
            p = QPointF(c.x() + math.cos(a) * r.width() * k * 1.1, c.y() + math.sin(a) * r.height() * k * 1.1)
            path.lineTo(p) if i else path.moveTo(p)
        path.closeSubpath()
    else:
        path.addEllipse(r)
    if b.tail and b.kind == BalloonKind.SPEECH:
        c = r.center()
        tip = QPointF(*b.tail)
        d = tip - c
        length = math.hypot(d.x(), d.y()) or 1
        nx, ny = -d.y() / length, d.x() / length
        w = min(r.width(), r.height()) * 0.15
        tail = QPainterPath()
        tail.moveTo(c + QPointF(nx * w, ny * w))
        tail.lineTo(tip)
        tail.lineTo(c - QPointF(nx * w, ny * w))
        tail.closeSubpath()
        path = path.united(tail)
    return path.simplified()


def _fallback_paint(painter: QPainter, b: Balloon) -> None:
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(Qt.GlobalColor.black, 0.35))
    painter.setBrush(Qt.GlobalColor.white)
    painter.drawPath(_fallback_path(b))
    if b.tail and b.kind == BalloonKind.THOUGHT:
        c = QPointF(b.rect.x + b.rect.w / 2, b.rect.y + b.rect.h / 2)
        tip = QPointF(*b.tail)
        for i, t in enumerate((0.55, 0.75, 0.92)):
            p = c + (tip - c) * t
            s = 2.4 - i * 0.6
            painter.drawEllipse(p, s, s)
    font = QFont(b.font or "Sans Serif")
    font.setPixelSize(max(1, round(b.font_size * 0.3528)))  # pt → mm
    painter.setFont(font)
    inset = 0.18 if b.kind != BalloonKind.CAPTION else 0.05
    r = QRectF(b.rect.x + b.rect.w * inset, b.rect.y + b.rect.h * inset,
               b.rect.w * (1 - 2 * inset), b.rect.h * (1 - 2 * inset))
    painter.drawText(r, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, b.text)
    painter.restore()
