"""Screen-size previews of the project's large images, kept in the ``.comic`` file beside them.

At the page's usual zoom a panel shows its 1024² illustration a few hundred pixels wide, and
decoding the full PNG for that (about 90 ms of CPU) was most of what showing a page cost. A preview
is the image reduced by area averaging to at most :data:`PREVIEW_SIDE` pixels on its long side,
stored as JPEG at quality 95 without chroma subsampling (about 95 KB for 512², 4 ms to decode).
It is made whenever the pixels are at hand anyway (a generated or imported image, or one the
canvas decoded), saved as ``previews/<image key>.jpg`` and only located when a file is opened.
The canvas draws from it while a panel is shown no larger than the preview; exports, thumbnails
of pages and every edit use the full image. A preview whose size does not follow from its image's
size is not used (a file from elsewhere may hold anything).
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from .picture_shelf import Shelf

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

PREVIEW_SIDE = 512
MIN_SIDE = 640  # smaller images get no preview: their own decode is cheap enough
QUALITY = 95
MAX_PREVIEW_BYTES = 2 * 1024 * 1024
CACHE_BYTES = 64 * 1024 * 1024
MAX_PLACES = 100_000
ENTRY = re.compile(r"^previews/([0-9a-f]{8,64})\.jpg$")

SHELF = Shelf(MAX_PREVIEW_BYTES, CACHE_BYTES, MAX_PLACES)
remember, known, lookup = SHELF.remember, SHELF.known, SHELF.lookup


def entry_name(key: str) -> str:
    return f"previews/{key}.jpg"


def preview_size(width: int, height: int) -> tuple[int, int] | None:
    """The size of the preview of a ``width`` × ``height`` image; None when it gets none."""
    side = max(width, height)
    if side < MIN_SIDE or min(width, height) < 1:
        return None
    scale = PREVIEW_SIDE / side
    return max(1, round(width * scale)), max(1, round(height * scale))


def make(image: "PILImage") -> bytes | None:
    """JPEG bytes of ``image``'s preview; None for a small image or one with transparency."""
    size = preview_size(image.width, image.height)
    if size is None or image.mode not in ("RGB", "L"):
        return None
    from PIL import Image

    small = image.resize(size, Image.Resampling.BOX)
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=QUALITY, subsampling=0)
    return out.getvalue()


def keep(key: str, image: "PILImage") -> None:
    """Make and remember the preview of the image stored as ``key`` unless one is known."""
    if SHELF.known(key) is None:
        data = make(image)
        if data is not None:
            remember(key, data)


def decode(key: str, full_size: tuple[int, int]) -> "PILImage | None":
    """The known preview of ``key`` decoded (RGB or L), if it is sound and of the size its image's
    ``full_size`` gives; None otherwise (the caller then decodes the full image)."""
    expected = preview_size(*full_size)
    if expected is None or SHELF.known(key) is None:
        return None
    data = lookup(key)
    if data is None:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "JPEG" or img.size != expected or img.mode not in ("RGB", "L"):
                return None
            img.load()
            return img.copy() if img.mode == "RGB" else img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
