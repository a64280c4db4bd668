"""Character sheets: a page of tiles showing one character from set views, and "add to card".

The sheet is an ordinary page: one panel per view, each with its own prompt (card description +
trigger word + the view's prompt fragment + a neutral background), its own seed, and the card bound
with a ``cw`` suited to the view (full identity for body and head turns, lower for expressions so the
face can change). Generating, varying and rejecting tiles then works as for any panel.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from . import edits, layout
from .document import Document, SnapshotCommand
from .images import decode_png
from .project import CardBinding, CharacterCard, Page, Panel, Rect, new_id

if TYPE_CHECKING:  # the training package loads on first use, not with the window
    from engine.training import TrainingRequest

SHEET_BACKGROUND = "character reference sheet, single character, plain neutral light grey background, even studio lighting"
SHEET_NEGATIVE = "busy background, scenery, multiple characters, text, watermark, cropped, frame"


@dataclass(frozen=True)
class SheetView:
    """One tile of a sheet. ``tags`` are the training-caption tags of images made from it."""

    key: str
    prompt: str
    cw: int
    row: int
    seed_offset: int
    tags: tuple[str, ...]


# Row 0: full-body turnaround; row 1: head turns; row 2: expressions (close-ups).
SHEET_VIEWS: tuple[SheetView, ...] = (
    SheetView("body-front", "full body shot, standing, front view, facing the viewer", 100, 0, 0,
              ("full body", "front view")),
    SheetView("body-three-quarter", "full body shot, standing, three-quarter view", 100, 0, 1,
              ("full body", "three-quarter view")),
    SheetView("body-profile", "full body shot, standing, side view, profile", 100, 0, 2,
              ("full body", "profile")),
    SheetView("body-back", "full body shot, standing, back view, from behind", 100, 0, 3,
              ("full body", "back view")),
    SheetView("head-front", "head and shoulders portrait, front view, looking at the viewer", 90, 1, 4,
              ("portrait", "front view")),
    SheetView("head-three-quarter", "head and shoulders portrait, three-quarter view", 90, 1, 5,
              ("portrait", "three-quarter view")),
    SheetView("head-profile", "head and shoulders portrait, side view, profile", 90, 1, 6,
              ("portrait", "profile")),
    SheetView("expr-neutral", "close-up of the face, neutral expression", 70, 2, 7, ("close-up", "neutral expression")),
    SheetView("expr-happy", "close-up of the face, happy, smiling", 60, 2, 8, ("close-up", "smiling")),
    SheetView("expr-angry", "close-up of the face, angry, frowning", 60, 2, 9, ("close-up", "angry")),
    SheetView("expr-surprised", "close-up of the face, surprised, open mouth", 60, 2, 10,
              ("close-up", "surprised")),
)

ROW_WEIGHTS = (1.7, 1.0, 1.0)  # the full-body row is taller
SEED_STRIDE = 7919


def view_prompt(card: CharacterCard, view: SheetView) -> str:
    """The tile's prompt: trigger word, description, view, neutral background."""
    parts = [card.trigger.strip(), card.description.strip() or card.name.strip(), view.prompt, SHEET_BACKGROUND]
    return ", ".join(p for p in parts if p)


def tile_seed(base_seed: int, view: SheetView) -> int:
    return (base_seed + view.seed_offset * SEED_STRIDE) % 2**32


def sheet_rects(area: Rect, gutter: float, views: tuple[SheetView, ...] = SHEET_VIEWS) -> list[Rect]:
    """One rectangle per view, rows by ``view.row``, equal widths within a row."""
    rows = sorted({v.row for v in views})
    weights = [ROW_WEIGHTS[r] if r < len(ROW_WEIGHTS) else 1.0 for r in rows]
    total_h = area.h - gutter * (len(rows) - 1)
    rects: dict[str, Rect] = {}
    y = area.y
    for row, weight in zip(rows, weights):
        h = total_h * weight / sum(weights)
        cells = [v for v in views if v.row == row]
        w = (area.w - gutter * (len(cells) - 1)) / len(cells)
        for i, view in enumerate(cells):
            rects[view.key] = Rect(area.x + i * (w + gutter), y, w, h)
        y += h + gutter
    return [rects[v.key] for v in views]


