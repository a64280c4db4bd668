"""Content-addressed image store helpers: PNG bytes keyed by their hash, decoded on demand."""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

from PIL import Image

MAX_IMAGE_PIXELS = 16384 * 16384  # refuse decompression bombs beyond this


def image_key(png: bytes) -> str:
    return hashlib.sha256(png).hexdigest()[:24]


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes of a PIL image (RGB/RGBA/L kept as is, other modes converted to RGBA)."""
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGBA")
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def put_image(images: dict[str, bytes], image: Image.Image | bytes) -> str:
    """Add an image (PIL or PNG bytes) to a project's store; returns its key."""
    png = image if isinstance(image, bytes) else encode_png(image)
    key = image_key(png)
    images.setdefault(key, png)
    return key


@lru_cache(maxsize=64)
def _decode(png: bytes) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


def decode_png(png: bytes) -> Image.Image:
    """A decoded copy of PNG bytes (cached; callers may modify the copy)."""
    return _decode(png).copy()


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the PNG header without decoding pixels."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
