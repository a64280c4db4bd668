"""Build (or update) the book from a parsed script: pages, panel frames, prompts, card bindings, balloons.

:func:`build` is pure: it returns the new pages, character cards and settings plus a JSON-ready summary,
and :func:`apply` pushes them as one undo step. What the script produced is remembered in
``Project.settings['script']`` (the text, and for each page and panel key the ids made for it), so that
re-reading an edited script updates panels by page and panel number, keeps every image and variant,
and flags panels the script no longer has instead of deleting them.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field

from .. import layout
from ..document import clone
from ..project import (DEFAULT_CW, CardBinding, CharacterCard, Page, Panel, Project, ReadingOrder,
                       new_id)
from . import balloons as lettering
from .page_layout import frames
from .parser import OFF, Script, ScriptError, ScriptPanel

SETTINGS_KEY = "script"
_SHAPE_PREFIX = re.compile(r"^\s*(?:wide|widescreen|panoramic|tall|vertical|inset)\s+panel\s*[.:,\-\u2013\u2014]\s*",
                           re.IGNORECASE)


@dataclass
class Built:
    pages: list[Page]
    characters: list[CharacterCard]
    settings: dict
    summary: dict = field(default_factory=dict)


@dataclass
class _Slot:
    """One panel of the book as the script wants it."""

    key: str
    panel: ScriptPanel
    continuation: bool = False  # the right half of a one-panel spread: frame and prompt, no lettering


class _Cast:
    """Character cards by name and alias (case-insensitive)."""

    def __init__(self, cards: list[CharacterCard]) -> None:
        self.cards = cards
        self.by_name: dict[str, CharacterCard] = {}
        self.patterns: list[tuple[re.Pattern, CharacterCard]] = []
        for card in cards:
            self.add(card)

    def add(self, card: CharacterCard) -> None:
        names = [n for n in [card.name, *getattr(card, "aliases", [])] if n and n.strip()]
        for name in names:
            self.by_name.setdefault(_norm(name), card)
        if names:
            alternatives = "|".join(re.escape(" ".join(n.split())) for n in sorted(names, key=len, reverse=True))
            self.patterns.append((re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE), card))

    def speaker(self, name: str) -> CharacterCard | None:
        return self.by_name.get(_norm(name))

    def mentioned(self, text: str) -> list[CharacterCard]:
        return [card for pattern, card in self.patterns if pattern.search(text)]


def _norm(name: str) -> str:
    return " ".join(name.lower().replace("\u2019", "'").split())


def _prompt(description: str) -> str:
    return _SHAPE_PREFIX.sub("", description).strip()


def _slots(script: Script) -> list[tuple[int, list[_Slot]]]:
    """(book page number, its panels) in script order; a spread's panels are shared by its two pages."""
    out: list[tuple[int, list[_Slot]]] = []
    for page in script.pages:
        keyed = [_Slot(f"{page.key}.{p.number}", p) for p in page.panels]
        if len(page.numbers) == 1:
            out.append((page.numbers[0], keyed))
        elif len(keyed) == 1:
            only = keyed[0]
            out.append((page.numbers[0], keyed))
            out.append((page.numbers[1], [_Slot(only.key + "+", only.panel, continuation=True)]))
        else:
            half = math.ceil(len(keyed) / 2)
            out.append((page.numbers[0], keyed[:half]))
            out.append((page.numbers[1], keyed[half:]))
    return out


def _blank(page: Page) -> bool:
    return not page.balloons and all(not p.variants and not p.prompt and not p.characters and not p.styles
                                     for p in page.panels)


def _shape(slot: _Slot) -> str:
    return "" if slot.continuation else slot.panel.shape


def _lettering_sig(slot: _Slot) -> list[list[str]]:
    return [] if slot.continuation else [[i.kind, i.text] for i in slot.panel.lettering]


