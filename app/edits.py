"""Every edit a user can make, each pushed as one undo command.

Functions build the new value and push a command: :class:`ItemsCommand` for edits of existing
panels and balloons (it holds only the changed items), :class:`SnapshotCommand` for the rest. They
never modify ``doc.project`` in place: a page is replaced by a new shell whose lists are its own and
whose unchanged items are shared, and an item that changes is copied first (:func:`_own`). They raise ``ValueError``/``KeyError`` with a
user-readable message for impossible edits, before anything is pushed.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from PIL import Image

from . import layout, page_presets
from .document import BookCommand, Document, ItemsCommand, SnapshotCommand
from .images import image_key, stored_form
from .lettering import LETTERING_SETTING, MAX_FONT_PT, MIN_FONT_PT, project_lettering_pt
from .project import (CW_RANGE, DEFAULT_CW, DEFAULT_SW, SW_RANGE, Balloon, BalloonKind, CardBinding,
                    CharacterCard, Motion, Page, Panel, Placement, Point, Rect, Reference, StyleCard, Variant,
                    new_id)


# --- helpers ---------------------------------------------------------------------------------------

_FIELD_NAMES = {"font_size": "size", "font": "font", "text": "text", "kind": "kind", "tail": "tail", "rect": "size",
                "prompt": "prompt", "negative_prompt": "negative prompt", "seed": "seed", "name": "name",
                "gutter_mm": "gutter", "bleed_mm": "bleed", "safe_mm": "safe area", "stroke_mm": "frame line",
                "reading_order": "reading order", "width_mm": "page size", "height_mm": "page size",
                "size_name": "page size", "trigger": "trigger", "model": "model", "description": "description"}
_UNITS = {"font_size": " pt", "gutter_mm": " mm", "bleed_mm": " mm", "safe_mm": " mm", "stroke_mm": " mm"}


def change_name(subject: str, fields: dict) -> str:
    """An undo step's name that says what changed: ``Change size of balloon to 10 pt``, ``Edit prompt of
    Panel``; several fields: ``Edit Balloon``."""
    names = list(dict.fromkeys(_FIELD_NAMES.get(k, k.replace("_", " ")) for k in fields))
    if len(names) != 1:
        return f"Edit {subject}"
    key, value = next(iter(fields.items()))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"Change {names[0]} of {subject} to {value:g}{_UNITS.get(key, '')}"
    if key in ("font", "kind", "reading_order", "name") and isinstance(value, str) and 0 < len(value) <= 40:
        shown = value.value if hasattr(value, "value") else value
        return f"Change {names[0]} of {subject} to {shown}"
    return f"Edit {names[0]} of {subject}"


def _page_copy(doc: Document, page_id: str) -> Page:
    """A new shell of the page: its own item lists, the items themselves shared (see :func:`_own`)."""
    return _shell(doc.project.page(page_id))


def _shell(page: Page) -> Page:
    return replace(page, panels=list(page.panels), balloons=list(page.balloons))


def _own_copy(item: Panel | Balloon) -> Panel | Balloon:
    """A copy of an item that can be changed without touching the original (variants stay shared)."""
    if isinstance(item, Panel):
        return replace(item, points=list(item.points), characters=[copy.copy(b) for b in item.characters],
                       styles=[copy.copy(b) for b in item.styles], variants=list(item.variants),
                       placement=copy.copy(item.placement))
    return copy.copy(item)


def _own(page: Page, item_id: str) -> Panel | Balloon:
    """Replace the item ``item_id`` in the page shell by its own copy, and return that copy."""
    for items in (page.panels, page.balloons):
        for i, item in enumerate(items):
            if item.id == item_id:
                items[i] = _own_copy(item)
                return items[i]
    raise KeyError(item_id)


def _push_items(doc: Document, page_id: str, items: list[Panel | Balloon], text: str,
                images: dict | None = None, merge_key: str = "") -> None:
    doc.push(ItemsCommand(doc, page_id, items, text, images=images, merge_key=merge_key))


def _panel_copy(doc: Document, panel_id: str) -> tuple[str, Panel]:
    """(page id, own copy of the panel) for an edit of one panel."""
    page, panel = doc.project.find_panel(panel_id)
    return page.id, _own_copy(panel)


def _push_page(doc: Document, page: Page, text: str, images: dict | None = None, merge_key: str = "") -> None:
    doc.push(SnapshotCommand(doc, ("page", page.id), page, text, images=images, merge_key=merge_key))


def _panel_in(page: Page, panel_id: str) -> Panel:
    try:
        return page.panel(panel_id)
    except KeyError:
        raise KeyError(f"no panel {panel_id!r} on this page") from None


def _points(shape: Rect | list[Point]) -> list[Point]:
    return shape.points() if isinstance(shape, Rect) else [tuple(map(float, p)) for p in shape]


def _encode_images(images: Iterable[Image.Image | bytes]) -> dict[str, bytes]:
    """PNG bytes by key of images entering the project (in order)."""
    return dict(stored_form(img) for img in images)


# --- pages -------------------------------------------------------------------------------------------

def add_page(doc: Document, size: layout.PageSize | None = None, template: str | None = None,
             index: int | None = None) -> str:
    """Add a page (same size and settings as the last page unless ``size`` is given)."""
    return add_pages(doc, 1, size, template, index)[0]


def add_pages(doc: Document, count: int, size: layout.PageSize | None = None, template: str | None = None,
              index: int | None = None) -> list[str]:
    """Add ``count`` pages in one undo step (as :func:`add_page` makes one); returns their ids."""
    if count < 1:
        raise ValueError("add at least one page")
    pages = list(doc.project.pages)
    last = pages[-1] if size is None and pages else None
    new: list[Page] = []
    for _ in range(count):
        if last is not None:
            page = Page(id=new_id("page"), width_mm=last.width_mm, height_mm=last.height_mm,
                        size_name=last.size_name, bleed_mm=last.bleed_mm, safe_mm=last.safe_mm,
                        gutter_mm=last.gutter_mm, stroke_mm=last.stroke_mm, reading_order=last.reading_order)
            if template:
                page.panels = layout.template_panels(page, template)
                page.template = template
        else:
            page = layout.new_page(size or layout.PAGE_SIZES["A4"], template)
        new.append(page)
    at = len(pages) if index is None else index
    pages[at:at] = new
    doc.push(SnapshotCommand(doc, ("pages",), pages, "Add Page" if count == 1 else f"Add {count} Pages"))
    return [p.id for p in new]


def remove_page(doc: Document, page_id: str) -> None:
    pages = [p for p in doc.project.pages if p.id != page_id]
    if len(pages) == len(doc.project.pages):
        raise KeyError(f"no page {page_id!r}")
    doc.push(SnapshotCommand(doc, ("pages",), pages, "Remove Page"))


def move_page(doc: Document, page_id: str, new_index: int) -> None:
    pages = list(doc.project.pages)
    index = doc.project.page_index(page_id)
    page = pages.pop(index)
    pages.insert(max(0, min(new_index, len(pages))), page)
    doc.push(SnapshotCommand(doc, ("pages",), pages, "Move Page"))


def set_page_props(doc: Document, page_id: str, **attrs) -> None:
    """Change page settings (size, bleed, safe area, stroke, reading order).

    A changed ``gutter_mm`` re-flows the panels so that the gaps between them follow.
    """
    page = _page_copy(doc, page_id)
    allowed = {"width_mm", "height_mm", "size_name", "bleed_mm", "safe_mm", "gutter_mm", "stroke_mm",
               "reading_order"}
    unknown = set(attrs) - allowed
    if unknown:
        raise ValueError(f"unknown page setting(s): {', '.join(sorted(unknown))}")
    for name in ("bleed_mm", "safe_mm", "gutter_mm", "stroke_mm"):
        if name in attrs and not 0 <= float(attrs[name]) <= 100:
            raise ValueError(f"{name} must be between 0 and 100 mm")
    old_gutter = page.gutter_mm
    for name, value in attrs.items():
        setattr(page, name, value)
    if "gutter_mm" in attrs and attrs["gutter_mm"] != old_gutter:
        for panel in list(page.panels):
            own = _own(page, panel.id)
            own.points = layout.reflow_gutter(panel.points, page.safe_rect, old_gutter, page.gutter_mm)
    _push_page(doc, page, change_name("Page", attrs))


def page_setup(doc: Document, page_ids: Iterable[str], size: layout.PageSize,
               lettering_pt: float | None = None) -> None:
    """Page ▸ Page Setup…: give the pages ``size``'s set-up (size, bleed, safe area, gutter, reading order;
    its ``dpi`` is the project's print resolution), carrying their panels and balloons along
    (:func:`app.page_presets.scale_page`), and optionally a new project lettering size, which every
    balloon lettered at the old project size follows (on all pages). One undo step, named for what
    changed; nothing changed pushes nothing."""
    page_presets.validate(size)
    if not 36 <= int(size.dpi) <= 2400:
        raise ValueError("dpi must be between 36 and 2400")
    wanted = set(page_ids)
    if not wanted:
        raise ValueError("no page to set up")
    for page_id in wanted:
        doc.project.page(page_id)
    fields = page_presets.page_fields(size)
    changed: dict[str, Any] = {}
    pages = list(doc.project.pages)
    for i, page in enumerate(pages):
        if page.id in wanted:
            diff = {k: v for k, v in fields.items() if getattr(page, k) != v}
            if diff:
                changed.update(diff)
                pages[i] = page_presets.scale_page(page, size)
    attrs: dict[str, Any] = {}
    if int(size.dpi) != doc.project.dpi:
        attrs["dpi"] = int(size.dpi)
    old_pt = project_lettering_pt(doc.project.settings)
    if lettering_pt is not None and abs(float(lettering_pt) - old_pt) > 1e-6:
        if not MIN_FONT_PT <= float(lettering_pt) <= MAX_FONT_PT:
            raise ValueError(f"lettering size must be between {MIN_FONT_PT:g} and {MAX_FONT_PT:g} pt")
        attrs["settings"] = {**copy.deepcopy(doc.project.settings), LETTERING_SETTING: float(lettering_pt)}
        pages = [page_presets.lettered_at(page, old_pt, float(lettering_pt)) for page in pages]
    if not changed and not attrs:
        return
    text = _setup_name(size, changed, attrs, len([p for p in doc.project.pages if p.id in wanted]))
    if attrs:
        current = {"dpi": doc.project.dpi, "title": doc.project.title, "settings": doc.project.settings}
        doc.push(SnapshotCommand(doc, ("setup",), (pages, {**current, **attrs}), text))
    else:
        doc.push(SnapshotCommand(doc, ("pages",), pages, text))


def _setup_name(size: layout.PageSize, changed: dict, attrs: dict, count: int) -> str:
    """The step's name: ``Change page size to B5 (182 × 257 mm)``, ``Change bleed of 3 pages to 5 mm``,
    ``Page Setup of 2 pages: gutter, print dpi``."""
    where = "" if count == 1 else f" of {count} pages"
    parts: list[tuple[str, str]] = []
    if {"width_mm", "height_mm", "size_name"} & set(changed):
        parts.append(("page size", f"{size.name} ({size.width_mm:g} × {size.height_mm:g} mm)"))
    for key in ("bleed_mm", "safe_mm", "gutter_mm"):
        if key in changed:
            parts.append((_FIELD_NAMES[key], f"{changed[key]:g} mm"))
    if "reading_order" in changed:
        rtl = getattr(changed["reading_order"], "value", changed["reading_order"]) == "rtl"
        parts.append(("reading order", "right to left" if rtl else "left to right"))
    if "dpi" in attrs:
        parts.append(("print dpi", f"{attrs['dpi']}"))
    if "settings" in attrs:
        parts.append(("lettering", f"{attrs['settings'][LETTERING_SETTING]:g} pt"))
    if len(parts) == 1:
        name, value = parts[0]
        return f"Change {name}{'' if name in ('print dpi', 'lettering') else where} to {value}"
    return f"Page Setup{where}: " + ", ".join(name for name, _ in parts)


def apply_template(doc: Document, page_id: str, template: str) -> None:
    """Replace the page's panels by a template's (balloons stay)."""
    page = _page_copy(doc, page_id)
    page.panels = layout.template_panels(page, template)
    page.template = template
    _push_page(doc, page, f"Template {template}")


# --- panels and balloons -------------------------------------------------------------------------------

def _next_z(page: Page) -> int:
    return max((p.z for p in page.panels), default=-1) + 1


def add_panel(doc: Document, page_id: str, shape: Rect | list[Point], prompt: str = "") -> str:
    page = _page_copy(doc, page_id)
    points = _points(shape)
    layout.validate_geometry(points, page)
    panel = Panel(id=new_id("panel"), points=points, z=_next_z(page), prompt=prompt)
    page.panels.append(panel)
    _push_page(doc, page, "Add Panel")
    return panel.id


def add_balloon(doc: Document, page_id: str, kind: BalloonKind | str, rect: Rect, text: str = "",
                tail: Point | None = None, font_size: float | None = None) -> str:
    """A new balloon, lettered at ``font_size`` or else the project's lettering size."""
    page = _page_copy(doc, page_id)
    layout.validate_geometry(rect.points(), page)
    z = max((b.z for b in page.balloons), default=999) + 1
    size = font_size if font_size is not None else project_lettering_pt(doc.project.settings)
    balloon = Balloon(id=new_id("balloon"), kind=BalloonKind(kind), rect=rect, text=text, tail=tail, z=z,
                      font_size=size)
    page.balloons.append(balloon)
    _push_page(doc, page, "Add Balloon")
    return balloon.id


