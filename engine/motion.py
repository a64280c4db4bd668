"""Motion adapters (AnimateDiff) in the models folder: which one fits a model, without loading weights.

A motion adapter fits a base model when its block widths equal the UNet's (SD 1.5 adapters have
(320, 640, 1280, 1280), SDXL ones (320, 640, 1280)). Widths come from a diffusers folder's
``config.json`` or from a ``.safetensors`` header (the ``proj_in`` of each down block's first
motion module), in the original AnimateDiff layout or diffusers' own.
"""
from __future__ import annotations

import json
import re
from typing import Optional, Sequence

from engine.jobs import ModelLoadError, ModelNotFoundError
from engine.registry import SUBFOLDERS, ModelInfo, ModelKind, ModelRegistry, read_safetensors_header

INSTALL_HINT = ("put {what} in {folder}/ (a MotionAdapter folder such as "
                "guoyww/animatediff-motion-adapter-v1-5-3, or its .safetensors)")
_PROJ_IN = re.compile(r"^down_blocks\.(\d+)\.motion_modules\.0\.(?:temporal_transformer\.)?proj_in\.weight$")


def adapter_widths(info: ModelInfo) -> tuple[int, ...]:
    """The block widths of a motion adapter (read from its config or header only)."""
    if info.path.is_dir():
        try:
            config = json.loads((info.path / "config.json").read_text(encoding="utf-8"))
            return tuple(int(w) for w in config.get("block_out_channels", ()))
        except (OSError, ValueError, TypeError) as exc:
            raise ModelLoadError(f"motion adapter {info.name}: unreadable config.json ({exc})") from None
    header = read_safetensors_header(info.path)
    widths: dict[int, int] = {}
    for key, entry in header.items():
        match = _PROJ_IN.match(key)
        if match and len(entry.get("shape", [])) >= 1:
            widths[int(match.group(1))] = int(entry["shape"][0])
    return tuple(widths[i] for i in sorted(widths))


def find_motion_adapter(registry: ModelRegistry, unet_widths: Sequence[int], model_name: str,
                        wanted: str = "") -> ModelInfo:
    """The motion adapter for a model whose UNet has ``unet_widths``; ``wanted`` names one.
    Raises ModelNotFoundError (one line naming what to install and where) when none fits."""
    folder = registry.models_dir / SUBFOLDERS[ModelKind.MOTION_ADAPTER]
    if wanted:
        found = [registry.resolve(wanted, (ModelKind.MOTION_ADAPTER,))]
    else:
        found = registry.models((ModelKind.MOTION_ADAPTER,))
    if not found:
        raise ModelNotFoundError(f"no motion adapter installed to animate {model_name}: "
                                 + INSTALL_HINT.format(what="an AnimateDiff motion adapter", folder=folder), detail=registry.help())
    widths = tuple(unet_widths)
    for info in found:
        if adapter_widths(info) == widths:
            return info
    names = ", ".join(info.name for info in found)
    family = "SDXL" if len(widths) == 3 else "SD 1.5" if len(widths) == 4 else "this model"
    raise ModelNotFoundError(f"no motion adapter fits {model_name} ({names}: another base model): "
                             + INSTALL_HINT.format(what=f"an {family} motion adapter", folder=folder),
                             detail=registry.help())


def describe(info: Optional[ModelInfo]) -> str:
    return info.name if info else "none"
