"""Load the base pipeline for training: a diffusers folder or a single-file SD 1.5/SDXL checkpoint.

Loads offline only (``local_files_only=True``); a single-file checkpoint gets its config folder from
``engine.diffusion.single_file_config`` (the shipped SD 1.5/SDXL configs), as generation does.
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


def load_base_pipeline(info: ModelInfo, dtype: Any = None) -> Any:
    """A diffusers pipeline (on the CPU) with all components needed for training."""
    from diffusers import DiffusionPipeline, StableDiffusionPipeline, StableDiffusionXLPipeline

    kwargs: dict[str, Any] = {"local_files_only": True}
    if dtype is not None:
        kwargs["torch_dtype"] = dtype
    try:
        if info.kind is ModelKind.PIPELINE:
            pipe = DiffusionPipeline.from_pretrained(str(info.path), **kwargs)
        else:
            from engine.diffusion.single_file_config import config_folder_for

            cls = StableDiffusionXLPipeline if info.arch is Arch.SDXL else StableDiffusionPipeline
            pipe = cls.from_single_file(str(info.path), config=str(config_folder_for(info.path, info.arch)),
                                        **kwargs)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelLoadError(f"cannot load {info.path.name} for training: {str(exc).splitlines()[0]}") from exc
    if not hasattr(pipe, "unet") or not hasattr(pipe, "vae"):
        raise ModelLoadError(f"{info.path.name} is not a Stable Diffusion pipeline (needs a UNet and a VAE)")
    if info.inpaint or pipe.unet.config.in_channels != 4:
        raise ModelLoadError(f"{info.path.name} is an inpainting model: train on the plain base model")
    pipe.set_progress_bar_config(disable=True)
    return pipe
