"""The limits of a project file, in one place (stated in the README's "Limits" section).

The loader refuses a file beyond them with one line, and the saver checks the same limits before
writing, so the app never writes a file it would refuse to open. They are generous: far beyond
any real comic, small enough that a hostile file cannot keep the app busy for minutes.
"""

from __future__ import annotations

from typing import Iterable

MAX_PAGES = 2_000
MAX_PANELS_PER_PAGE = 1_000
MAX_BALLOONS_PER_PAGE = 2_000
MAX_CARDS = 2_000  # character and style cards together
MAX_VARIANTS_PER_PANEL = 1_000
MAX_REFERENCES_PER_CARD = 500
MAX_FRAMES_PER_LOOP = 256  # frames of one motion panel's loop (each an image entry under the limits below)
MAX_LOOP_FPS = 60

MAX_MANIFEST_BYTES = 64 * 1024 * 1024  # manifest.json, uncompressed
MAX_ENTRY_BYTES = 1024 * 1024 * 1024  # one image entry
MAX_TOTAL_BYTES = 32 * 1024 * 1024 * 1024  # all entries, uncompressed
MAX_ENTRIES = 100_000
# A zip bomb: an image entry (the saver stores images, never deflates them) over this size whose
# compression ratio is above MAX_RATIO. manifest.json is exempt: plain JSON of 1-10 MB easily
# compresses 250:1, and its uncompressed size is bounded by MAX_MANIFEST_BYTES (read with that cap).
RATIO_MIN_BYTES = 1024 * 1024
MAX_RATIO = 200


def count_problem(pages: Iterable[tuple[int, int, Iterable[int]]], cards: Iterable[int]) -> str | None:
    """Why these counts are over a limit, or None.

    ``pages``: per page (panel count, balloon count, variant count of each panel); ``cards``:
    the reference count of each card."""
    pages, cards = list(pages), list(cards)
    if len(pages) > MAX_PAGES:
        return f"{len(pages)} pages (the limit is {MAX_PAGES})"
    for p, (panels, balloons, variants) in enumerate(pages):
        if panels > MAX_PANELS_PER_PAGE:
            return f"page {p + 1} has {panels} panels (the limit is {MAX_PANELS_PER_PAGE})"
        if balloons > MAX_BALLOONS_PER_PAGE:
            return f"page {p + 1} has {balloons} balloons (the limit is {MAX_BALLOONS_PER_PAGE})"
        for n in variants:
            if n > MAX_VARIANTS_PER_PANEL:
                return f"a panel on page {p + 1} has {n} variants (the limit is {MAX_VARIANTS_PER_PANEL})"
    if len(cards) > MAX_CARDS:
        return f"{len(cards)} cards (the limit is {MAX_CARDS})"
    for n in cards:
        if n > MAX_REFERENCES_PER_CARD:
            return f"a card has {n} reference images (the limit is {MAX_REFERENCES_PER_CARD})"
    return None