def create_sheet_page(doc: Document, card_id: str, size: layout.PageSize | str | None = None,
                      seed: Optional[int] = None, views: tuple[SheetView, ...] = SHEET_VIEWS) -> str:
    """Append a character-sheet page for a character card (one undo command); returns the page id.

    ``size`` is a page preset or ``WxHmm`` (default: the last page's size, else A4). Tile seeds
    are ``seed`` (random when None) plus a fixed offset per view.
    """
    card = doc.project.card(card_id)
    if not isinstance(card, CharacterCard):
        raise ValueError(f"{card.name} is a style card: a sheet needs a character card")
    if isinstance(size, str):
        size = layout.parse_page_size(size)
    if size is None and not doc.project.pages:
        size = layout.PAGE_SIZES["A4"]
    base_seed = random.randrange(2**32) if seed is None else int(seed) % 2**32
    pages = copy.deepcopy(doc.project.pages)
    if size is None:
        last = pages[-1]
        size = layout.PageSize(last.size_name, last.width_mm, last.height_mm, last.bleed_mm, last.safe_mm,
                               last.gutter_mm, reading_order=last.reading_order)
    page = layout.new_page(size)
    for z, (view, rect) in enumerate(zip(views, sheet_rects(page.safe_rect, page.gutter_mm, views))):
        layout.validate_geometry(rect.points(), page)
        page.panels.append(Panel(id=new_id("panel"), points=rect.points(), z=z, prompt=view_prompt(card, view),
                                 negative_prompt=SHEET_NEGATIVE, seed=tile_seed(base_seed, view),
                                 characters=[CardBinding(card_id, view.cw)]))
    pages.append(page)
    # One snapshot command (as edits.add_page pushes): a macro of ~34 small commands crashes
    # PySide6 at garbage collection after undo + redo.
    doc.push(SnapshotCommand(doc, ("pages",), pages, f"Character Sheet {card.name}"))
    page_id = page.id
    return page_id


def view_of(panel: Panel) -> Optional[SheetView]:
    """The sheet view a panel was made for (from its prompt), or None for an ordinary panel."""
    for view in SHEET_VIEWS:
        if view.prompt in panel.prompt and SHEET_BACKGROUND in panel.prompt:
            return view
    return None


def sheet_panels(page: Page) -> dict[str, SheetView]:
    """Panel id → view for the sheet tiles of a page."""
    return {p.id: v for p in page.panels if (v := view_of(p)) is not None}


def add_tiles_to_card(doc: Document, card_id: str, panel_ids: list[str]) -> int:
    """Make the chosen tiles' current images references of the card (one undo step).

    Returns how many new references were added; tiles without an image are skipped. Raises
    ``ValueError`` when none of the tiles has an image.
    """
    card = doc.project.card(card_id)
    images: list[bytes] = []
    for panel_id in panel_ids:
        _, panel = doc.project.find_panel(panel_id)
        if panel.image is not None:
            images.append(doc.project.images[panel.image])
    if not images:
        raise ValueError("none of the chosen tiles has an image yet: generate them first")
    before = {r.image for r in card.references}
    edits.add_references(doc, card_id, images)
    after = {r.image for r in doc.project.card(card_id).references}
    return len(after - before)


def training_set(doc: Document, card_id: str) -> tuple[list, list[tuple[str, ...]]]:
    """The card's reference images (PIL) and, per image, the view tags of the sheet tile it came from.

    A reference that is no sheet tile's image gets no tags. Feeds ``engine.training.captions_for``.
    """
    card = doc.project.card(card_id)
    tags_by_image: dict[str, tuple[str, ...]] = {}
    for _, panel in doc.project.iter_panels():
        view = view_of(panel)
        if view is not None:
            for variant in panel.variants:
                tags_by_image.setdefault(variant.image, view.tags)
    images, tags = [], []
    for ref in card.references:
        images.append(decode_png(doc.project.images[ref.image]).convert("RGB"))
        tags.append(tags_by_image.get(ref.image, ()))
    return images, tags


# --- from card to training request and back (plain data; the engine job trains) ------------------

def default_lora_path(doc: Document, card_id: str) -> Path:
    """``<project folder>/loras/<slug of card name>-<hash of card id>.safetensors``: the LoRA lives
    beside the project; nothing from the project becomes part of the path unchecked."""
    from .safe_paths import inside, safe_file_name

    if doc.path is None:
        raise ValueError("save the project first: a card's LoRA is stored beside the project file")
    card = doc.project.card(card_id)
    folder = doc.path.parent / "loras"
    return inside(folder, folder / safe_file_name(card.name, card.id, ".safetensors", "card"))


def card_training_request(doc: Document, card_id: str, base_model: str, output: Optional[str] = None,
                          **overrides: Any) -> TrainingRequest:
    """A TrainingRequest for a character card: its references, captions from description + trigger
    (+ view tags for sheet tiles). A card without a trigger word gets one from its name."""
    from engine.training import TrainingRequest, captions_for, default_trigger

    card = doc.project.card(card_id)
    if not isinstance(card, CharacterCard):
        raise ValueError(f"{card.name} is a style card: LoRA training needs a character card")
    images, tags = training_set(doc, card_id)
    if not images:
        raise ValueError(f"{card.name} has no reference images to train on")
    trigger = card.trigger.strip() or default_trigger(card.name)
    return TrainingRequest(base_model=base_model, images=images,
                           captions=captions_for(card.description, trigger, len(images), tags),
                           output=str(output or default_lora_path(doc, card_id)), **overrides)
