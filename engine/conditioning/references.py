"""Cards -> the reference images and prompt wording of a reference-edit model (no torch).

`plan_references` turns the job's character and style conditions (and, for Edit, the panel's
current image as the first reference) into the images one pipeline call takes, the words that
name each character in the prompt, and notes for the user. The rules are in MAPPING.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from PIL import Image

from engine.conditioning.mapping import cw_reference_counts, sw_reference_count
from engine.conditioning.types import CharacterReference, StyleCondition
from engine.families import Family

MIN_SIDE = 64  # the smallest reference side the pipelines accept
COMPOSE_HEIGHT = 1024  # composed references are at most this tall


@dataclass
class ReferencePlan:
    images: list[Image.Image] = field(default_factory=list)
    wording: str = ""  # added before the prompt
    notes: list[str] = field(default_factory=list)

    def prompt(self, text: str) -> str:
        return " ".join(p for p in (self.wording, text.strip()) if p)


@dataclass
class _Item:
    image: Image.Image
    owner: str  # a character's name, "style" or "current"


def _character_items(char: CharacterReference) -> list[_Item]:
    faces, full = cw_reference_counts(char.cw, len(char.reference_images))
    items = [_Item(char.face_image, char.name)] if faces and char.face_image is not None else []
    if not items and not full and char.reference_images:  # no face found: the best full reference stands in
        full = 1
    order = sorted(range(len(char.reference_images)), key=lambda i: -char.reference_weights[i])
    items += [_Item(char.reference_images[i], char.name) for i in order[:full]]
    return items


def _at_least(image: Image.Image, side: int = MIN_SIDE) -> Image.Image:
    image = image.convert("RGB")
    if min(image.size) >= side:
        return image
    scale = side / min(image.size)
    return image.resize((max(side, round(image.width * scale)), max(side, round(image.height * scale))),
                        Image.Resampling.LANCZOS)


def compose_side_by_side(images: Sequence[Image.Image], height: Optional[int] = None) -> Image.Image:
    """One image holding ``images`` left to right at a common height (at most COMPOSE_HEIGHT)."""
    height = height or min(COMPOSE_HEIGHT, max(im.height for im in images))
    scaled = [im.convert("RGB").resize((max(1, round(im.width * height / im.height)), height),
                                        Image.Resampling.LANCZOS) for im in images]
    out = Image.new("RGB", (sum(im.width for im in scaled), height), (255, 255, 255))
    x = 0
    for im in scaled:
        out.paste(im, (x, 0))
        x += im.width
    return out


def plan_references(family: Family, conditions: Sequence, current: Optional[Image.Image] = None) -> ReferencePlan:
    """The references of one call: ``current`` first (Edit), then each character's (in binding order),
    then the style cards'. More than ``family.max_references``: the first ones stay, the rest are
    composed side by side into the last slot, and a note says so."""
    plan = ReferencePlan()
    items = [_Item(current, "current")] if current is not None else []
    for cond in conditions:
        if isinstance(cond, CharacterReference):
            items += _character_items(cond)
        elif isinstance(cond, StyleCondition) and cond.sw > 0:
            count = sw_reference_count(cond.sw, len(cond.reference_images))
            items += [_Item(im, "style") for im in cond.reference_images[:count]]
    if not items:
        return plan
    limit = max(1, family.max_references)
    slots: list[list[_Item]] = [[item] for item in items[:limit - 1]] + [items[limit - 1:]]
    slots = [s for s in slots if s]
    if len(items) > limit:
        plan.notes.append(f"{len(items)} reference images but {family.label} takes {limit}: images "
                          f"{limit} to {len(items)} were composed side by side into one")
    plan.images = [_at_least(s[0].image) if len(s) == 1 else compose_side_by_side([i.image for i in s])
                   for s in slots]
    plan.wording = _wording(family, slots, edit=current is not None)
    return plan


def _wording(family: Family, slots: list[list[_Item]], edit: bool) -> str:
    """Prompt words naming each character's (and the style's) reference images."""
    where: dict[str, list[str]] = {}
    for n, slot in enumerate(slots, 1):
        word = family.reference_word.format(n=n)
        for part, item in enumerate(slot, 1):
            label = word if len(slot) == 1 else f"{word} (part {part} from the left)"
            where.setdefault(item.owner, [])
            if label not in where[item.owner]:
                where[item.owner].append(label)
    phrases = []
    for owner, labels in where.items():
        if owner == "current":
            continue
        joined = " and ".join(labels)
        phrases.append(f"in the style of {joined}" if owner == "style" else f"keep {owner} exactly as in {joined}")
    if edit and "current" in where:
        phrases.insert(0, f"edit {where['current'][0]}")
    return "; ".join(phrases) + ("." if phrases else "")
