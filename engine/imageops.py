"""Pure image maths for the operations (numpy/PIL/scipy, no torch).

Sizes, the context crop around a mask, outpaint canvases, colour matching and the
feathered paste that leaves every pixel farther than `feather` from the mask untouched.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from engine.jobs import Direction, EngineError, OutpaintSpec, PanSpec


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
