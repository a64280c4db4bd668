"""Page presets, panel templates and panel geometry (split, merge, gutter re-flow)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .project import Balloon, Page, Point, Rect, ReadingOrder, new_id

MM_PER_INCH = 25.4


@dataclass(frozen=True)
class PageSize:
    name: str
    width_mm: float
    height_mm: float
    bleed_mm: float
    safe_mm: float
    gutter_mm: float
    dpi: int = 300  # preferred export resolution
    reading_order: ReadingOrder = ReadingOrder.LTR


def _px(px: float, dpi: float) -> float:
    return px / dpi * MM_PER_INCH


PAGE_SIZES: dict[str, PageSize] = {
    "A4": PageSize("A4", 210.0, 297.0, bleed_mm=3.0, safe_mm=10.0, gutter_mm=5.0),
    # Japanese manga/doujin B5 (JIS), 3 mm bleed, 350 dpi, right-to-left.
    "B5": PageSize("B5", 182.0, 257.0, bleed_mm=3.0, safe_mm=10.0, gutter_mm=4.0, dpi=350,
                   reading_order=ReadingOrder.RTL),
    # US comic trim 6.625 × 10.25 in; bleed 0.125 in gives 6.875 × 10.5 in.
    "US-comic": PageSize("US-comic", 6.625 * MM_PER_INCH, 10.25 * MM_PER_INCH,
                         bleed_mm=0.125 * MM_PER_INCH, safe_mm=0.25 * MM_PER_INCH, gutter_mm=4.0),
    # Webtoon: an 800 px wide vertical strip segment (800 × 3200 px at 96 dpi), no bleed.
    "webtoon": PageSize("webtoon", _px(800, 96), _px(3200, 96), bleed_mm=0.0, safe_mm=_px(40, 96),
                        gutter_mm=_px(60, 96), dpi=96),
}

_CUSTOM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[xX×]\s*(\d+(?:\.\d+)?)\s*mm\s*$")


def parse_page_size(text: str) -> PageSize:
    """A preset name (case-insensitive) or a custom size like ``150x200mm``."""
    for name, size in PAGE_SIZES.items():
        if name.lower() == text.strip().lower():
            return size
    m = _CUSTOM.match(text)
    if not m:
        raise ValueError(f"unknown page size {text!r}: use {', '.join(PAGE_SIZES)} or WxHmm such as 150x200mm")
    w, h = float(m.group(1)), float(m.group(2))
    if not (10 <= w <= 2000 and 10 <= h <= 5000):
        raise ValueError(f"page size {w:g} × {h:g} mm is out of range (10–2000 × 10–5000 mm)")
    return PageSize("custom", w, h, bleed_mm=3.0, safe_mm=min(10.0, w / 10, h / 10), gutter_mm=5.0)


def new_page(size: PageSize, template: str | None = None) -> Page:
    page = Page(id=new_id("page"), width_mm=size.width_mm, height_mm=size.height_mm, size_name=size.name,
                bleed_mm=size.bleed_mm, safe_mm=size.safe_mm, gutter_mm=size.gutter_mm,
                reading_order=size.reading_order)
    if template:
        page.panels = template_panels(page, template)
        page.template = template
    return page


# A template is a list of rows; each row has a relative height and relative cell widths.
TEMPLATES: dict[str, list[tuple[float, list[float]]]] = {
    "splash": [(1, [1])],
    "2-tier": [(1, [1]), (1, [1])],
    "3-tier": [(1, [1]), (1, [1]), (1, [1])],
    "grid-2x2": [(1, [1, 1]), (1, [1, 1])],
    "grid-2x3": [(1, [1, 1]), (1, [1, 1]), (1, [1, 1])],
    # A classic manga page: wide establishing panel, two side by side, a wide one, two unequal.
    "manga-5": [(1.1, [1]), (1, [1.4, 1]), (1, [1, 1.6])],
    "4-tier": [(1, [1]), (1, [1]), (1, [1]), (1, [1])],
    "grid-3x3": [(1, [1, 1, 1]), (1, [1, 1, 1]), (1, [1, 1, 1])],
}


def template_rects(area: Rect, template: str, gutter: float) -> list[Rect]:
    try:
        rows = TEMPLATES[template]
    except KeyError:
        raise ValueError(f"unknown template {template!r}: use one of {', '.join(TEMPLATES)}") from None
    return row_rects(area, rows, gutter)


def row_rects(area: Rect, rows: list[tuple[float, list[float]]], gutter: float) -> list[Rect]:
    """Cells of rows (relative height, relative cell widths) filling ``area`` with ``gutter`` between them."""
    total_h = area.h - gutter * (len(rows) - 1)
    weight_h = sum(r[0] for r in rows)
    rects: list[Rect] = []
    y = area.y
    for rel_h, cells in rows:
        h = total_h * rel_h / weight_h
        total_w = area.w - gutter * (len(cells) - 1)
        x = area.x
        for rel_w in cells:
            w = total_w * rel_w / sum(cells)
            rects.append(Rect(x, y, w, h))
            x += w + gutter
        y += h + gutter
    return rects


def template_panels(page: Page, template: str) -> list:
    from .project import Panel

    rects = template_rects(page.safe_rect, template, page.gutter_mm)
    return [Panel(id=new_id("panel"), points=r.points(), z=i) for i, r in enumerate(rects)]


# --- polygon geometry -------------------------------------------------------------------------

def _clip_half_plane(poly: list[Point], a: Point, n: Point, offset: float) -> list[Point]:
    """Keep the part of ``poly`` where dot(p - a, n) >= offset (Sutherland–Hodgman, one edge)."""
    def side(p: Point) -> float:
        return (p[0] - a[0]) * n[0] + (p[1] - a[1]) * n[1] - offset

    out: list[Point] = []
    for i, cur in enumerate(poly):
        prev = poly[i - 1]
        sc, sp = side(cur), side(prev)
        if sc >= 0:
            if sp < 0:
                out.append(_lerp(prev, cur, sp / (sp - sc)))
            out.append(cur)
        elif sp >= 0:
            out.append(_lerp(prev, cur, sp / (sp - sc)))
    return _dedupe(out)


def _lerp(p: Point, q: Point, t: float) -> Point:
    return (round(p[0] + (q[0] - p[0]) * t, 6), round(p[1] + (q[1] - p[1]) * t, 6))


def _dedupe(points: list[Point]) -> list[Point]:
    out: list[Point] = []
    for p in points:
        if not out or math.dist(out[-1], p) > 1e-6:
            out.append(p)
    if len(out) > 1 and math.dist(out[0], out[-1]) <= 1e-6:
        out.pop()
    return out


def polygon_area(points: list[Point]) -> float:
    return abs(sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(points, points[1:] + points[:1]))) / 2


def split_polygon(points: list[Point], a: Point, b: Point, gutter: float) -> tuple[list[Point], list[Point]]:
    """Cut a convex polygon along the line a→b, leaving ``gutter`` mm between the two halves.

    The upper (or, for a vertical cut, the left) piece comes first.

    Raises ValueError when the line does not cross the polygon with room for both halves.
    """
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    if length < 1e-6:
        raise ValueError("the cut line is too short")
    n = (-dy / length, dx / length)
    left = _clip_half_plane(points, a, n, gutter / 2)
    right = _clip_half_plane(points, a, (-n[0], -n[1]), gutter / 2)
    if len(left) < 3 or len(right) < 3 or polygon_area(left) < 1.0 or polygon_area(right) < 1.0:
        raise ValueError("the cut does not cross the panel with room for the gutter")
    first, second = sorted((_normalize_rect(left), _normalize_rect(right)),
                           key=lambda pts: (round(Rect.bounding(pts).y, 3), Rect.bounding(pts).x))
    return first, second  # top (or left) piece first


def _normalize_rect(points: list[Point]) -> list[Point]:
    """Return an axis-aligned rectangle's points in canonical order (so ``Panel.is_rect`` holds)."""
    box = Rect.bounding(points)
    if len(points) == 4 and set(map(_rounded, points)) == set(map(_rounded, box.points())):
        return box.points()
    return points


