"""Panel frames for a script page: a layout chosen from the panel count, shaped by wide, tall and inset
panels, mirrored for right-to-left reading."""

from __future__ import annotations

import math

from .. import layout
from ..project import Point, Rect

COUNT_TEMPLATES = {1: "splash", 2: "2-tier", 3: "3-tier", 4: "grid-2x2", 5: "manga-5", 6: "grid-2x3"}
INSET_FRACTION = 0.38


def _rows_of_three(n: int) -> list[int]:
    """Cells per row for ``n`` panels in rows of at most three, as even as possible (fuller rows first)."""
    rows = max(1, math.ceil(n / 3))
    base, extra = divmod(n, rows)
    return [base + (1 if i < extra else 0) for i in range(rows)]


def _mirror(rect: Rect, area: Rect) -> Rect:
    return Rect(round(area.x + area.right - rect.right, 4), rect.y, rect.w, rect.h)


def frames(area: Rect, gutter: float, shapes: list[str], rtl: bool = False) -> tuple[list[list[Point]], str | None]:
    """One polygon per panel (in the given order) inside ``area``, and the template name used (None when
    the shapes asked for a layout of their own)."""
    n = len(shapes)
    if n == 0:
        return [], None
    base = [i for i, s in enumerate(shapes) if s != "inset"] or [0]
    insets = [i for i in range(n) if i not in base]
    base_shapes = [shapes[i] if shapes[i] in ("wide", "tall") else "" for i in base]
    template = None
    if not any(base_shapes):
        template = COUNT_TEMPLATES.get(len(base))
        rects = layout.template_rects(area, template, gutter) if template else \
            _grid(area, gutter, [[(1.0, [1.0] * k)] for k in _rows_of_three(len(base))])
    else:
        rects = _shaped(area, gutter, base_shapes)
    if rtl:
        rects = [_mirror(r, area) for r in rects]
    by_index: dict[int, Rect] = dict(zip(base, rects))
    for i in insets:
        host_index = max((b for b in base if b < i), default=base[0])
        host = by_index[host_index]
        w, h = host.w * INSET_FRACTION, host.h * INSET_FRACTION
        margin = min(gutter, host.w * 0.05, host.h * 0.05)
        x = host.x + margin if rtl else host.right - margin - w
        by_index[i] = Rect(round(x, 4), round(host.bottom - margin - h, 4), round(w, 4), round(h, 4))
    return [by_index[i].points() for i in range(n)], template if not insets else None


def _grid(area: Rect, gutter: float, rows: list[list[tuple[float, list[float]]]]) -> list[Rect]:
    """Cells of groups of rows, filling ``area`` (see :func:`app.layout.row_rects`)."""
    return layout.row_rects(area, [row for group in rows for row in group], gutter)


def _shaped(area: Rect, gutter: float, shapes: list[str]) -> list[Rect]:
    """Rows built from the shapes: a wide panel has a row of its own, a tall one spans two rows beside
    up to two stacked panels, runs of ordinary panels fill rows of at most three."""
    blocks: list[tuple[str, list[int]]] = []  # (kind, panel indexes)
    i = 0
    run: list[int] = []

    def flush() -> None:
        if run:
            start = 0
            for k in _rows_of_three(len(run)) if len(run) != 4 else [2, 2]:
                blocks.append(("row", run[start:start + k]))
                start += k
            run.clear()

    while i < len(shapes):
        shape = shapes[i]
        if shape == "wide":
            flush()
            blocks.append(("row", [i]))
            i += 1
        elif shape == "tall":
            flush()
            stack = []
            j = i + 1
            while j < len(shapes) and len(stack) < 2 and shapes[j] == "":
                stack.append(j)
                j += 1
            blocks.append(("tall", [i, *stack]))
            i = j
        else:
            run.append(i)
            i += 1
    flush()
    weights = [2.0 if kind == "tall" and len(ids) > 1 else (1.6 if kind == "tall" else 1.0) for kind, ids in blocks]
    total_h = area.h - gutter * (len(blocks) - 1)
    out: dict[int, Rect] = {}
    y = area.y
    for (kind, ids), weight in zip(blocks, weights):
        h = total_h * weight / sum(weights)
        if kind == "row":
            cells = _grid(Rect(area.x, y, area.w, h), gutter, [[(1.0, [1.0] * len(ids))]])
            out.update(zip(ids, cells))
        else:
            tall, stack = ids[0], ids[1:]
            if not stack:
                w = min(area.w, max(area.w * 0.5, h * 0.6))
                out[tall] = Rect(round(area.x, 4), round(y, 4), round(w, 4), round(h, 4))
            else:
                w = (area.w - gutter) * 0.42
                out[tall] = Rect(round(area.x, 4), round(y, 4), round(w, 4), round(h, 4))
                column = Rect(area.x + w + gutter, y, area.w - w - gutter, h)
                cells = _grid(column, gutter, [[(1.0, [1.0]) for _ in stack]])
                out.update(zip(stack, cells))
        y += h + gutter
    return [out[k] for k in range(len(shapes))]