def build(project: Project, script: Script, text: str, *, source: str = "", update: bool = False,
          size: layout.PageSize | None = None, direction: ReadingOrder | None = None,
          create_cards: bool = False) -> Built:
    """The pages, cards and settings after importing (or, with ``update``, re-reading) ``script``."""
    if script.panel_count == 0:
        first = f"; line {script.problems[0].line}: {script.problems[0].message}" if script.problems else ""
        raise ScriptError(f"{source or 'the script'} has no pages with panels (write PAGE ONE, then PANEL 1){first}")
    old_meta = project.settings.get(SETTINGS_KEY) if isinstance(project.settings.get(SETTINGS_KEY), dict) else None
    if update and not old_meta:
        raise ScriptError("no script was imported into this project yet: import it without --update first")
    meta_pages: dict[str, str] = dict(old_meta.get("pages", {})) if update else {}
    meta_panels: dict[str, dict] = copy.deepcopy(old_meta.get("panels", {})) if update else {}

    pages = clone(project.pages)
    if not update:
        pages = [p for p in pages if not _blank(p)]
    characters = clone(project.characters)
    cast = _Cast(characters)
    size_pt = lettering.lettering_size(project.settings)

    # names: bind, or list (and create cards on request)
    unknown: dict[str, str] = {}
    for page in script.pages:
        for panel in page.panels:
            for item in panel.lettering:
                if item.speaker and cast.speaker(item.speaker) is None:
                    unknown.setdefault(_norm(item.speaker), item.speaker)
    created: list[dict] = []
    if create_cards:
        for name in unknown.values():
            card = CharacterCard(id=new_id("char"), name=name.title())
            characters.append(card)
            cast.add(card)
            created.append({"name": card.name, "card": card.id})
        unknown = {}

    template_page = pages[-1] if pages else None
    page_size = size or (None if template_page else layout.PAGE_SIZES["A4"])
    panel_index = {p.id: (pg, p) for pg in pages for p in pg.panels}
    page_by_id = {pg.id: pg for pg in pages}
    new_meta_pages: dict[str, str] = {}
    new_meta_panels: dict[str, dict] = {}
    bound: dict[str, dict] = {}
    counts = {"added": 0, "updated": 0, "balloons": 0}
    anchor: int | None = None
    script_page_ids: list[str] = []

    for number, slots in _slots(script):
        page = page_by_id.get(meta_pages.get(str(number), ""))
        fresh = page is None
        if fresh:
            page = _new_page(page_size, template_page)
            if anchor is None:
                first_old = [i for i, pg in enumerate(pages) if pg.id in set(meta_pages.values())]
                at = first_old[0] if first_old else len(pages)
            else:
                at = anchor + 1
            pages.insert(at, page)
            page_by_id[page.id] = page
        anchor = pages.index(page)
        old_direction = page.reading_order
        if direction is not None:
            page.reading_order = direction
        new_meta_pages[str(number)] = page.id
        script_page_ids.append(page.id)

        # find or make each slot's panel; move panels that changed page (a re-split spread)
        placed: list[tuple[_Slot, Panel, bool]] = []  # (slot, panel, is_new)
        for slot in slots:
            info = meta_panels.get(slot.key)
            found = panel_index.get(info["id"]) if info else None
            if found is not None:
                holder, panel = found
                if holder is not page:
                    holder.panels.remove(panel)
                    page.panels.append(panel)
                    panel_index[panel.id] = (page, panel)
                placed.append((slot, panel, False))
            else:
                panel = Panel(id=new_id("panel"), points=page.trim.points())
                page.panels.append(panel)
                panel_index[panel.id] = (page, panel)
                placed.append((slot, panel, True))
                counts["added"] += 1
        script_ids = {p.id for _, p, _ in placed}
        kept = [p for p in page.panels if p.id not in script_ids]  # the user's own, or flagged removed
        old_keys = [k for k, v in meta_panels.items() if v.get("page") == str(number)]
        shapes = [_shape(s) for s, _, _ in placed]
        surviving = [k for k in old_keys if k in {s.key for s in slots}]
        relayout = (fresh or any(new for _, _, new in placed) or surviving != [s.key for s in slots]
                    or old_direction != page.reading_order
                    or any(meta_panels.get(s.key, {}).get("shape", "") != _shape(s) for s in slots))
        frames_before = {p.id: list(p.points) for _, p, _ in placed}
        if relayout:
            movable = [p for p in kept if any(v.get("id") == p.id for v in meta_panels.values())]
            polygons, template = frames(page.safe_rect, page.gutter_mm, shapes + [""] * len(movable),
                                        page.reading_order == ReadingOrder.RTL)
            for (_, panel, _), points in zip(placed, polygons):
                panel.points = points
            for panel, points in zip(movable, polygons[len(placed):]):
                panel.points = points
            page.template = template
        ordered = [p for _, p, _ in placed] + kept
        for z, panel in enumerate(ordered):
            panel.z = z
        page.panels = ordered

        # prompts, bindings, lettering
        for slot, panel, is_new in placed:
            info = meta_panels.get(slot.key, {})
            description = _prompt(slot.panel.description)
            if is_new or info.get("prompt") != description:
                panel.prompt = description
                if not is_new:
                    counts["updated"] += 1
            names_in_picture = [i.speaker for i in slot.panel.lettering if i.speaker and i.kind != OFF]
            cards = cast.mentioned(slot.panel.description)
            cards += [c for c in (cast.speaker(n) for n in names_in_picture) if c is not None]
            have = {b.card for b in panel.characters}
            for card in cards:
                if card.id not in have:
                    panel.characters.append(CardBinding(card.id, DEFAULT_CW))
                    have.add(card.id)
                entry = bound.setdefault(card.id, {"name": card.name, "card": card.id, "panels": 0, "_seen": set()})
                if panel.id not in entry["_seen"]:
                    entry["_seen"].add(panel.id)
                    entry["panels"] += 1
            moved = is_new or frames_before[panel.id] != panel.points
            balloon_ids = _letter(page, panel, slot, info, moved, size_pt)
            counts["balloons"] += len(balloon_ids)
            new_meta_panels[slot.key] = {
                "id": panel.id, "page": str(number), "lines": [slot.panel.line, slot.panel.end_line],
                "prompt": description, "shape": _shape(slot), "balloons": balloon_ids,
                "lettering": _lettering_sig(slot)}

    # panels the script no longer has: flagged, never deleted
    removed = [v["id"] for k, v in meta_panels.items() if k not in new_meta_panels and v.get("id") in panel_index]
    removed += [i for i in (old_meta or {}).get("removed", []) if update and i in panel_index and i not in removed
                and i not in {v["id"] for v in new_meta_panels.values()}]
    settings = copy.deepcopy(project.settings)
    settings[SETTINGS_KEY] = {"source": source, "text": text, "pages": new_meta_pages, "panels": new_meta_panels,
                              "removed": removed, "problems": [p.as_dict() for p in script.problems]}
    summary = {
        "pages": len(script_page_ids), "panels": script.panel_count, "balloons": counts["balloons"],
        "bound": [{k: v for k, v in entry.items() if k != "_seen"} for entry in bound.values()],
        "unknown_names": list(unknown.values()),
        "problems": [p.as_dict() for p in script.problems],
        "created_cards": created, "added_panels": counts["added"], "updated_panels": counts["updated"],
        "removed_panels": removed, "page_ids": script_page_ids, "update": update,
    }
    return Built(pages=pages, characters=characters, settings=settings, summary=summary)


