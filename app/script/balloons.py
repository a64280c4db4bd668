"""Lettering placed in a panel: balloon kinds, sizes from the text at the lettering size, reading order
(top-left to bottom-right, mirrored for right-to-left) and tails pointing into the panel."""

from __future__ import annotations

import math

from ..project import Balloon, BalloonKind, Point, Rect, new_id
from .parser import CAPTION, OFF, SFX, SHOUT, THOUGHT, WHISPER, Lettering

MM_PER_PT = 25.4 / 72
PAD_MM = 2.0
DEFAULT_LETTERING_PT = 9.0
LETTERING_SETTING = "lettering_pt"  # Project.settings key: the lettering size in points

# Share of a balloon's box that its text uses (see app.lettering.text_rect).
_TEXT_SHARE = {BalloonKind.SPEECH: 0.70, BalloonKind.THOUGHT: 0.64, BalloonKind.SHOUT: 0.58,
               BalloonKind.WHISPER: 0.70}


def lettering_size(settings: dict) -> float:
    """The project's lettering size (pt): ``settings['lettering_pt']`` or 9 pt."""
    try:
        value = float(settings.get(LETTERING_SETTING, DEFAULT_LETTERING_PT))
    except (TypeError, ValueError):
        return DEFAULT_LETTERING_PT
    return value if 4.0 <= value <= 72.0 else DEFAULT_LETTERING_PT


def balloon_kind(item: Lettering) -> BalloonKind:
    return {CAPTION: BalloonKind.CAPTION, SFX: BalloonKind.SHOUT, SHOUT: BalloonKind.SHOUT,
            THOUGHT: BalloonKind.THOUGHT, WHISPER: BalloonKind.WHISPER}.get(item.kind, BalloonKind.SPEECH)


def has_tail(item: Lettering) -> bool:
    return item.kind not in (CAPTION, SFX, OFF)


def balloon_size(text: str, kind: BalloonKind, size_pt: float, max_w: float, max_h: float) -> tuple[float, float]:
    """A box (mm) that holds ``text`` at ``size_pt`` (an estimate; lettering shrinks what overflows)."""
    em = size_pt * MM_PER_PT
    line_h = em * 1.25
    chars = max(1, len(text))
    text_w_total = chars * em * 0.55
    share = 1.0 if kind == BalloonKind.CAPTION else _TEXT_SHARE[kind]
    pad = 2 * PAD_MM if kind == BalloonKind.CAPTION else 0.0
    widest = max(10.0, (max_w - pad) * share)
    width = min(widest, max(em * 4, math.sqrt(text_w_total * line_h * 3.0)))
    words = text.split() or [""]
    width = min(widest, max(width, max(len(w) for w in words) * em * 0.6))
    lines = math.ceil(text_w_total * 1.12 / width)  # word wrapping wastes some room
    w = width / share + pad
    h = lines * line_h / share + pad
    if kind != BalloonKind.CAPTION:
        h = max(h, w * 0.42)  # an oval, not a sliver
    return round(min(w, max_w), 3), round(min(h, max_h), 3)


def _tail(rect: Rect, panel: Rect, rtl: bool) -> Point | None:
    """A tail tip inside ``panel`` and outside the balloon: below it, else beside it toward the centre."""
    length = max(4.0, min(12.0, rect.h * 0.6))
    margin = 1.0
    toward_right = (rect.x + rect.w / 2) < (panel.x + panel.w / 2)
    below = rect.bottom + length
    if below <= panel.bottom - margin:
        x = rect.x + rect.w * (0.62 if toward_right else 0.38)
        return round(x, 3), round(below, 3)
    y = min(panel.bottom - margin, rect.y + rect.h * 0.8)
    x = rect.right + length if toward_right else rect.x - length
    if panel.x + margin <= x <= panel.right - margin and y > rect.y:
        return round(x, 3), round(y, 3)
    return None


def place(items: list[Lettering], panel: Rect, size_pt: float, rtl: bool, z0: int = 1000) -> list[Balloon]:
    """Balloons for a panel's lettering in reading order inside ``panel`` (page mm)."""
    inner = Rect(panel.x + PAD_MM, panel.y + PAD_MM, max(1.0, panel.w - 2 * PAD_MM), max(1.0, panel.h - 2 * PAD_MM))
    balloons: list[Balloon] = []
    cursor_x = 0.0  # distance from the reading-start edge
    shelf_y = inner.y
    shelf_bottom = inner.y
    step_down = 0.0
    for n, item in enumerate(items):
        kind = balloon_kind(item)
        w, h = balloon_size(item.text, kind, size_pt, inner.w * 0.75, inner.h * 0.6)
        if cursor_x and cursor_x + w > inner.w:  # a new shelf below the last
            cursor_x, shelf_y, step_down = 0.0, shelf_bottom + PAD_MM, 0.0
        y = min(shelf_y + step_down, inner.bottom - h)
        y = max(inner.y, y)
        x = inner.right - cursor_x - w if rtl else inner.x + cursor_x
        rect = Rect(round(x, 3), round(y, 3), w, h)
        tail = _tail(rect, panel, rtl) if has_tail(item) else None
        balloons.append(Balloon(id=new_id("balloon"), kind=kind, rect=rect, text=item.text, tail=tail,
                                font_size=size_pt, z=z0 + n))
        cursor_x += w + PAD_MM
        step_down += h * 0.3  # the next balloon on the shelf sits a little lower: read after this one
        shelf_bottom = max(shelf_bottom, rect.bottom)
    return balloons
