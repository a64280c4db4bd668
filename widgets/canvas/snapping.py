"""Snapping of moving/drawn edges to page guides, other panels' edges and gutter distances.

Pure geometry: given the edges that move and the target lines, find the smallest correction within
a threshold, and report which lines were hit so the view can draw a snap guide.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.lettering import fitted_rect
from app.project import Page, Rect


@dataclass
class SnapTargets:
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)


@dataclass
class SnapResult:
    dx: float = 0.0
    dy: float = 0.0
    guide_xs: list[float] = field(default_factory=list)
    guide_ys: list[float] = field(default_factory=list)


def page_targets(page: Page, exclude: set[str] = frozenset()) -> SnapTargets:
    """Trim, bleed and safe-area lines; other panels' edges and those edges ± the gutter."""
    t = SnapTargets()
    for r in (page.trim, page.safe_rect, page.bleed_rect):
        t.xs += [r.x, r.right, r.x + r.w / 2]
        t.ys += [r.y, r.bottom, r.y + r.h / 2]
    g = page.gutter_mm
    for panel in page.panels:
        if panel.id in exclude:
            continue
        b = panel.bbox
        t.xs += [b.x, b.right, b.x - g, b.right + g]
        t.ys += [b.y, b.bottom, b.y - g, b.bottom + g]
    for balloon in page.balloons:
        if balloon.id not in exclude:
            b = fitted_rect(balloon)
            t.xs += [b.x, b.right]
            t.ys += [b.y, b.bottom]
    return t


def _best(values: list[float], targets: list[float], threshold: float) -> tuple[float, list[float]]:
    best: float | None = None
    for v in values:
        for t in targets:
            d = t - v
            if abs(d) <= threshold and (best is None or abs(d) < abs(best) - 1e-9):
                best = d
    if best is None:
        return 0.0, []
    hits = sorted({t for v in values for t in targets if abs(t - (v + best)) < 1e-6})
    return best, hits


def snap_box(box: Rect, targets: SnapTargets, threshold: float, edges_x: tuple[str, ...] = ("l", "c", "r"),
             edges_y: tuple[str, ...] = ("t", "c", "b")) -> SnapResult:
    """Correction (dx, dy) that brings the box's chosen edges onto the nearest targets."""
    xs = {"l": box.x, "c": box.x + box.w / 2, "r": box.right}
    ys = {"t": box.y, "c": box.y + box.h / 2, "b": box.bottom}
    dx, gx = _best([xs[e] for e in edges_x], targets.xs, threshold)
    dy, gy = _best([ys[e] for e in edges_y], targets.ys, threshold)
    return SnapResult(dx, dy, gx, gy)


def snap_point(x: float, y: float, targets: SnapTargets, threshold: float) -> SnapResult:
    dx, gx = _best([x], targets.xs, threshold)
    dy, gy = _best([y], targets.ys, threshold)
    return SnapResult(dx, dy, gx, gy)