def move_items(doc: Document, page_id: str, ids: Iterable[str], dx: float, dy: float) -> None:
    """Move panels and balloons together (a drag or a nudge is one undo step)."""
    page = doc.project.page(page_id)
    ids = set(ids)
    if not ids or (dx == 0 and dy == 0):
        return
    changed: list[Panel | Balloon] = []
    for panel in page.panels:
        if panel.id in ids:
            points = [(x + dx, y + dy) for x, y in panel.points]
            layout.validate_geometry(points, page)
            changed.append(replace(panel, points=points))
    for balloon in page.balloons:
        if balloon.id in ids:
            tail = (balloon.tail[0] + dx, balloon.tail[1] + dy) if balloon.tail else balloon.tail
            changed.append(replace(balloon, rect=balloon.rect.translated(dx, dy), tail=tail))
    if changed:
        _push_items(doc, page_id, changed, "Move" if len(ids) == 1 else f"Move {len(ids)} Items")


def set_geometry(doc: Document, page_id: str, shapes: dict[str, Rect | list[Point]], text: str = "Resize") -> None:
    """Set new frames for panels (points or rect) and balloons (rect)."""
    page = doc.project.page(page_id)
    changed: list[Panel | Balloon] = []
    for item_id, shape in shapes.items():
        item = page.item(item_id)
        if isinstance(item, Panel):
            points = _points(shape)
            layout.validate_polygon(points, page, min_edge_mm=1e-3)
            changed.append(replace(item, points=points))
        else:
            rect = shape if isinstance(shape, Rect) else Rect.bounding(_points(shape))
            layout.validate_geometry(rect.points(), page)
            changed.append(replace(item, rect=rect))
    if changed:
        _push_items(doc, page_id, changed, text)


