"""Load diffusers pipelines from the registry's models, and keep them cached.

One model's components are loaded once; the txt2img, img2img and inpaint pipelines are
views over the same components made with `from_pipe`, so switching task loads nothing.
`PipelineCache.loads` counts real loads (tests use it).
"""
from __future__ import annotations

import warnings

import logging
from dataclasses import dataclass, field
from typing import Any, Optional

from diffusers import (
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
    StableDiffusionXLPipeline,
)

from engine.device import DeviceChoice, DeviceOptions, place_pipeline
from engine.diffusion.qwen_parts import load_overrides
from engine.diffusion.single_file_config import config_folder_for
from engine.errors import one_line
from engine.families import Family, family_of, is_reference_family
from engine.jobs import ModelLoadError
from engine.registry import Arch, ModelInfo, ModelKind

from diffusers.utils import logging as diffusers_logging

log = logging.getLogger(__name__)
diffusers_logging.disable_progress_bar()  # the engine reports progress itself

TASKS = ("txt2img", "img2img", "inpaint")
_CLASSES = {
    Arch.SD15: dict(txt2img=StableDiffusionPipeline, img2img=StableDiffusionImg2ImgPipeline,
                    inpaint=StableDiffusionInpaintPipeline),
    Arch.SDXL: dict(txt2img=StableDiffusionXLPipeline, img2img=StableDiffusionXLImg2ImgPipeline,
                    inpaint=StableDiffusionXLInpaintPipeline),
}


@dataclass
class LoadedModel:
    info: ModelInfo
    choice: DeviceChoice
    arch: Arch
    base: Any
    scheduler_config: Any
    pipes: dict[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> Optional[Family]:
        """The reference-edit family of this model (None for SD 1.5 / SDXL)."""
        return family_of(self.arch.value) if is_reference_family(self.arch.value) else None

    @property
    def native_size(self) -> tuple[int, int]:
        if self.family is not None:
            return self.family.native_size
        side = int(self.base.unet.config.sample_size) * int(self.base.vae_scale_factor)
        return side, side

    def pipe(self, task: str) -> Any:
        """The pipeline for `task`, sharing this model's components (no loading)."""
        if task not in self.pipes:
            family = self.family
            # A reference family varies the whole image as an inpaint with a full mask.
            cls = family_class(family, "inpaint" if task == "img2img" else task) if family else _CLASSES[self.arch][task]
            self.pipes[task] = cls.from_pipe(self.base)
            self.pipes[task].set_progress_bar_config(disable=True)
        return self.pipes[task]


def family_class(family: Family, task: str) -> Any:
    """The diffusers pipeline class of a family's task, from the family table (never from a folder)."""
    import diffusers

    name = family.pipelines[task]
    cls = getattr(diffusers, name, None)
    if cls is None:
        raise ModelLoadError(f"{family.label} needs diffusers' {name}, which the installed diffusers "
                             f"{diffusers.__version__} lacks: update diffusers")
    return cls


def load_model(info: ModelInfo, choice: DeviceChoice, options: DeviceOptions) -> LoadedModel:
    """Load `info` (diffusers folder or single-file checkpoint) offline; ModelLoadError on failure."""
    family = family_of(info.arch.value) if is_reference_family(info.arch.value) else None
    arch = info.arch if info.arch in _CLASSES or family else Arch.SD15
    task = "inpaint" if info.inpaint else "txt2img"
    cls = family_class(family, task) if family else _CLASSES[arch][task]
    kwargs: dict[str, Any] = dict(torch_dtype=choice.dtype, local_files_only=True)
    if arch is Arch.SD15:
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    try:
        # `torch_dtype` works on every supported diffusers; newer ones warn that it is renamed.
        warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
        if info.kind is ModelKind.PIPELINE:
            kwargs.update(load_overrides(arch.value, info.path, info.path.is_dir()))
            pipe = cls.from_pretrained(str(info.path), **kwargs)
        elif info.kind is ModelKind.CHECKPOINT:
            config = config_folder_for(info.path, arch)
            pipe = cls.from_single_file(str(info.path), config=str(config), **kwargs)
        else:
            raise ModelLoadError(f"{info.name} is a {info.kind.value}, not an image generation model")
    except ModelLoadError:
        raise
    except Exception as exc:  # diffusers/safetensors/torch raise many types for bad files
        raise ModelLoadError(
            f"could not load model {info.name!r} from {info.path}: {one_line(exc)} "
            "(the file may be corrupt or incomplete; re-download it)"
        ) from exc
    place_pipeline(pipe, choice, options)
    loaded = LoadedModel(info, choice, arch, pipe, pipe.scheduler.config)
    loaded.pipes[task] = pipe
    return loaded


class PipelineCache:
    """Keeps the last `capacity` models loaded (one by default: VRAM is precious)."""

    def __init__(self, options: DeviceOptions = DeviceOptions(), capacity: int = 1) -> None:
        self.options = options
        self.capacity = capacity
        self.loads = 0
        self._models: dict[tuple, LoadedModel] = {}

    def get(self, info: ModelInfo, choice: DeviceChoice) -> LoadedModel:
        key = (str(info.path), choice)
        if key in self._models:
            self._models[key] = self._models.pop(key)  # most recently used last
            return self._models[key]
        while len(self._models) >= self.capacity:
            self._evict(next(iter(self._models)))
        log.info("loading model %s on %s (%s)", info.name, choice.device, choice.dtype_name)
        loaded = load_model(info, choice, self.options)
        self.loads += 1
        self._models[key] = loaded
        return loaded

    def _evict(self, key: tuple) -> None:
        self._models.pop(key, None)
        _empty_device_cache()

    def clear(self) -> None:
        for key in list(self._models):
            self._evict(key)


def _empty_device_cache() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
