"""Pure image maths (numpy/PIL/scipy, no torch): pixels as people see them, and the operations.

Any image becomes upright 8-bit sRGB (:func:`upright_8bit`, :func:`to_rgb_array`); sizes, the
context crop around a mask, outpaint canvases, colour matching and the feathered paste that leaves
every pixel farther than `feather` from the mask untouched.
"""
from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageCms, ImageFilter, ImageOps

from engine.jobs import Direction, EngineError, OutpaintSpec, PanSpec
from engine.limits import MAX_IMAGE_PIXELS

Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # Pillow's own guard: warn above this, refuse above twice

_ORIENTATION = 0x0112
_DEEP_GREY = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _bits_per_sample(image: Image.Image) -> int:
    tags = getattr(image, "tag_v2", None)
    bits = tags.get(258) if tags is not None else None  # TIFF BitsPerSample
    if isinstance(bits, tuple):
        bits = bits[0] if bits else None
    return int(bits) if bits else (32 if image.mode == "F" else 16)


def _deep_grey_to_8bit(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit greyscale scaled (not clipped) to 0..255: integers by their bit depth
    (32-bit as signed), floats as 0..1 (the convention of float images; beyond it clipped)."""
    values = np.asarray(image).astype(np.float64)
    if image.mode == "F":
        values = np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=0.0)
        top = 1.0
    else:
        bits = 16 if image.mode.startswith("I;16") else _bits_per_sample(image)
        top = float(2 ** (31 if bits >= 32 else bits) - 1)
    return Image.fromarray(np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8), "L")


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """The image converted from its embedded ICC profile to sRGB; as it was when the profile does not fit."""
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    base = image.convert(image.mode[:-1]) if alpha is not None else image
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if ImageCms.getProfileDescription(profile).strip().startswith("sRGB"):
            return image
        converted = ImageCms.profileToProfile(base, profile, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


def upright_8bit(image: Image.Image, alpha: bool = False) -> Image.Image:
    """An image as it is meant to be seen, in 8-bit sRGB: its EXIF orientation applied, deep greyscale
    scaled to 8 bits, an embedded ICC profile converted to sRGB, palette, CMYK and the rest converted.

    RGB; or RGBA when ``alpha`` and the image has an alpha channel or a transparent colour. Without
    ``alpha``, transparent pixels are laid on white.
    """
    if image.getexif().get(_ORIENTATION, 1) != 1 or "XML:com.adobe.xmp" in image.info or "xmp" in image.info:
        image = ImageOps.exif_transpose(image)
    icc = image.info.get("icc_profile")
    if image.mode in _DEEP_GREY:
        image = _deep_grey_to_8bit(image)
    elif image.mode in ("P", "PA"):
        image = image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    elif image.mode in ("1", "La"):
        image = image.convert("L" if image.mode == "1" else "LA")
    elif image.mode not in ("L", "LA", "RGB", "RGBA", "CMYK"):
        image = image.convert("RGBA" if "A" in image.getbands() or "a" in image.getbands() else "RGB")
    if icc:
        image = _to_srgb(image, icc)
    if image.mode in ("RGBA", "LA"):
        if alpha:
            return image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image.convert("RGB"), mask=image.getchannel("A"))
        return flat
    return image.convert("RGB") if image.mode != "RGB" else image


def to_rgb_array(image: Any) -> np.ndarray:
    """Accept a path, a PIL image or an array (gray, RGB, RGBA) and return RGB uint8 (HxWx3).

    Paths and PIL images go through :func:`upright_8bit`; a path is refused above
    :data:`MAX_IMAGE_PIXELS` before its pixels are decoded.
    """
    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise ValueError(f"{os.fspath(image)} is {im.width} × {im.height} pixels, "
                                 f"more than the limit of {MAX_IMAGE_PIXELS:,}")
            return np.array(upright_8bit(im))
    if hasattr(image, "convert") and hasattr(image, "size"):
        return np.array(upright_8bit(image))
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        if arr.dtype.kind == "f" and arr.size and float(arr.max()) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 image, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def round8(value: float) -> int:
    return max(8, int(round(value / 8)) * 8)


def size_for_aspect(aspect: float, native_area: int) -> tuple[int, int]:
    """Width and height (multiples of 8) with the given aspect and about the native pixel count."""
    width = math.sqrt(native_area * aspect)
    return round8(width), round8(width / aspect)


def mask_to_bool(mask: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """The mask scaled to `size`, True where it is white (>= 128)."""
    grey = mask.convert("L")
    if grey.size != size:
        grey = grey.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(grey) >= 128


def distance_outside(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance of each pixel to the nearest mask pixel (0 inside)."""
    from scipy import ndimage  # imported on use: engine.faces imports this module and stays light

    return ndimage.distance_transform_edt(~mask)


def feather_alpha(distance: np.ndarray, feather: int) -> np.ndarray:
    """1 inside the mask, a smooth fall-off over `feather` px, exactly 0 beyond it."""
    t = np.clip(1 - distance / (feather + 1), 0.0, 1.0)
    alpha = t * t * (3 - 2 * t)
    alpha[distance > feather] = 0.0
    return alpha.astype(np.float32)


@dataclass(frozen=True)
class Region:
    box: tuple[int, int, int, int]  # crop in image pixels (left, top, right, bottom)
    process_size: tuple[int, int]  # the crop's size for the model (multiples of 8)


def plan_region(mask: np.ndarray, native_area: int, feather: int, context: float = 0.25) -> Region:
    """A context crop around the mask's bounding box, and its processing size near native area."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise EngineError("the mask is empty: paint where the image should change")
    height, width = mask.shape
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    margin = int(max(2 * feather + 8, context * max(x1 - x0, y1 - y0)))
    box = (max(0, x0 - margin), max(0, y0 - margin), min(width, x1 + margin), min(height, y1 + margin))
    crop_w, crop_h = box[2] - box[0], box[3] - box[1]
    scale = math.sqrt(native_area / (crop_w * crop_h))
    return Region(tuple(int(v) for v in box), (round8(crop_w * scale), round8(crop_h * scale)))


def outpaint_canvas(image: Image.Image, spec: OutpaintSpec) -> tuple[Image.Image, np.ndarray, tuple[int, int]]:
    """The enlarged canvas (new area pre-filled from the edges), its new-area mask, and the image offset."""
    width, height = image.size
    if isinstance(spec, PanSpec):
        extra_w = round(width * spec.amount) if spec.direction in (Direction.LEFT, Direction.RIGHT) else 0
        extra_h = round(height * spec.amount) if spec.direction in (Direction.UP, Direction.DOWN) else 0
        left = extra_w if spec.direction is Direction.LEFT else 0
        top = extra_h if spec.direction is Direction.UP else 0
        right, bottom = extra_w - left, extra_h - top
    else:
        new_w, new_h = round(width * spec.factor), round(height * spec.factor)
        left, top = (new_w - width) // 2, (new_h - height) // 2
        right, bottom = new_w - width - left, new_h - height - top
    pixels = np.asarray(image.convert("RGB"))
    padded = np.pad(pixels, ((top, bottom), (left, right), (0, 0)), mode="edge")
    mask = np.ones(padded.shape[:2], dtype=bool)
    mask[top : top + height, left : left + width] = False
    blurred = np.asarray(Image.fromarray(padded).filter(ImageFilter.GaussianBlur(max(2, min(width, height) // 16))))
    canvas = np.where(mask[..., None], blurred, padded)
    return Image.fromarray(canvas.astype(np.uint8), "RGB"), mask, (left, top)


def colour_match(generated: np.ndarray, original: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Shift/scale each channel of `generated` so its statistics on `ring` match `original`'s."""
    if ring.sum() < 16:
        return generated
    out = generated.astype(np.float32)
    for c in range(3):
        g, o = out[..., c][ring], original[..., c][ring].astype(np.float32)
        gain = np.clip((o.std() + 1e-3) / (g.std() + 1e-3), 0.5, 2.0)
        out[..., c] = (out[..., c] - g.mean()) * gain + o.mean()
    return np.clip(out, 0, 255)


def blend_into(original: np.ndarray, generated: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """original where alpha == 0 (byte-identical), the alpha blend elsewhere."""
    out = original.copy()
    touched = alpha > 0
    a = alpha[touched][:, None]
    mixed = original[touched].astype(np.float32) * (1 - a) + generated[touched].astype(np.float32) * a
    out[touched] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return out
