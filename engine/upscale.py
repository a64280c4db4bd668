"""Upscale to print resolution: an upscaler model through spandrel when available, else Lanczos.

spandrel (which detects ESRGAN-family architectures) needs torchvision and is an optional
extra (`pip install panelsmith[upscale]`); without it, or without a model, Lanczos is used.
"""
from __future__ import annotations

import importlib.util
import math
from typing import Optional

from PIL import Image

from engine.jobs import EngineError, ModelLoadError
from engine.registry import ModelInfo


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
