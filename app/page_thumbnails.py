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
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Callable

from .image_store import Stored
from .project import Page, Project

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

THUMB_PX = 150  # height in pixels
MAX_THUMB_BYTES = 1024 * 1024
CACHE_BYTES = 32 * 1024 * 1024
MAX_PLACES = 20_000

_lock = threading.Lock()
_pictures: OrderedDict[str, bytes] = OrderedDict()
_places: OrderedDict[str, Stored] = OrderedDict()
_size = 0


def fingerprint(page: Page) -> str:
    """A hash of what draws ``page`` (its id excluded: two identical pages share a picture)."""
    from .manifest import encode

    return fingerprint_encoded(encode(page))


def fingerprint_encoded(data: dict) -> str:
    """:func:`fingerprint` of a page already encoded for the manifest."""
    data = {k: v for k, v in data.items() if k != "id"}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def remember(fp: str, png: bytes) -> None:
    """Keep a drawn thumbnail (bounded: the least recently used are dropped)."""
    global _size
    if len(png) > MAX_THUMB_BYTES:
        return
    with _lock:
        if fp in _pictures:
            _pictures.move_to_end(fp)
            return
        _pictures[fp] = png
        _size += len(png)
        while _size > CACHE_BYTES and _pictures:
            _, old = _pictures.popitem(last=False)
            _size -= len(old)


def place(entries: dict[str, Stored]) -> None:
    """Note where thumbnails lie in a project file (read only when shown)."""
    with _lock:
        for fp, where in entries.items():
            if where.size <= MAX_THUMB_BYTES:
                _places[fp] = where
                _places.move_to_end(fp)
        while len(_places) > MAX_PLACES:
            _places.popitem(last=False)


def known(fp: str) -> bytes | Stored | None:
    """The thumbnail with this fingerprint: its bytes, where it lies in a file, or None."""
    with _lock:
        return _pictures.get(fp) or _places.get(fp)


def lookup(fp: str) -> bytes | None:
    """The PNG bytes of a known thumbnail (read from its file if need be); None if unknown or unreadable."""
    found = known(fp)
    if isinstance(found, Stored):
        try:
            data = found.read()
        except OSError:
            return None
        remember(fp, data)
        return data
    return found


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
