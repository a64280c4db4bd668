"""Load the base pipeline for training: a diffusers folder or a single-file SD 1.5/SDXL checkpoint.

Reuses the generation engine's loader (``engine.diffusion.pipelines.load_model``): offline only, a
single-file checkpoint gets its config folder from the shipped SD 1.5/SDXL configs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.jobs import ModelLoadError, ModelNotFoundError
from engine.registry import Arch, ModelInfo, ModelKind, ModelRegistry, classify_path


def resolve_base(base_model: str, registry: ModelRegistry | None = None) -> ModelInfo:
    """The ModelInfo of a path, or of a name in the models folder (``registry``)."""
    path = Path(base_model).expanduser()
    if path.exists():
        info = classify_path(path)
        if info is None or info.kind not in (ModelKind.PIPELINE, ModelKind.CHECKPOINT):
            raise ModelNotFoundError(f"{path} is not an SD 1.5/SDXL pipeline folder or checkpoint")
        return info
    if registry is None:
        raise ModelNotFoundError(f"base model {base_model} does not exist")
    return registry.resolve(base_model)


def arch_name(info: ModelInfo) -> str:
    return "sdxl" if info.arch is Arch.SDXL else "sd15"


def load_base_pipeline(info: ModelInfo, choice: Any = None) -> Any:
    """The base pipeline for training, loaded by the engine's own loader (same offline rules).

    ``choice`` is an ``engine.device.DeviceChoice`` (default: CPU, fp32).
    """
    from engine.device import DeviceChoice, DeviceOptions
    from engine.diffusion.pipelines import load_model

    if info.inpaint:
        raise ModelLoadError(f"{info.path.name} is an inpainting model: train on the plain base model")
    choice = choice or DeviceChoice("cpu", "fp32")
    pipe = load_model(info, choice, DeviceOptions(device=choice.device, dtype=choice.dtype_name)).base
    if not hasattr(pipe, "unet") or not hasattr(pipe, "vae") or pipe.unet.config.in_channels != 4:
        raise ModelLoadError(f"{info.path.name} is not a plain Stable Diffusion pipeline (UNet with 4 channels)")
    return pipe