def add_items(doc: Document, page_id: str, panels: list[Panel], balloons: list[Balloon],
              images: dict[str, bytes] | None = None, dx: float = 0.0, dy: float = 0.0,
              text: str = "Paste") -> tuple[list[str], list[str]]:
    """Add copies of panels and balloons (paste, duplicate) with their images in one undo step.

    The copies get new ids (their variants too), are moved by (dx, dy) and stacked above the page's
    items; bindings to cards the project does not have are dropped. Returns the new ids (panels
    first, in the given order) and the ids of the dropped cards.
    """
    if not panels and not balloons:
        raise ValueError("nothing to paste")
    page = _page_copy(doc, page_id)
    images = dict(images or {})
    for key, png in images.items():
        if image_key(png) != key:
            raise ValueError("a pasted image is damaged")
    card_ids = {c.id for c in [*doc.project.characters, *doc.project.styles]}
    new_ids: list[str] = []
    dropped: list[str] = []
    z = _next_z(page)
    for source in sorted(panels, key=lambda p: p.z):
        panel = copy.deepcopy(source)
        panel.id = new_id("panel")
        panel.points = [(round(x + dx, 3), round(y + dy, 3)) for x, y in panel.points]
        layout.validate_polygon(panel.points, page, min_edge_mm=1e-3)
        remap = {}
        for variant in panel.variants:
            if variant.image not in images and variant.image not in doc.project.images:
                raise ValueError("a pasted panel's image is missing")
            remap[variant.id] = variant.id = new_id("var")
        panel.current = remap.get(panel.current) if panel.current else None
        for name in ("characters", "styles"):
            kept = [b for b in getattr(panel, name) if b.card in card_ids]
            dropped += [b.card for b in getattr(panel, name) if b.card not in card_ids]
            setattr(panel, name, kept)
        panel.z = z
        z += 1
        page.panels.append(panel)
        new_ids.append(panel.id)
    bz = max((b.z for b in page.balloons), default=999) + 1
    for source in sorted(balloons, key=lambda b: b.z):
        balloon = copy.deepcopy(source)
        balloon.id = new_id("balloon")
        balloon.rect = Rect(round(balloon.rect.x + dx, 3), round(balloon.rect.y + dy, 3), balloon.rect.w,
                            balloon.rect.h)
        layout.validate_geometry(balloon.rect.points(), page)
        if balloon.tail:
            balloon.tail = (round(balloon.tail[0] + dx, 3), round(balloon.tail[1] + dy, 3))
        balloon.z = bz
        bz += 1
        page.balloons.append(balloon)
        new_ids.append(balloon.id)
    used = {v.image for p in page.panels for v in p.variants}
    _push_page(doc, page, text, images={k: v for k, v in images.items() if k in used})
    return new_ids, sorted(set(dropped))


