"""Upscale to print resolution: an upscaler model through spandrel when available, else Lanczos.

spandrel (which detects ESRGAN-family architectures) needs torchvision and is an optional
extra (`pip install panelsmith[upscale]`); without it, or without a model, Lanczos is used.
"""
from __future__ import annotations

import importlib.util
import math
from typing import TYPE_CHECKING, Optional

from PIL import Image

from engine.jobs import EngineError, ModelLoadError
from engine.registry import ModelInfo

if TYPE_CHECKING:
    import numpy as np


def spandrel_available() -> bool:
    return importlib.util.find_spec("spandrel") is not None


def target_size(size: tuple[int, int], scale: Optional[float], width: Optional[int], height: Optional[int]) -> tuple[int, int]:
    w, h = size
    if width and height:
        return width, height
    if width:
        return width, max(1, round(h * width / w))
    if height:
        return max(1, round(w * height / h)), height
    if scale and scale > 0:
        return max(1, round(w * scale)), max(1, round(h * scale))
    raise EngineError("upscale needs a scale factor or a target width/height")


def lanczos(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def model_upscale(image: Image.Image, size: tuple[int, int], info: ModelInfo, device: str) -> Image.Image:
    """Run a spandrel-loadable upscaler as often as needed, then Lanczos to the exact size."""
    if not spandrel_available():
        raise EngineError("upscaler models need the optional 'spandrel' package (pip install spandrel); "
                          "leave the upscaler unset to use Lanczos")
    import numpy as np
    import torch
    from spandrel import ModelLoader

    try:
        model = ModelLoader(device=device).load_from_file(str(info.path)).eval()
    except Exception as exc:
        raise ModelLoadError(f"could not load upscaler {info.name!r}: {exc}") from exc
    current = image.convert("RGB")
    passes = max(1, math.ceil(math.log(max(size[0] / current.width, size[1] / current.height), model.scale)))
    with torch.inference_mode():
        for _ in range(passes):
            tensor = torch.from_numpy(np.asarray(current)).permute(2, 0, 1)[None].float().div(255).to(device)
            result = model(tensor).clamp(0, 1)[0].permute(1, 2, 0).mul(255).round().byte().cpu().numpy()
            current = Image.fromarray(result, "RGB")
    return lanczos(current, size)


# --- tiled refine: tile layout and feathered blending (pure numpy) --------------------------------

def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    step = (length - tile) / (count - 1)
    return [round(i * step) for i in range(count)]


def tile_boxes(size: tuple[int, int], tile: tuple[int, int], overlap: int) -> list[tuple[int, int, int, int]]:
    """Boxes (left, top, right, bottom) of `tile`-sized tiles covering `size`, neighbours
    overlapping by at least `overlap` pixels; a side shorter than the tile gets one tile."""
    width, height = size
    tw, th = min(tile[0], width), min(tile[1], height)
    overlap = max(0, min(overlap, tw // 2, th // 2))
    return [(x, y, x + tw, y + th) for y in _starts(height, th, overlap) for x in _starts(width, tw, overlap)]


def _ramp(length: int, overlap: int, taper_start: bool, taper_end: bool) -> "np.ndarray":
    import numpy as np

    ramp = np.ones(length, np.float32)
    if overlap > 0:
        edge = (np.arange(length, dtype=np.float32) + 0.5) / overlap
        if taper_start:
            ramp = np.minimum(ramp, edge)
        if taper_end:
            ramp = np.minimum(ramp, edge[::-1])
    return np.clip(ramp, 1e-4, 1.0)


def tile_weight(box: tuple[int, int, int, int], size: tuple[int, int], overlap: int) -> "np.ndarray":
    """Blend weight of a tile: 1 inside, falling linearly to ~0 over `overlap` pixels at the sides
    that touch other tiles (sides on the image border stay at 1)."""
    import numpy as np

    left, top, right, bottom = box
    wx = _ramp(right - left, overlap, left > 0, right < size[0])
    wy = _ramp(bottom - top, overlap, top > 0, bottom < size[1])
    return np.outer(wy, wx)


def blend_tiles(size: tuple[int, int], tiles: list[tuple[tuple[int, int, int, int], "np.ndarray"]],
                overlap: int) -> Image.Image:
    """Blend RGB tiles (box, HxWx3 uint8 array) into one image with feathered overlaps (no seams)."""
    import numpy as np

    width, height = size
    acc = np.zeros((height, width, 3), np.float32)
    total = np.zeros((height, width, 1), np.float32)
    for box, pixels in tiles:
        left, top, right, bottom = box
        weight = tile_weight(box, size, overlap)[..., None]
        acc[top:bottom, left:right] += pixels.astype(np.float32) * weight
        total[top:bottom, left:right] += weight
    out = acc / np.maximum(total, 1e-8)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGB")