def _new_page(size: layout.PageSize | None, like: Page | None) -> Page:
    if size is not None:
        return layout.new_page(size)
    assert like is not None
    return Page(id=new_id("page"), width_mm=like.width_mm, height_mm=like.height_mm, size_name=like.size_name,
                bleed_mm=like.bleed_mm, safe_mm=like.safe_mm, gutter_mm=like.gutter_mm, stroke_mm=like.stroke_mm,
                reading_order=like.reading_order)


def _letter(page: Page, panel: Panel, slot: _Slot, info: dict, replace_all: bool, size_pt: float) -> list[str]:
    """Place (or update) the balloons of one panel; returns their ids."""
    items = [] if slot.continuation else slot.panel.lettering
    signature = _lettering_sig(slot)
    old_ids = [i for i in info.get("balloons", []) if any(b.id == i for b in page.balloons)]
    if not replace_all and info.get("lettering") == signature and len(old_ids) == len(items):
        return old_ids  # unchanged: the user's positions and edits stay
    old = [page.balloon(i) for i in old_ids]
    if not replace_all and len(old) == len(items) and \
            all(b.kind == lettering.balloon_kind(i) for b, i in zip(old, items)):
        for balloon, item in zip(old, items):  # same balloons, new words: keep where they are
            balloon.text = item.text
        return old_ids
    page.balloons = [b for b in page.balloons if b.id not in set(old_ids)]
    z0 = max((b.z for b in page.balloons), default=999) + 1
    new = lettering.place(items, panel.bbox, size_pt, page.reading_order == ReadingOrder.RTL, z0)
    page.balloons += new
    return [b.id for b in new]


def script_panel_at_line(settings: dict, line: int) -> str | None:
    """The panel id whose script lines hold ``line`` (1-based), or None."""
    meta = settings.get(SETTINGS_KEY)
    if not isinstance(meta, dict):
        return None
    for key, info in meta.get("panels", {}).items():
        lines = info.get("lines") or [0, 0]
        if lines[0] <= line <= lines[1] and not key.endswith("+"):
            return info.get("id")
    return None
