"""Page set-up: the size presets offered by File ▸ New… and Page ▸ Page Setup…, the new project a
set-up makes (the command line's ``new`` makes it the same way), and the mapping that carries a page's
panels and balloons to a new size.

A set-up is a :class:`app.layout.PageSize` (size, bleed, safe area, gutter, print dpi, reading order);
the presets are :data:`app.layout.PAGE_SIZES`:

* A4: 210 × 297 mm, 3 mm bleed.
* B5: Japanese (JIS) B5, 182 × 257 mm (not ISO B5, 176 × 250 mm), 3 mm bleed, 350 dpi, right to left.
* US comic: 6.625 × 10.25 in trim (168.3 × 260.4 mm) with 0.125 in (3.2 mm) bleed.
* Webtoon: 800 px wide at 96 dpi (211.7 mm) by 3200 px (846.7 mm), no bleed.
* Custom: any width and height in mm.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from . import layout
from .lettering import LETTERING_SETTING
from .project import Balloon, Page, Panel, Placement, Point, Project, ReadingOrder, Rect

CUSTOM = "custom"
PRESET_LABELS: dict[str, str] = {
    "A4": "A4 — 210 × 297 mm",
    "B5": "B5 (JIS, manga) — 182 × 257 mm",
    "US-comic": "US comic — 6.625 × 10.25 in (168.3 × 260.4 mm), 0.125 in bleed",
    "webtoon": "Webtoon — 800 px wide at 96 dpi (211.7 × 846.7 mm)",
    CUSTOM: "Custom size (mm)",
}
PAGE_FIELDS = ("width_mm", "height_mm", "size_name", "bleed_mm", "safe_mm", "gutter_mm", "reading_order")


def new_project(size: layout.PageSize, pages: int = 1, template: str | None = None, dpi: int | None = None,
                title: str = "", lettering_pt: float | None = None) -> Project:
    """A new comic of ``pages`` pages of ``size``, each laid out with ``template`` (None: no panels).

    ``dpi`` defaults to the size's; ``lettering_pt`` (None: the default) is stored in the project's
    settings. Raises ValueError for an unknown template or an impossible count."""
    if template and template not in layout.TEMPLATES:
        raise ValueError(f"unknown template {template!r}: use one of {', '.join(layout.TEMPLATES)}")
    if not 1 <= pages <= 1000:
        raise ValueError("a comic has 1 to 1000 pages")
    dpi = int(dpi or size.dpi)
    if not 36 <= dpi <= 2400:
        raise ValueError("dpi must be between 36 and 2400")
    settings = {} if lettering_pt is None else {LETTERING_SETTING: float(lettering_pt)}
    return Project(pages=[layout.new_page(size, template) for _ in range(pages)], dpi=dpi, title=title,
                   settings=settings)


def size_of(page: Page, dpi: int) -> layout.PageSize:
    """The set-up of an existing page (``dpi`` is the project's)."""
    return layout.PageSize(page.size_name, page.width_mm, page.height_mm, bleed_mm=page.bleed_mm,
                           safe_mm=page.safe_mm, gutter_mm=page.gutter_mm, dpi=dpi,
                           reading_order=ReadingOrder(page.reading_order))


def page_fields(size: layout.PageSize) -> dict:
    """The page attributes a set-up gives a page."""
    return {"width_mm": float(size.width_mm), "height_mm": float(size.height_mm), "size_name": size.name,
            "bleed_mm": float(size.bleed_mm), "safe_mm": float(size.safe_mm), "gutter_mm": float(size.gutter_mm),
            "reading_order": ReadingOrder(size.reading_order)}


def validate(size: layout.PageSize) -> None:
    """Reject a set-up no page can have (ValueError with a user-readable message)."""
    if not (10 <= size.width_mm <= 2000 and 10 <= size.height_mm <= 5000):
        raise ValueError(f"page size {size.width_mm:g} × {size.height_mm:g} mm is out of range "
                         "(10–2000 × 10–5000 mm)")
    for label, value in (("bleed", size.bleed_mm), ("safe area", size.safe_mm), ("gutter", size.gutter_mm)):
        if not 0 <= value <= 100:
            raise ValueError(f"{label} must be between 0 and 100 mm")
    if 2 * size.safe_mm >= min(size.width_mm, size.height_mm):
        raise ValueError(f"a {size.safe_mm:g} mm safe area leaves no room on a {size.width_mm:g} × "
                         f"{size.height_mm:g} mm page")


# --- carrying items to a new size ------------------------------------------------------------------------

def _axis_map(old: tuple[float, float, float], new: tuple[float, float, float]) -> Callable[[float], float]:
    """Piecewise-linear map of one axis: (length, bleed, safe margin) old → new.

    The bleed edge, the trim edges and the safe-area edges go to their new places and the
    stretches between them scale, so a panel that bleeds off the page still bleeds and one inside the
    safe area stays inside it; beyond the bleed, distances are kept."""
    (length, bleed, safe), (length2, bleed2, safe2) = old, new
    knots = [(-bleed, -bleed2), (0.0, 0.0), (safe, safe2), (length - safe, length2 - safe2), (length, length2),
             (length + bleed, length2 + bleed2)]
    knots = [k for i, k in enumerate(knots) if i == 0 or k[0] - knots[i - 1][0] > 1e-9]

    def f(v: float) -> float:
        if v <= knots[0][0]:
            return knots[0][1] + (v - knots[0][0])
        for (a, a2), (b, b2) in zip(knots, knots[1:]):
            if v <= b:
                return a2 + (v - a) * (b2 - a2) / (b - a)
        return knots[-1][1] + (v - knots[-1][0])

    return f


def _reflow(v: float, lo: float, hi: float, box_lo: float, box_hi: float, half: float) -> float:
    """Move an interior edge (inside the safe area, not on its border) by ``half`` a gutter change."""
    tol = 0.01
    if lo + tol < v < hi - tol:
        if abs(v - box_lo) < tol:
            return v + half
        if abs(v - box_hi) < tol:
            return v - half
    return v


def scale_page(page: Page, size: layout.PageSize) -> Page:
    """A new page with ``size``'s set-up whose panels and balloons are carried along: trim, bleed and
    safe-area edges go to their new places, the rest scales, and the gaps between panels become the
    new gutter. Balloons keep their lettering size (they grow to fit it when drawn smaller)."""
    fields = page_fields(size)
    new = replace(page, **fields)
    fx = _axis_map((page.width_mm, page.bleed_mm, page.safe_mm), (new.width_mm, new.bleed_mm, new.safe_mm))
    fy = _axis_map((page.height_mm, page.bleed_mm, page.safe_mm), (new.height_mm, new.bleed_mm, new.safe_mm))
    sx = _slope(fx, page.safe_mm, page.width_mm - page.safe_mm)
    sy = _slope(fy, page.safe_mm, page.height_mm - page.safe_mm)
    area = new.safe_rect
    half_x = (new.gutter_mm - page.gutter_mm * sx) / 2
    half_y = (new.gutter_mm - page.gutter_mm * sy) / 2

    def carry(points: list[Point]) -> list[Point]:
        moved = [(fx(x), fy(y)) for x, y in points]
        box = Rect.bounding(moved)
        return [(round(_reflow(x, area.x, area.right, box.x, box.right, half_x), 4),
                 round(_reflow(y, area.y, area.bottom, box.y, box.bottom, half_y), 4)) for x, y in moved]

    new.panels = [_carry_panel(p, carry) for p in page.panels]
    new.balloons = [_carry_balloon(b, fx, fy) for b in page.balloons]
    return new


def _slope(f: Callable[[float], float], a: float, b: float) -> float:
    return (f(b) - f(a)) / (b - a) if b - a > 1e-9 else 1.0


def _carry_panel(panel: Panel, carry: Callable[[list[Point]], list[Point]]) -> Panel:
    old = panel.bbox
    points = carry(list(panel.points))
    box = Rect.bounding(points)
    kx = box.w / old.w if old.w > 0 else 1.0
    ky = box.h / old.h if old.h > 0 else 1.0
    placement = Placement(panel.placement.offset_x * kx, panel.placement.offset_y * ky, panel.placement.scale)
    return replace(panel, points=points, placement=placement)


def _carry_balloon(balloon: Balloon, fx: Callable[[float], float], fy: Callable[[float], float]) -> Balloon:
    r = balloon.rect
    x, y, right, bottom = fx(r.x), fy(r.y), fx(r.right), fy(r.bottom)
    tail = (round(fx(balloon.tail[0]), 4), round(fy(balloon.tail[1]), 4)) if balloon.tail is not None else None
    return replace(balloon, rect=Rect(round(x, 4), round(y, 4), round(right - x, 4), round(bottom - y, 4)),
                   tail=tail)


def lettered_at(page: Page, old_pt: float, new_pt: float) -> Page:
    """The page with the balloons lettered at the project size ``old_pt`` moved to ``new_pt`` (a balloon
    with a size of its own keeps it); the page itself when none is."""
    if not any(abs(b.font_size - old_pt) < 1e-6 for b in page.balloons):
        return page
    return replace(page, balloons=[replace(b, font_size=new_pt) if abs(b.font_size - old_pt) < 1e-6 else b
                                   for b in page.balloons])