def update_balloon(doc: Document, page_id: str, balloon_id: str, merge: bool = False, **fields) -> None:
    """Change a balloon's text, kind, font, size or tail; ``merge`` folds consecutive typing into one step."""
    balloon = copy.copy(doc.project.page(page_id).balloon(balloon_id))
    if "kind" in fields:
        fields["kind"] = BalloonKind(fields["kind"])
    for name, value in fields.items():
        if not hasattr(balloon, name) or name == "id":
            raise ValueError(f"unknown balloon field {name!r}")
        setattr(balloon, name, value)
    _push_items(doc, page_id, [balloon], change_name("Balloon", fields), merge_key=f"balloon:{balloon_id}:{','.join(sorted(fields))}" if merge else "")


def split_panel(doc: Document, page_id: str, panel_id: str, a: Point, b: Point) -> tuple[str, str]:
    """Frame knife: cut a panel along a→b, leaving the page's gutter between the halves."""
    page = _page_copy(doc, page_id)
    _panel_in(page, panel_id)
    panel = _own(page, panel_id)
    first, second = layout.split_polygon(panel.points, a, b, page.gutter_mm)
    panel.points = first
    twin = replace(_own_copy(panel), id=new_id("panel"), points=second, variants=[], current=None,
                   placement=Placement(), z=_next_z(page))
    page.panels.insert(page.panels.index(panel) + 1, twin)
    page.template = None
    _push_page(doc, page, "Split Panel")
    return panel.id, twin.id


