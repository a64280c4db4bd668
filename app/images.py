"""Images in and out: the one intake for image files (:func:`open_image`), and the project's
content-addressed store (PNG bytes keyed by their hash, decoded on demand)."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import warnings
from functools import lru_cache
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from engine.errors import one_line
from engine.limits import MAX_IMAGE_PIXELS

from .image_store import png_size

Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # as engine.imageops sets it, before any project image is decoded

__all__ = ["MAX_IMAGE_PIXELS", "ImageError", "open_image", "pixel_problem", "image_key", "encode_png",
           "put_image", "stored_form", "decode_png", "png_size"]

_LIMIT_TEXT = f"the limit of {MAX_IMAGE_PIXELS:,} pixels (16384 × 16384)"


class ImageError(ValueError):
    """An image that cannot be taken in (one line naming the file)."""


def pixel_problem(size: tuple[int, int]) -> str | None:
    """Why an image of ``size`` (width, height) is refused; None when it is within the pixel limit."""
    width, height = size
    if width <= 0 or height <= 0:
        return f"has no pixels ({width} × {height})"
    if width * height > MAX_IMAGE_PIXELS:
        return f"is {width} × {height} pixels, more than {_LIMIT_TEXT}"
    return None


def open_image(source: str | os.PathLike | bytes, *, alpha: bool = False, what: str = "image",
               label: str | None = None) -> Image.Image:
    """An image file (or its bytes) as it is meant to be seen, in 8-bit sRGB: RGB, or RGBA with
    ``alpha`` when it has transparency (see :func:`engine.imageops.upright_8bit`).

    Only regular files are opened; the size is read from the header and checked against
    :data:`MAX_IMAGE_PIXELS` before any pixel is decoded. Errors are :class:`ImageError` with one line
    naming the file as ``label`` (default: ``what`` and the path).
    """
    from engine.imageops import upright_8bit  # numpy: imported on first use, not at window start

    if isinstance(source, (bytes, bytearray, memoryview)):
        label = label or what
        stream = io.BytesIO(source)
    else:
        label = label or f"{what} {os.fspath(source)}"
        try:
            info = os.stat(source)
        except FileNotFoundError:
            raise ImageError(f"{label} does not exist") from None
        except OSError as exc:
            raise ImageError(f"cannot read {label}: {(exc.strerror or one_line(exc)).lower()}") from None
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(f"cannot read {label}: not a regular file")
        stream = Path(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as img:
                problem = pixel_problem(img.size)
                if problem:
                    raise ImageError(f"{label} {problem}")
                img.load()
                return upright_8bit(img, alpha)
    except Image.DecompressionBombError:
        raise ImageError(f"{label} has more than twice {_LIMIT_TEXT}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"cannot read {label}: {one_line(exc)}") from None


def image_key(png: bytes) -> str:
    return hashlib.sha256(png).hexdigest()[:24]


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes of a PIL image (RGB/RGBA/L kept as is, other modes converted to RGBA)."""
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGBA")
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def stored_form(image: Image.Image | bytes) -> tuple[str, bytes]:
    """(key, PNG bytes) of an image entering a project; a PIL image's screen preview is made on
    the way (see :mod:`app.image_previews`: cheap while the pixels are at hand)."""
    if isinstance(image, bytes):
        return image_key(image), image
    png = encode_png(image)
    key = image_key(png)
    from . import image_previews

    image_previews.keep(key, image)
    return key, png


def put_image(images: dict[str, bytes], image: Image.Image | bytes) -> str:
    """Add an image (PIL or PNG bytes) to a project's store; returns its key."""
    key, png = stored_form(image)
    images.setdefault(key, png)
    return key


@lru_cache(maxsize=64)
def _decode(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


def decode_png(png: bytes) -> Image.Image:
    """A decoded copy of PNG bytes (cached; callers may modify the copy)."""
    return _decode(png).copy()


