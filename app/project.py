"""The comic document as plain data: project → pages → panels and balloons, plus card library.

Everything here is plain Python dataclasses with value equality, so that "undo all returns the
starting document" and "a saved project loads back equal" are simple ``==`` checks. Geometry is in
millimetres in the page's trim coordinates: (0, 0) is the top-left corner of the trim box, the bleed
extends into negative coordinates and past the trim size.

Images are not held as pixels: panels, variants and card references name an entry of
``Project.images`` (PNG bytes keyed by content hash, see :mod:`app.images`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Iterator

Point = tuple[float, float]

SCHEMA_VERSION = 3
CW_RANGE = (0, 100)
SW_RANGE = (0, 1000)
DEFAULT_CW = 100
DEFAULT_SW = 100


def new_id(prefix: str) -> str:
    """A short random id such as ``panel-1f3a9c0d``."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def points(self) -> list[Point]:
        return [(self.x, self.y), (self.right, self.y), (self.right, self.bottom), (self.x, self.bottom)]

    def translated(self, dx: float, dy: float) -> "Rect":
        return Rect(self.x + dx, self.y + dy, self.w, self.h)

    def as_list(self) -> list[float]:
        return [self.x, self.y, self.w, self.h]

    @staticmethod
    def bounding(points: list[Point]) -> "Rect":
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        return Rect(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


class ReadingOrder(str, Enum):
    LTR = "ltr"
    RTL = "rtl"


class IdentityMethod(str, Enum):
    """How a character card carries its identity on SD 1.5 / SDXL models; ``auto`` lets the engine
    choose (InstantID on SDXL when installed, else IP-Adapter FaceID)."""

    AUTO = "auto"
    INSTANTID = "instantid"
    FACEID = "faceid"
    PHOTOMAKER = "photomaker"


class BalloonKind(str, Enum):
    SPEECH = "speech"
    THOUGHT = "thought"
    CAPTION = "caption"
    SHOUT = "shout"
    WHISPER = "whisper"  # a speech balloon with a dashed outline


@dataclass
class CardBinding:
    """A card bound to a panel with its weight (``cw`` 0–100 for characters, ``sw`` 0–1000 for styles).

    ``region`` confines a character to part of the panel (two characters in one panel); None
    means the whole panel, or a half when two characters share it.
    """

    card: str
    weight: int
    region: list[float] | None = None  # character's area (x, y, w, h as fractions of the panel box)


@dataclass
class Placement:
    """Where a panel's image sits in its frame.

    ``scale`` 1.0 is "cover": the image just fills the frame's bounding box. ``offset_x/offset_y``
    move the image centre from the frame's bounding-box centre, in mm. A larger (outpainted) image
    can thus be reframed without touching its pixels.
    """

    offset_x: float = 0.0
    offset_y: float = 0.0
    scale: float = 1.0


@dataclass
class Motion:
    """A loop (a motion panel): its frames are keys in ``Project.images``, played at ``fps``;
    ``still`` is the frame that prints, which is also the variant's ``image``."""

    frames: list[str]
    fps: int = 8
    still: int = 0


@dataclass
class Variant:
    """One generated (or imported) image in a panel's history; an animated one holds a ``motion`` loop."""

    id: str
    image: str  # key in Project.images
    kind: str = "generate"  # generate | vary | pan | upscale | import | swap | animate
    seed: int | None = None
    prompt: str = ""
    favourite: bool = False
    created: str = ""  # ISO 8601
    params: dict = field(default_factory=dict)
    motion: Motion | None = None


@dataclass
class Panel:
    id: str
    points: list[Point]  # polygon in mm; a rectangle has 4 axis-aligned points
    z: int = 0
    prompt: str = ""
    negative_prompt: str = ""
    seed: int | None = None
    characters: list[CardBinding] = field(default_factory=list)
    styles: list[CardBinding] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    current: str | None = None  # id of the chosen variant, whose image the panel shows
    placement: Placement = field(default_factory=Placement)

    @property
    def bbox(self) -> Rect:
        return Rect.bounding(self.points)

    @property
    def is_rect(self) -> bool:
        return len(self.points) == 4 and self.points == self.bbox.points()

    def current_variant(self) -> Variant | None:
        return next((v for v in self.variants if v.id == self.current), None)

    @property
    def image(self) -> str | None:
        """Image key of the chosen variant, or None for an empty frame."""
        variant = self.current_variant()
        return variant.image if variant else None

    @property
    def motion(self) -> Motion | None:
        """The chosen variant's loop, or None when it is a still."""
        variant = self.current_variant()
        return variant.motion if variant else None


@dataclass
class Balloon:
    id: str
    kind: BalloonKind
    rect: Rect
    text: str = ""
    tail: Point | None = None  # tip of the tail in page mm; None for no tail
    font: str = ""  # family; "" means the bundled lettering font
    font_size: float = 9.0  # pt; auto-fit may shrink it at render time
    z: int = 1000


@dataclass
class Page:
    id: str
    width_mm: float
    height_mm: float
    size_name: str = "custom"
    bleed_mm: float = 3.0
    safe_mm: float = 10.0  # safe-area margin inside the trim
    gutter_mm: float = 5.0
    stroke_mm: float = 0.6
    reading_order: ReadingOrder = ReadingOrder.LTR
    template: str | None = None
    panels: list[Panel] = field(default_factory=list)
    balloons: list[Balloon] = field(default_factory=list)

    @property
    def trim(self) -> Rect:
        return Rect(0.0, 0.0, self.width_mm, self.height_mm)

    @property
    def bleed_rect(self) -> Rect:
        b = self.bleed_mm
        return Rect(-b, -b, self.width_mm + 2 * b, self.height_mm + 2 * b)

    @property
    def safe_rect(self) -> Rect:
        s = self.safe_mm
        return Rect(s, s, self.width_mm - 2 * s, self.height_mm - 2 * s)

    def panel(self, panel_id: str) -> Panel:
        for p in self.panels:
            if p.id == panel_id:
                return p
        raise KeyError(panel_id)

    def balloon(self, balloon_id: str) -> Balloon:
        for b in self.balloons:
            if b.id == balloon_id:
                return b
        raise KeyError(balloon_id)

    def item(self, item_id: str) -> Panel | Balloon:
        try:
            return self.panel(item_id)
        except KeyError:
            return self.balloon(item_id)

    def panels_in_reading_order(self) -> list[Panel]:
        """Panels sorted by rows (top to bottom), then left-to-right or right-to-left."""
        panels = sorted(self.panels, key=lambda p: p.bbox.y)
        rows: list[list[Panel]] = []
        row_end = 0.0  # the largest ``y + h / 2`` of the last row (kept as it grows: n log n overall)
        for p in panels:
            b = p.bbox
            if rows and b.y < row_end:
                rows[-1].append(p)
                row_end = max(row_end, b.y + b.h * 0.5)
            else:
                rows.append([p])
                row_end = b.y + b.h * 0.5
        rtl = self.reading_order == ReadingOrder.RTL
        ordered: list[Panel] = []
        for row in rows:
            ordered += sorted(row, key=lambda p: p.bbox.x + p.bbox.w / 2, reverse=rtl)
        return ordered


@dataclass
class Reference:
    """A reference image of a card, with its own weight (like Midjourney's ``URL::2``).

    ``faces`` caches face analysis of this image (per backend name); since ``image`` is a content
    hash, a changed reference is a new key and the cache can never be stale.
    """

    image: str
    weight: float = 1.0
    faces: dict = field(default_factory=dict)
    face_index: int = 0  # which face to use when the reference shows several


@dataclass
class CharacterCard:
    id: str
    name: str
    description: str = ""
    references: list[Reference] = field(default_factory=list)
    trigger: str = ""
    aliases: list[str] = field(default_factory=list)  # other names a script may use (case-insensitive)
    lora: str | None = None  # path of a LoRA file, relative to the project folder where possible
    lora_weight: float = 0.8
    identity_method: IdentityMethod = IdentityMethod.AUTO  # optional in files: older ones read as auto


@dataclass
class StyleCard:
    id: str
    name: str
    references: list[Reference] = field(default_factory=list)
    prompt_suffix: str = ""
    negative_prompt: str = ""
    model: str | None = None
    lora: str | None = None
    lora_weight: float = 0.8
    preset: str | None = None  # a bundled style preset name (anime, manga-ink, western, raw)


@dataclass
class Project:
    pages: list[Page] = field(default_factory=list)
    characters: list[CharacterCard] = field(default_factory=list)
    styles: list[StyleCard] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)  # content hash -> PNG bytes
    dpi: int = 300
    title: str = ""
    settings: dict = field(default_factory=dict)  # generation defaults: model, scheduler, preset…

    def page(self, page_id: str) -> Page:
        for p in self.pages:
            if p.id == page_id:
                return p
        raise KeyError(page_id)

    def page_index(self, page_id: str) -> int:
        return [p.id for p in self.pages].index(page_id)

    def find_panel(self, panel_id: str) -> tuple[Page, Panel]:
        for page in self.pages:
            for panel in page.panels:
                if panel.id == panel_id:
                    return page, panel
        raise KeyError(panel_id)

    def panel_or_none(self, panel_id: str | None) -> Panel | None:
        """The panel with this id, or None (no id, or the panel was deleted meanwhile)."""
        if not panel_id:
            return None
        try:
            return self.find_panel(panel_id)[1]
        except KeyError:
            return None

    def find_item(self, item_id: str) -> tuple[Page, Panel | Balloon]:
        for page in self.pages:
            for item in [*page.panels, *page.balloons]:
                if item.id == item_id:
                    return page, item
        raise KeyError(item_id)

    def card(self, card_id: str) -> CharacterCard | StyleCard:
        for c in [*self.characters, *self.styles]:
            if c.id == card_id:
                return c
        raise KeyError(card_id)

    def iter_panels(self) -> Iterator[tuple[Page, Panel]]:
        for page in self.pages:
            for panel in page.panels:
                yield page, panel

    def referenced_images(self) -> set[str]:
        keys: set[str] = set()
        for _, panel in self.iter_panels():
            keys.update(v.image for v in panel.variants)
            keys.update(key for v in panel.variants if v.motion is not None for key in v.motion.frames)
        for card in [*self.characters, *self.styles]:
            keys.update(r.image for r in card.references)
        return keys