def split_panel_evenly(doc: Document, page_id: str, panel_id: str, vertical: bool, at: float = 0.5) -> tuple[str, str]:
    """Cut a panel with a horizontal (``vertical=False``) or vertical line at a fraction of its box."""
    box = doc.project.page(page_id).panel(panel_id).bbox
    if vertical:
        x = box.x + box.w * at
        return split_panel(doc, page_id, panel_id, (x, box.y - 1), (x, box.bottom + 1))
    y = box.y + box.h * at
    return split_panel(doc, page_id, panel_id, (box.x - 1, y), (box.right + 1, y))


def merge_panels(doc: Document, page_id: str, ids: list[str]) -> str:
    """Merge panels into the first one's frame (the hull of all); the first keeps its art and cards."""
    if len(ids) < 2:
        raise ValueError("select at least two panels to merge")
    page = _page_copy(doc, page_id)
    panels = [_panel_in(page, i) for i in ids]
    keep = _own(page, panels[0].id)
    keep.points = layout.merge_polygons([p.points for p in panels])
    page.panels = [p for p in page.panels if p.id not in ids[1:]]
    page.template = None
    _push_page(doc, page, "Merge Panels")
    return keep.id


def delete_items(doc: Document, page_id: str, ids: Iterable[str]) -> None:
    ids = set(ids)
    page = _page_copy(doc, page_id)
    before = len(page.panels) + len(page.balloons)
    page.panels = [p for p in page.panels if p.id not in ids]
    page.balloons = [b for b in page.balloons if b.id not in ids]
    if len(page.panels) + len(page.balloons) == before:
        return
    _push_page(doc, page, "Delete")


def set_z_order(doc: Document, page_id: str, item_id: str, where: str) -> None:
    """``where`` is front, back, up or down; z values are renumbered 0..n-1 (balloons from 1000)."""
    page = doc.project.page(page_id)
    item = page.item(item_id)
    items = sorted(page.panels if isinstance(item, Panel) else page.balloons, key=lambda i: i.z)
    i = items.index(item)
    items.pop(i)
    target = {"front": len(items), "back": 0, "up": min(i + 1, len(items)), "down": max(i - 1, 0)}[where]
    items.insert(target, item)
    base = 0 if isinstance(item, Panel) else 1000
    changed = [replace(it, z=base + z) for z, it in enumerate(items) if it.z != base + z]
    # an unchanged order still makes its (empty) undo step, as before
    _push_items(doc, page_id, changed, "Z-Order")


# --- panel content -------------------------------------------------------------------------------------

def set_panel_fields(doc: Document, panel_id: str, merge: bool = False, **fields) -> None:
    """Set prompt, negative_prompt and/or seed; ``merge`` folds consecutive typing into one undo step."""
    page_id, panel = _panel_copy(doc, panel_id)
    for name, value in fields.items():
        if name not in ("prompt", "negative_prompt", "seed"):
            raise ValueError(f"unknown panel field {name!r}")
        if name == "seed" and value is not None and not (0 <= int(value) < 2**32):
            raise ValueError("seed must be between 0 and 4294967295")
        setattr(panel, name, value)
    _push_items(doc, page_id, [panel], change_name("Panel", fields), merge_key=f"panel:{panel_id}:{','.join(sorted(fields))}" if merge else "")


