"""Balloon shapes and lettering, shared by the canvas and the exporters (QtGui only, no widgets).

Everything works in page millimetres: :func:`balloon_path` returns the outline in page mm and
:func:`paint_balloon` expects a painter already scaled so that 1 unit = 1 mm. Text is laid out with
a font at a fixed reference pixel size and then scaled, so the line breaks are the same on screen,
in PNG and in PDF, at any zoom or dpi.

Lettering keeps its size: a balloon's text is always set at ``balloon.font_size`` (the project's
lettering size by default). A balloon too small for its text is drawn grown about its centre, keeping
its proportions (:func:`fitted_rect`), as Clip Studio Paint's balloons grow while you type; the text
never shrinks, so every balloon on a page is lettered at the same size.
"""

from __future__ import annotations

import math
import random
import zlib
from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase, QPainter, QPainterPath, QPen, QTextLayout, QTextOption

from .project import Balloon, BalloonKind, Point, Rect
from .qtgui import ensure_gui

FONTS_DIR = Path(__file__).resolve().parent.parent / "resources" / "fonts"
BUNDLED_FAMILY = "Comic Neue"  # SIL Open Font License 1.1, see resources/fonts/ComicNeue-LICENSE.txt
OUTLINE_MM = 0.35
MIN_FONT_PT = 4.0
MAX_FONT_PT = 72.0
DEFAULT_LETTERING_PT = 9.0
LETTERING_SETTING = "lettering_pt"  # key in Project.settings: the size new balloons are lettered at
MM_PER_PT = 25.4 / 72
_REF_PX = 100  # layout font size in layout units; scaled to the wanted size when drawing

_loaded_families: list[str] | None = None


def _load_bundled_fonts() -> list[str]:
    """Register the fonts in resources/fonts with Qt (once); returns their family names."""
    global _loaded_families
    if _loaded_families is None:
        ensure_gui()
        families: list[str] = []
        for path in sorted(FONTS_DIR.glob("*.[ot]tf")):
            font_id = QFontDatabase.addApplicationFont(str(path))
            if font_id >= 0:
                families += [f for f in QFontDatabase.applicationFontFamilies(font_id) if f not in families]
        _loaded_families = families
    return _loaded_families


def lettering_font(family: str = "", size_pt: float = 9.0) -> QFont:
    """The lettering font: ``family`` if given, else the bundled comic font, at ``size_pt`` points."""
    families = _load_bundled_fonts()
    font = QFont(family or (BUNDLED_FAMILY if BUNDLED_FAMILY in families else (families or [""])[0]))
    font.setPointSizeF(max(0.5, float(size_pt)))
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    font.setKerning(True)
    return font


def project_lettering_pt(settings: dict) -> float:
    """The project's lettering size in pt (``settings["lettering_pt"]``), or the default if unset or
    out of range."""
    value = settings.get(LETTERING_SETTING) if isinstance(settings, dict) else None
    try:
        size = float(value)
    except (TypeError, ValueError):
        return DEFAULT_LETTERING_PT
    return size if MIN_FONT_PT <= size <= MAX_FONT_PT else DEFAULT_LETTERING_PT


def bundled_families() -> list[str]:
    """Family names of the fonts shipped in resources/fonts."""
    return list(_load_bundled_fonts())


# --- shapes ---------------------------------------------------------------------------------------------

def balloon_path(balloon: Balloon) -> QPainterPath:
    """Outline of a balloon in page mm: speech (and whisper) oval with tail, thought cloud, caption box, shout burst."""
    r = fitted_rect(balloon)
    tail = tuple(balloon.tail) if balloon.tail is not None else None
    return QPainterPath(_cached_path(BalloonKind(balloon.kind).value, (r.x, r.y, r.w, r.h), tail,
                                     zlib.crc32(balloon.id.encode())))


@lru_cache(maxsize=512)
def _cached_path(kind: str, rect: tuple[float, float, float, float], tail: Point | None, seed: int) -> QPainterPath:
    x, y, w, h = rect
    if kind == BalloonKind.CAPTION.value:
        path = QPainterPath()
        path.addRect(QRectF(x, y, w, h))
        return path
    if kind == BalloonKind.THOUGHT.value:
        return _thought_path(x, y, w, h, tail)
    if kind == BalloonKind.SHOUT.value:
        return _shout_path(x, y, w, h, tail, seed)
    return _speech_path(x, y, w, h, tail)


def _inside_ellipse(cx: float, cy: float, a: float, b: float, p: Point) -> bool:
    return ((p[0] - cx) / a) ** 2 + ((p[1] - cy) / b) ** 2 <= 1.0


def _ellipse_point(cx: float, cy: float, a: float, b: float, t: float, k: float = 1.0) -> QPointF:
    return QPointF(cx + a * k * math.cos(t), cy + b * k * math.sin(t))


