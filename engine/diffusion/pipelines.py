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
from engine.diffusion.single_file_config import V_PREDICTION_GUIDANCE_RESCALE, config_folder_for, scheduler_overrides
from engine.diffusion.transformer_files import load_transformer_pipeline
from engine.errors import one_line
from engine.families import Family, family_of, is_reference_family
from engine.jobs import ModelLoadError
from engine.memory import MemoryEstimate, choose_mode, describe_plan, estimate, free_device_memory
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
    #: Pipeline call arguments the model needs on every call (guidance_rescale for v-prediction).
    call_defaults: dict[str, Any] = field(default_factory=dict)
    memory_mode: str = "none"
    memory_note: str = ""

    @property
    def family(self) -> Optional[Family]:
        """The reference-edit family of this model (None for SD 1.5 / SDXL)."""
        return family_of(self.arch.value) if is_reference_family(self.arch.value) else None

    @property
    def native_size(self) -> tuple[int, int]:
        if self.family is not None:
            return self.family.native_size
        unet = getattr(self.base, "unet", None)
        sample = unet.config.sample_size if unet is not None else getattr(self.base, "default_sample_size", 128)
        side = int(sample) * int(self.base.vae_scale_factor)
        return side, side

    def pipe(self, task: str) -> Any:
        """The pipeline for `task`, sharing this model's components (no loading)."""
        if task not in self.pipes and self.arch not in _CLASSES and self.family is None:
            raise ModelLoadError(f"{self.info.name} cannot run {task} here")
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


def memory_plan(info: ModelInfo, choice: DeviceChoice, options: DeviceOptions) -> tuple[str, str]:
    """(offload mode, one line saying how much memory the model will take), before anything loads."""
    try:
        need = estimate(info, choice.dtype_name)
    except (ModelLoadError, OSError, ValueError, ImportError) as exc:
        log.warning("cannot size %s: %s", info.name, one_line(exc, 120))
        need = MemoryEstimate()
    free = free_device_memory(choice.device)
    mode = choose_mode(options.memory_mode, need, free)
    return mode, describe_plan(info.name, need, mode, free)


def load_model(info: ModelInfo, choice: DeviceChoice, options: DeviceOptions,
               plan: Optional[tuple[str, str]] = None) -> LoadedModel:
    """Load `info` (diffusers folder, single-file checkpoint, or a single-file/GGUF transformer with its
    family's diffusers folder) offline; ModelLoadError on failure. `plan`: memory_plan's answer."""
    mode, note = plan or memory_plan(info, choice, options)
    log.info("%s", note)
    if info.kind is ModelKind.TRANSFORMER:
        pipe = load_transformer_pipeline(info, choice.dtype)
        place_pipeline(pipe, choice, options, mode)
        loaded = LoadedModel(info, choice, info.arch, pipe, pipe.scheduler.config, memory_mode=mode, memory_note=note)
        loaded.pipes["txt2img"] = pipe
        return loaded
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
    overrides = scheduler_overrides(info.v_prediction, info.zero_snr)
    if overrides:
        pipe.scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config, **overrides)
    place_pipeline(pipe, choice, options, mode)
    defaults = {"guidance_rescale": V_PREDICTION_GUIDANCE_RESCALE} if info.v_prediction else {}
    loaded = LoadedModel(info, choice, arch, pipe, pipe.scheduler.config, call_defaults=defaults,
                         memory_mode=mode, memory_note=note)
    loaded.pipes[task] = pipe
    return loaded


class PipelineCache:
    """Keeps the last `capacity` models loaded (one by default: VRAM is precious)."""

    def __init__(self, options: DeviceOptions = DeviceOptions(), capacity: int = 1) -> None:
        self.options = options
        self.capacity = capacity
        self.loads = 0
        self._models: dict[tuple, LoadedModel] = {}
        self._plans: dict[tuple, tuple[str, str]] = {}

    def plan_note(self, info: ModelInfo, choice: DeviceChoice) -> str:
        """What loading `info` will take ('' when it is loaded already): said before the load starts."""
        key = (str(info.path), choice)
        if key in self._models:
            return ""
        self._plans[key] = memory_plan(info, choice, self.options)
        return self._plans[key][1]

    def get(self, info: ModelInfo, choice: DeviceChoice) -> LoadedModel:
        key = (str(info.path), choice)
        if key in self._models:
            self._models[key] = self._models.pop(key)  # most recently used last
            return self._models[key]
        while len(self._models) >= self.capacity:
            self._evict(next(iter(self._models)))
        log.info("loading model %s on %s (%s)", info.name, choice.device, choice.dtype_name)
        loaded = load_model(info, choice, self.options, self._plans.pop(key, None))
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