def _rounded(p: Point) -> Point:
    return (round(p[0], 4), round(p[1], 4))


def convex_hull(points: list[Point]) -> list[Point]:
    """Monotone-chain convex hull, clockwise in screen coordinates (y down)."""
    pts = sorted(set(map(_rounded, points)))
    if len(pts) <= 2:
        return pts

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Point] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Point] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return _normalize_rect(lower[:-1] + upper[:-1])


def merge_polygons(polys: list[list[Point]]) -> list[Point]:
    """The merged frame of several panels: the convex hull of their corners."""
    return convex_hull([p for poly in polys for p in poly])


def reflow_gutter(points: list[Point], area: Rect, old_gutter: float, new_gutter: float) -> list[Point]:
    """Move a panel's interior edges so that gaps of ``old_gutter`` become ``new_gutter``.

    Edges lying on the safe-area boundary stay put; each interior edge moves by half the change,
    so two neighbours keep sharing the gap evenly.
    """
    half = (new_gutter - old_gutter) / 2
    box = Rect.bounding(points)
    tol = 0.01

    def move(v: float, lo: float, hi: float, box_lo: float, box_hi: float) -> float:
        if abs(v - box_lo) < tol and abs(v - lo) > tol:
            return v + half
        if abs(v - box_hi) < tol and abs(v - hi) > tol:
            return v - half
        return v

    return [(move(x, area.x, area.right, box.x, box.right), move(y, area.y, area.bottom, box.y, box.bottom))
            for x, y in points]