def _speech_path(x: float, y: float, w: float, h: float, tail: Point | None) -> QPainterPath:
    path = QPainterPath()
    path.addEllipse(QRectF(x, y, w, h))
    cx, cy, a, b = x + w / 2, y + h / 2, w / 2, h / 2
    if tail is None or _inside_ellipse(cx, cy, a, b, tail):
        return path
    t = math.atan2((tail[1] - cy) / b, (tail[0] - cx) / a)
    spread = 0.18 + 0.1 * min(a, b) / max(a, b)
    p1 = _ellipse_point(cx, cy, a, b, t - spread, 0.9)
    p2 = _ellipse_point(cx, cy, a, b, t + spread, 0.9)
    tip = QPointF(*tail)
    # A slightly curved wedge: both sides bow the same way, like a hand-drawn tail.
    mid1 = (p1 + tip) / 2
    mid2 = (p2 + tip) / 2
    bend = QPointF(-(tip.y() - cy), tip.x() - cx)
    length = math.hypot(bend.x(), bend.y()) or 1.0
    bend = bend * (0.06 * min(w, h) / length)
    wedge = QPainterPath(p1)
    wedge.quadTo(mid1 + bend, tip)
    wedge.quadTo(mid2 + bend, p2)
    wedge.closeSubpath()
    return path.united(wedge).simplified()


def _thought_path(x: float, y: float, w: float, h: float, tail: Point | None) -> QPainterPath:
    cx, cy, a, b = x + w / 2, y + h / 2, w / 2, h / 2
    perimeter = math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))
    n = max(8, min(24, round(perimeter / max(1.0, min(w, h) * 0.35))))
    bump = perimeter / n * 0.62
    ka, kb = max(a - bump * 0.55, a * 0.4), max(b - bump * 0.55, b * 0.4)
    path = QPainterPath()
    path.addEllipse(QPointF(cx, cy), ka, kb)
    for i in range(n):
        t = 2 * math.pi * i / n
        c = QPointF(cx + ka * math.cos(t), cy + kb * math.sin(t))
        bubble = QPainterPath()
        bubble.addEllipse(c, bump * 0.62, bump * 0.62)
        path = path.united(bubble)
    path = path.simplified()
    if tail is not None and not _inside_ellipse(cx, cy, a, b, tail):
        t = math.atan2((tail[1] - cy) / b, (tail[0] - cx) / a)
        edge = _ellipse_point(cx, cy, a, b, t)
        base = min(w, h)
        for frac, radius in ((0.22, 0.09), (0.55, 0.065), (0.88, 0.04)):
            c = edge + (QPointF(*tail) - edge) * frac
            path.addEllipse(c, base * radius, base * radius)
    return path


def _shout_path(x: float, y: float, w: float, h: float, tail: Point | None, seed: int) -> QPainterPath:
    cx, cy, a, b = x + w / 2, y + h / 2, w / 2, h / 2
    perimeter = math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))
    n = max(12, min(28, round(perimeter / 9.0)))
    rng = random.Random(seed)
    tail_i = None
    if tail is not None and not _inside_ellipse(cx, cy, a, b, tail):
        t_tail = math.atan2((tail[1] - cy) / b, (tail[0] - cx) / a) % (2 * math.pi)
        tail_i = round(t_tail / (2 * math.pi / n)) % n
    points: list[QPointF] = []
    for i in range(n):
        t = 2 * math.pi * i / n
        if i == tail_i:
            points.append(QPointF(*tail))
        else:
            points.append(_ellipse_point(cx, cy, a, b, t, rng.uniform(0.9, 1.04)))
        t_in = t + math.pi / n
        points.append(_ellipse_point(cx, cy, a, b, t_in, rng.uniform(0.72, 0.8)))
    path = QPainterPath(points[0])
    for p in points[1:]:
        path.lineTo(p)
    path.closeSubpath()
    return path


# --- text ----------------------------------------------------------------------------------------------

def _text_box(kind: BalloonKind, x: float, y: float, w: float, h: float) -> QRectF:
    if kind == BalloonKind.CAPTION:
        pad = min(2.0, w * 0.08, h * 0.15)
        return QRectF(x + pad, y + pad, max(0.1, w - 2 * pad), max(0.1, h - 2 * pad))
    k = {BalloonKind.SPEECH: 0.70, BalloonKind.WHISPER: 0.70, BalloonKind.THOUGHT: 0.64, BalloonKind.SHOUT: 0.58}[kind]
    return QRectF(x + (w - w * k) / 2, y + (h - h * k) / 2, w * k, h * k)


def text_rect(balloon: Balloon) -> QRectF:
    """The box, in page mm, that the balloon's text is set in (inside the grown outline)."""
    r = fitted_rect(balloon)
    return _text_box(BalloonKind(balloon.kind), r.x, r.y, r.w, r.h)