def set_placement(doc: Document, panel_id: str, placement: Placement, merge: bool = False) -> None:
    page_id, panel = _panel_copy(doc, panel_id)
    if not 0.05 <= placement.scale <= 20:
        raise ValueError("image scale must be between 0.05 and 20")
    panel.placement = copy.copy(placement)
    _push_items(doc, page_id, [panel], "Reframe Image", merge_key=f"place:{panel_id}" if merge else "")


def bind_card(doc: Document, panel_id: str, card_id: str, weight: int | None = None, merge: bool = False) -> None:
    """Bind a character (weight = cw 0–100) or style card (weight = sw 0–1000) to a panel.

    Binding an already bound card changes its weight.
    """
    card = doc.project.card(card_id)
    is_char = isinstance(card, CharacterCard)
    lo, hi = CW_RANGE if is_char else SW_RANGE
    weight = (DEFAULT_CW if is_char else DEFAULT_SW) if weight is None else int(weight)
    if not lo <= weight <= hi:
        raise ValueError(f"{'cw' if is_char else 'sw'} must be between {lo} and {hi}")
    page_id, panel = _panel_copy(doc, panel_id)
    bindings = panel.characters if is_char else panel.styles
    existing = next((b for b in bindings if b.card == card_id), None)
    if existing:
        existing.weight = weight
        text = f"Change {'cw' if is_char else 'sw'} of {card.name} to {weight}"
    else:
        bindings.append(CardBinding(card_id, weight))
        text = f"Bind {card.name}"
    _push_items(doc, page_id, [panel], text, merge_key=f"bind:{panel_id}:{card_id}" if merge else "")


def set_binding_region(doc: Document, panel_id: str, card_id: str, region: list[float] | None) -> None:
    """Confine a bound character to ``region`` (x, y, w, h as fractions of the panel box); None: whole panel."""
    if region is not None:
        region = [float(v) for v in region]
        if len(region) != 4:
            raise ValueError("a region is x, y, width and height")
        x, y, w, h = region
        if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 - x + 1e-9 and 0 < h <= 1 - y + 1e-9):
            raise ValueError("a region must lie inside the panel and not be empty")
    page_id, panel = _panel_copy(doc, panel_id)
    binding = next((b for b in panel.characters if b.card == card_id), None)
    if binding is None:
        raise KeyError(f"character {card_id!r} is not bound to this panel")
    if binding.region == region:
        return
    binding.region = region
    _push_items(doc, page_id, [panel], "Character Region")


def unbind_card(doc: Document, panel_id: str, card_id: str) -> None:
    page_id, panel = _panel_copy(doc, panel_id)
    panel.characters = [b for b in panel.characters if b.card != card_id]
    panel.styles = [b for b in panel.styles if b.card != card_id]
    _push_items(doc, page_id, [panel], "Unbind Card")


def add_variant(doc: Document, panel_id: str, image: Image.Image | bytes, kind: str = "generate",
                seed: int | None = None, prompt: str = "", params: dict | None = None,
                select: bool = True, placement: Placement | None = None) -> str:
    """Add an image to a panel's history (and show it when ``select``)."""
    images = _encode_images([image])
    page_id, panel = _panel_copy(doc, panel_id)
    variant = Variant(id=new_id("var"), image=next(iter(images)), kind=kind, seed=seed, prompt=prompt,
                      created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      params=dict(params or {}))
    panel.variants.append(variant)
    if select:
        panel.current = variant.id
        if placement is not None:
            panel.placement = copy.copy(placement)
    _push_items(doc, page_id, [panel], {"import": "Set Image"}.get(kind, f"{kind.title()} Result"), images=images)
    return variant.id


def add_variants(doc: Document, panel_id: str, results: list[tuple[Image.Image | bytes, int | None]],
                 kind: str, prompt: str, params: dict | None = None, select_first: bool = True,
                 placement: Placement | None = None, per_variant: list[dict] | None = None) -> list[str]:
    """Add several generated images in one undo step; returns their variant ids.

    ``per_variant`` adds parameters to each image's own record (e.g. its consistency score).
    """
    encoded = [stored_form(img) for img, _ in results]  # each image encoded once
    images = dict(encoded)
    page_id, panel = _panel_copy(doc, panel_id)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    ids = []
    for index, ((key, _), (_, seed)) in enumerate(zip(encoded, results)):
        own = per_variant[index] if per_variant else {}
        variant = Variant(id=new_id("var"), image=key, kind=kind, seed=seed, prompt=prompt,
                          created=now, params={**(params or {}), **own})
        panel.variants.append(variant)
        ids.append(variant.id)
    if select_first and ids:
        panel.current = ids[0]
        if placement is not None:
            panel.placement = copy.copy(placement)
    _push_items(doc, page_id, [panel], f"{kind.title()} ×{len(ids)}", images=images)
    return ids