def validate_geometry(points: list[Point], page: Page) -> None:
    """Reject absurd geometry (non-finite, degenerate or far off the page)."""
    if len(points) < 3 or len(points) > 64:
        raise ValueError("a panel needs 3 to 64 corner points")
    limit = 10 * max(page.width_mm, page.height_mm)
    for x, y in points:
        if not (math.isfinite(x) and math.isfinite(y)) or abs(x) > limit or abs(y) > limit:
            raise ValueError(f"panel corner ({x}, {y}) is off the page")
    if polygon_area(points) < 0.25:
        raise ValueError("panel is too small (under 0.25 mm²)")


# --- simple polygons (corner editing) ---------------------------------------------------------------

def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Point, b: Point, p: Point, eps: float) -> bool:
    return (min(a[0], b[0]) - eps <= p[0] <= max(a[0], b[0]) + eps
            and min(a[1], b[1]) - eps <= p[1] <= max(a[1], b[1]) + eps)


def segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point, eps: float = 1e-9) -> bool:
    """True when the closed segments p1–p2 and q1–q2 share a point (touching counts)."""
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    if ((d1 > eps and d2 < -eps) or (d1 < -eps and d2 > eps)) and \
            ((d3 > eps and d4 < -eps) or (d3 < -eps and d4 > eps)):
        return True
    return ((abs(d1) <= eps and _on_segment(q1, q2, p1, eps)) or (abs(d2) <= eps and _on_segment(q1, q2, p2, eps))
            or (abs(d3) <= eps and _on_segment(p1, p2, q1, eps)) or (abs(d4) <= eps and _on_segment(p1, p2, q2, eps)))


def self_intersects(points: list[Point]) -> bool:
    """True when the closed polygon's outline crosses or touches itself (a bow tie, a fold-back edge,
    a corner lying on another edge). Neighbouring edges may only share their common corner."""
    n = len(points)
    if n < 3:
        return True
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        a, b = edges[i]
        for j in range(i + 1, n):
            c, d = edges[j]
            if j == i + 1 or (i == 0 and j == n - 1):
                # neighbours share one corner: they must not fold back onto each other
                shared, p, q = (b, a, d) if j == i + 1 else (a, b, c)
                u, v = (p[0] - shared[0], p[1] - shared[1]), (q[0] - shared[0], q[1] - shared[1])
                cross = u[0] * v[1] - u[1] * v[0]
                dot = u[0] * v[0] + u[1] * v[1]
                if abs(cross) <= 1e-9 * max(1.0, math.hypot(*u) * math.hypot(*v)) and dot > 0:
                    return True
                continue
            if segments_intersect(a, b, c, d):
                return True
    return False


def validate_polygon(points: list[Point], page: Page, min_edge_mm: float = 0.5) -> None:
    """:func:`validate_geometry` plus shape checks for an edited outline: no corner on top of its
    neighbour and no self-intersection (raises ValueError with a user-readable message)."""
    n = len(points)
    if 3 <= n <= 64 and all(math.isfinite(v) for p in points for v in p):
        for i in range(n):
            if math.dist(points[i], points[(i + 1) % n]) < min_edge_mm:
                raise ValueError("two corners would lie on top of each other")
        if self_intersects(points):  # before the area check: a bow tie's signed areas cancel out
            raise ValueError("the panel's outline would cross itself")
    validate_geometry(points, page)


def panel_of_balloon(page: Page, balloon: Balloon) -> str | None:
    """The id of the topmost panel whose box holds the balloon's centre, or None."""
    cx, cy = balloon.rect.x + balloon.rect.w / 2, balloon.rect.y + balloon.rect.h / 2
    for panel in sorted(page.panels, key=lambda p: p.z, reverse=True):
        box = panel.bbox
        if box.x <= cx <= box.right and box.y <= cy <= box.bottom:
            return panel.id
    return None