def fitted_rect(balloon: Balloon) -> Rect:
    """The balloon as drawn: its rect, grown about its centre with the same proportions just enough
    for the text to fit at ``balloon.font_size``; the rect itself when the text already fits."""
    r = balloon.rect
    grow = _growth(balloon.text, balloon.font, BalloonKind(balloon.kind).value, float(balloon.font_size),
                   round(r.w, 4), round(r.h, 4))
    if grow == 1.0:
        return r
    w, h = r.w * grow, r.h * grow
    return Rect(r.x + (r.w - w) / 2, r.y + (r.h - h) / 2, w, h)


@lru_cache(maxsize=2048)
def _growth(text: str, family: str, kind: str, size_pt: float, w: float, h: float) -> float:
    """The smallest scale (>= 1, to 0.1 %) at which a ``w`` x ``h`` balloon holds ``text`` at ``size_pt``."""
    if not text.strip() or w <= 0 or h <= 0:
        return 1.0
    k = BalloonKind(kind)
    font = _layout_font(family, k == BalloonKind.SHOUT)

    def fits(scale: float) -> bool:
        box = _text_box(k, 0.0, 0.0, w * scale, h * scale)
        return _fits(text, font, size_pt, box.width(), box.height())

    if fits(1.0):
        return 1.0
    lo, hi = 1.0, 2.0
    while not fits(hi):
        lo, hi = hi, hi * 2
        if hi > 4096:
            return hi
    while hi - lo > 1e-3:
        mid = (lo + hi) / 2
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return round(hi, 4)


def _layout_font(family: str, bold: bool) -> QFont:
    font = lettering_font(family)
    font.setPixelSize(_REF_PX)
    font.setBold(bold)
    return font


def _layout(text: str, font: QFont, width: float, anywhere: bool) -> tuple[QTextLayout, float, float]:
    """Lay out centred lines ``width`` units wide; returns (layout, height, widest line)."""
    layout = QTextLayout(text.replace("\r\n", "\n").replace("\n", "\u2028"), font)
    option = QTextOption(Qt.AlignmentFlag.AlignHCenter)
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere if anywhere
                       else QTextOption.WrapMode.WordWrap)
    layout.setTextOption(option)
    layout.beginLayout()
    y = 0.0
    widest = 0.0
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        line.setPosition(QPointF(0, y))
        y += line.height()
        widest = max(widest, line.naturalTextWidth())
    layout.endLayout()
    return layout, y, widest


def fitted_font_size(balloon: Balloon) -> float:
    """The size the text is set at: always ``balloon.font_size`` (the balloon grows, the text never
    shrinks)."""
    return float(balloon.font_size)


def _fits(text: str, font: QFont, size_pt: float, box_w: float, box_h: float) -> bool:
    k = size_pt * MM_PER_PT / _REF_PX
    width = box_w / k
    _, height, widest = _layout(text, font, width, anywhere=False)
    return height * k <= box_h + 1e-6 and widest <= width + 1e-6


def paint_text(painter: QPainter, balloon: Balloon, color: QColor | None = None) -> float:
    """Draw the balloon's text, wrapped and centred at its size; returns the size used (pt)."""
    if not balloon.text.strip():
        return float(balloon.font_size)
    size = fitted_font_size(balloon)
    box = text_rect(balloon)
    bold = BalloonKind(balloon.kind) == BalloonKind.SHOUT
    font = _layout_font(balloon.font, bold)
    k = size * MM_PER_PT / _REF_PX
    layout, height, _ = _layout(balloon.text, font, box.width() / k, anywhere=True)
    painter.save()
    painter.setPen(QPen(color or QColor(Qt.GlobalColor.black)))
    painter.translate(box.x(), box.y() + max(0.0, (box.height() - height * k) / 2))
    painter.scale(k, k)
    layout.draw(painter, QPointF(0, 0))
    painter.restore()
    return size


def paint_balloon(painter: QPainter, balloon: Balloon) -> None:
    """Draw a balloon (white fill, black outline, text at its size); the painter is in page mm."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    pen = QPen(QColor(Qt.GlobalColor.black), OUTLINE_MM)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    if BalloonKind(balloon.kind) == BalloonKind.WHISPER:
        pen.setDashPattern([4.0, 3.0])
    painter.setPen(pen)
    painter.setBrush(QBrush(QColor(Qt.GlobalColor.white)))
    painter.drawPath(balloon_path(balloon))
    painter.restore()
    paint_text(painter, balloon)


def balloon_bounds(balloon: Balloon) -> Rect:
    """Bounding box of the drawn balloon in page mm (tail and outline included)."""
    r = balloon_path(balloon).boundingRect().adjusted(-OUTLINE_MM, -OUTLINE_MM, OUTLINE_MM, OUTLINE_MM)
    return Rect(r.x(), r.y(), r.width(), r.height())