def add_loop(doc: Document, panel_id: str, frames: list[Image.Image | bytes], seed: int | None, fps: int,
             prompt: str, params: dict | None = None, still: int = 0, select: bool = True) -> str:
    """Add an animated variant (a loop of ``frames`` at ``fps``; ``still`` prints) in one undo step;
    returns its id. Frames are stored as PNG images by content hash, like every image."""
    if not frames:
        raise ValueError("a loop needs at least one frame")
    if not 0 <= still < len(frames):
        raise ValueError(f"still frame {still} is not one of the {len(frames)} frames")
    keys, pngs = zip(*(stored_form(f) for f in frames))
    keys = list(keys)
    page_id, panel = _panel_copy(doc, panel_id)
    variant = Variant(id=new_id("var"), image=keys[still], kind="animate", seed=seed, prompt=prompt,
                      created=datetime.now(timezone.utc).isoformat(timespec="seconds"), params=dict(params or {}),
                      motion=Motion(frames=keys, fps=fps, still=still))
    panel.variants.append(variant)
    if select:
        panel.current = variant.id
    _push_items(doc, page_id, [panel], "Animate", images=dict(zip(keys, pngs)))
    return variant.id


def set_loop_still(doc: Document, panel_id: str, variant_id: str, frame: int) -> None:
    """Make frame ``frame`` of a loop variant its still (what prints and what the panel shows at rest):
    one undo step."""
    page_id, panel = _panel_copy(doc, panel_id)
    variant = next((v for v in panel.variants if v.id == variant_id), None)
    if variant is None or variant.motion is None:
        raise KeyError(f"panel {panel_id} has no loop {variant_id!r}")
    if not 0 <= frame < len(variant.motion.frames):
        raise ValueError(f"frame {frame + 1} is not one of the loop's {len(variant.motion.frames)} frames")
    motion = replace(variant.motion, still=frame)
    panel.variants = [replace(v, image=motion.frames[frame], motion=motion) if v.id == variant_id else v
                      for v in panel.variants]
    _push_items(doc, page_id, [panel], f"Use Frame {frame + 1} as Still")


def pick_variant(doc: Document, panel_id: str, variant_id: str | None) -> None:
    page_id, panel = _panel_copy(doc, panel_id)
    if variant_id is not None and not any(v.id == variant_id for v in panel.variants):
        raise KeyError(f"panel {panel_id} has no variant {variant_id!r}")
    panel.current = variant_id
    _push_items(doc, page_id, [panel], "Pick Variant")


def discard_variant(doc: Document, panel_id: str, variant_id: str) -> None:
    page_id, panel = _panel_copy(doc, panel_id)
    panel.variants = [v for v in panel.variants if v.id != variant_id]
    if panel.current == variant_id:
        panel.current = panel.variants[-1].id if panel.variants else None
    _push_items(doc, page_id, [panel], "Discard Variant")


def set_favourite(doc: Document, panel_id: str, variant_id: str, favourite: bool) -> None:
    page_id, panel = _panel_copy(doc, panel_id)
    panel.variants = [replace(v, favourite=favourite) if v.id == variant_id else v for v in panel.variants]
    _push_items(doc, page_id, [panel], "Favourite")


# --- cards ---------------------------------------------------------------------------------------------

def _cards_copy(doc: Document) -> tuple[list[CharacterCard], list[StyleCard]]:
    return copy.deepcopy((doc.project.characters, doc.project.styles))


def add_card(doc: Document, kind: str, name: str, references: list[Image.Image | bytes] = (),
             **fields) -> str:
    """Create a character (``kind="character"``) or style card with reference images."""
    if not name.strip():
        raise ValueError("a card needs a name")
    images = _encode_images(references)
    refs = [Reference(image=k) for k in images]
    chars, styles = _cards_copy(doc)
    if kind == "character":
        card = CharacterCard(id=new_id("char"), name=name, references=refs, **fields)
        chars.append(card)
    elif kind == "style":
        card = StyleCard(id=new_id("style"), name=name, references=refs, **fields)
        styles.append(card)
    else:
        raise ValueError(f"unknown card kind {kind!r}")
    doc.push(SnapshotCommand(doc, ("cards",), (chars, styles), f"Add Card {name}", images=images))
    return card.id


