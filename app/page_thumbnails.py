"""Small page pictures kept with the project: stored in the ``.comic`` file, drawn once per page content.

A page's thumbnail is named by a fingerprint of everything that draws it (panels, variants,
placement, balloons), so an unchanged page keeps its picture across edits, saves and openings:
a save writes ``thumbnails/<fingerprint>.png`` for each page whose picture is known (drawn since,
or in the file it was opened from), and opening a file notes where those entries lie without
reading them. The Pages dock draws the missing ones off the GUI thread (:func:`render_thumbnail`).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Callable

from .picture_shelf import Shelf
from .project import Page, Project

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

THUMB_PX = 150  # height in pixels
MAX_THUMB_BYTES = 1024 * 1024
CACHE_BYTES = 32 * 1024 * 1024
MAX_PLACES = 20_000

SHELF = Shelf(MAX_THUMB_BYTES, CACHE_BYTES, MAX_PLACES)
remember, place, known, lookup = SHELF.remember, SHELF.place, SHELF.known, SHELF.lookup


def fingerprint(page: Page) -> str:
    """A hash of what draws ``page`` (its id excluded: two identical pages share a picture)."""
    from .manifest import encode

    return fingerprint_encoded(encode(page))


def fingerprint_encoded(data: dict) -> str:
    """:func:`fingerprint` of a page already encoded for the manifest."""
    data = {k: v for k, v in data.items() if k != "id"}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def render_thumbnail(project: Project, page: Page, height_px: int = THUMB_PX,
                     decoded: Callable[[str], "PILImage | None"] | None = None) -> bytes:
    """Draw ``page`` as the export does, ``height_px`` high, as PNG bytes (any thread).

    ``decoded`` gives an image's pixels when they are already decoded (the canvas keeps those of
    the page it shows): those are only reduced, not decoded again."""
    from . import render

    dpi = height_px / (page.height_mm / 25.4)
    max_side = 2 * height_px
    reduced = render.reduced_images(project, max_side)

    def source(key: str):
        pixels = decoded(key) if decoded is not None else None
        if pixels is None:
            return reduced(key)
        factor = max(pixels.width, pixels.height) // max(1, max_side)
        return render.qimage_from_pixels(pixels.reduce(factor) if factor >= 2 else pixels)
    return render.qimage_to_png(render.render_page(project, page, dpi=dpi, images=source))