def update_card(doc: Document, card_id: str, merge: bool = False, **fields) -> None:
    chars, styles = _cards_copy(doc)
    card = next(c for c in [*chars, *styles] if c.id == card_id)
    old_name = card.name
    for name, value in fields.items():
        if not hasattr(card, name) or name in ("id", "references"):
            raise ValueError(f"unknown card field {name!r}")
        setattr(card, name, value)
    doc.push(SnapshotCommand(doc, ("cards",), (chars, styles), change_name(old_name, fields),
                             merge_key=f"card:{card_id}:{','.join(sorted(fields))}" if merge else ""))


def add_references(doc: Document, card_id: str, images: list[Image.Image | bytes]) -> None:
    new = _encode_images(images)
    chars, styles = _cards_copy(doc)
    card = next(c for c in [*chars, *styles] if c.id == card_id)
    have = {r.image for r in card.references}
    card.references += [Reference(image=k) for k in new if k not in have]
    doc.push(SnapshotCommand(doc, ("cards",), (chars, styles), "Add Reference", images=new))


def set_references(doc: Document, card_id: str, references: list[Reference], merge: str = "",
                   text: str = "Edit References") -> None:
    """Replace a card's reference list (remove, reweight, cache face analysis, pick a face).

    A non-empty ``merge`` key folds consecutive edits with the same key into one undo step
    (e.g. holding a weight spin box's arrow).
    """
    chars, styles = _cards_copy(doc)
    card = next(c for c in [*chars, *styles] if c.id == card_id)
    missing = [r.image for r in references if r.image not in doc.project.images]
    if missing:
        raise KeyError(f"reference image {missing[0]} is not in the project")
    card.references = copy.deepcopy(references)
    doc.push(SnapshotCommand(doc, ("cards",), (chars, styles), text,
                             merge_key=f"refs:{card_id}:{merge}" if merge else ""))


def remove_card(doc: Document, card_id: str) -> None:
    """Remove a card and unbind it from every panel (one undo step)."""
    doc.project.card(card_id)
    pages = list(doc.project.pages)
    for index, page in enumerate(pages):
        bound = [p.id for p in page.panels if any(b.card == card_id for b in [*p.characters, *p.styles])]
        if not bound:
            continue
        page = pages[index] = _shell(page)
        for panel_id in bound:
            panel = _own(page, panel_id)
            panel.characters = [b for b in panel.characters if b.card != card_id]
            panel.styles = [b for b in panel.styles if b.card != card_id]
    chars, styles = _cards_copy(doc)
    chars = [c for c in chars if c.id != card_id]
    styles = [c for c in styles if c.id != card_id]
    doc.push(SnapshotCommand(doc, ("content",), (pages, (chars, styles)), "Remove Card"))


def set_project_attrs(doc: Document, **attrs) -> None:
    current = {"dpi": doc.project.dpi, "title": doc.project.title, "settings": copy.deepcopy(doc.project.settings)}
    unknown = set(attrs) - set(current)
    if unknown:
        raise ValueError(f"unknown project setting(s): {', '.join(sorted(unknown))}")
    if "dpi" in attrs and not 36 <= int(attrs["dpi"]) <= 2400:
        raise ValueError("dpi must be between 36 and 2400")
    current.update(attrs)
    doc.push(SnapshotCommand(doc, ("attrs",), current, "Project Settings"))


def attach_lora(doc: Document, card_id: str, lora_path: str, weight: float | None = None) -> None:
    """Reference a trained LoRA from the card (relative to the project folder where possible), and
    store the trigger word the captions used (one undo step)."""
    card = doc.project.card(card_id)
    path = Path(lora_path)
    if doc.path is not None:
        try:
            path = path.resolve().relative_to(doc.path.parent.resolve())
        except ValueError:
            pass
    fields: dict[str, Any] = {"lora": path.as_posix()}
    if weight is not None:
        fields["lora_weight"] = float(weight)
    if isinstance(card, CharacterCard) and not card.trigger.strip():
        from engine.training import default_trigger  # the training package loads on first use

        fields["trigger"] = default_trigger(card.name)
    update_card(doc, card_id, **fields)


def set_book(doc: Document, pages: list[Page], characters: list[CharacterCard], settings: dict, text: str,
             title: str | None = None) -> None:
    """Replace the pages, the character cards and the project settings together, as one undo step
    (a script import or update). Images are untouched: every variant keeps its image."""
    keys = set(doc.project.images)
    missing = sorted({v.image for page in pages for panel in page.panels for v in panel.variants} - keys)
    if missing:
        raise ValueError(f"image {missing[0]} is not in the project")
    attrs = {"dpi": doc.project.dpi, "title": doc.project.title if title is None else title, "settings": settings}
    doc.push(BookCommand(doc, (pages, (characters, doc.project.styles), attrs), text))
