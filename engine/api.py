"""The synchronous engine: `Engine.run(request, progress_cb, cancel_event) -> JobResult`.

Plain Python (callbacks and a cancel event, no Qt): used directly by the command line, and by
`app.workers.EngineWorker` in its thread. `run` validates each request: it is the one check
an invalid request meets. The diffusion backend (torch, diffusers) is imported on first use only.
"""
from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np
from PIL import Image

from engine import imageops, upscale
from engine.device import DeviceOptions
from engine.families import cannot_edit_message, family_of, is_reference_family
from engine.jobs import (
    EngineError,
    GenerationRequest,
    JobCancelled,
    JobKind,
    JobProgress,
    JobResult,
    LoraConditioning,
)
from engine.registry import ModelInfo, ModelKind, ModelRegistry
from engine.sampling import Sampling, sampling_for

if TYPE_CHECKING:
    from engine.diffusion.backend import DiffusionBackend
    from engine.diffusion.backend import JobExtras
    from engine.diffusion.pipelines import LoadedModel

ProgressCallback = Callable[[JobProgress], None]


class Engine:
    """Runs one request at a time; keeps the last model loaded between jobs.

    models_dir: the models folder (default: $PANELSMITH_MODELS or ~/.local/share/Panelsmith/models).
    options: device/dtype and memory options (a request's `device` overrides the device).
    """

    def __init__(self, models_dir: Optional[str | Path] = None, options: DeviceOptions = DeviceOptions(),
                 registry: Optional[ModelRegistry] = None) -> None:
        self.registry = registry or ModelRegistry(models_dir)
        self.options = options
        self._backend: Optional[DiffusionBackend] = None
        #: Told, before a model loads, how much memory it will take (a JobProgress with `note`, step 0).
        self.on_note: Optional[ProgressCallback] = None

    @property
    def backend(self) -> "DiffusionBackend":
        if self._backend is None:
            from engine.diffusion.backend import DiffusionBackend

            self._backend = DiffusionBackend(self.options)
        return self._backend

    @property
    def loads(self) -> int:
        """How many times a model was really loaded (not taken from the cache)."""
        return self._backend.cache.loads if self._backend else 0

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()

    def run(self, request: GenerationRequest, progress_cb: Optional[ProgressCallback] = None,
            cancel_event: Optional[threading.Event] = None) -> JobResult:
        """Run `request` to completion. Raises EngineError (JobCancelled when cancelled)."""
        cancel = cancel_event or threading.Event()
        request.validate()
        started = time.perf_counter()
        if request.kind is JobKind.UPSCALE:
            result = self._upscale(request, progress_cb, cancel)
        elif request.kind is JobKind.ANIMATE:
            result = self._animate(request, progress_cb, cancel)
        else:
            result = self._diffuse(request, progress_cb, cancel)
        if cancel.is_set():
            raise JobCancelled("cancelled")
        result.metadata["seconds"] = round(time.perf_counter() - started, 3)
        return result

    # -- diffusion jobs ---------------------------------------------------------------------------

    def _diffuse(self, request: GenerationRequest, progress_cb: Optional[ProgressCallback],
                 cancel: threading.Event) -> JobResult:
        from engine.diffusion.backend import Prompt

        from engine.conditioning import find_adapters, has_conditioning, suggested_guidance
        from engine.diffusion.backend import JobExtras

        info = self.registry.resolve(request.model)
        if request.kind is JobKind.EDIT and not getattr(family_of(info.arch.value), "can_edit", False):
            raise EngineError(cannot_edit_message(info.name, info.arch.value))
        extras = JobExtras(self._loras(request))
        if has_conditioning(request) and is_reference_family(info.arch.value):
            extras.conditions = [c for c in request.conditioning if not isinstance(c, LoraConditioning)]
        elif has_conditioning(request):
            extras.conditions = [c for c in request.conditioning if not isinstance(c, LoraConditioning)]
            extras.adapters = find_adapters(self.registry, info.arch)
        if cancel.is_set():
            raise JobCancelled("cancelled")
        note = self.backend.load_note(info, request.device)
        if note and self.on_note is not None:
            self.on_note(JobProgress(request.job_id, 0, 0, None, note=note))
        model = self.backend.model(info, request.device)
        family = next((i.variant for i, _w in extras.loras if i.variant == "lcm"), None) or info.family
        guidance = request.guidance
        if guidance is None and extras.conditions:
            guidance = suggested_guidance(request, info.arch, family)
        sampling = sampling_for(family, request.preset, request.scheduler, request.steps, guidance)
        first_seed = request.seed if request.seed is not None else random.randrange(2**32)
        seeds = [(first_seed + i) % 2**32 for i in range(request.variants)]
        prompt = Prompt(request.prompt, request.negative_prompt)
        images = self._paint(request, model, prompt, seeds, sampling, progress_cb, cancel, extras)
        size = images[0].size
        metadata = dict(model=info.name, model_path=str(info.path), arch=model.arch.value,
                        scheduler=sampling.scheduler, steps=sampling.steps, guidance=sampling.guidance,
                        width=size[0], height=size[1], device=model.choice.device, dtype=model.choice.dtype_name,
                        loras=[(i.name, w) for i, w in extras.loras], warnings=list(extras.warnings))
        return JobResult(request.job_id, request, images, seeds, metadata)

    def _paint(self, request: GenerationRequest, model, prompt, seeds: list[int], sampling: Sampling,
               progress_cb: Optional[ProgressCallback], cancel: threading.Event, extras) -> list[Image.Image]:
        """One image per seed on the backend: txt2img, img2img, or a repaint (vary region / outpaint)."""

        def step_cb(index: int) -> Optional[Callable]:
            if progress_cb is None:
                return None

            def on_step(done: int, total: int, preview: Optional[Image.Image]) -> None:
                progress_cb(JobProgress(request.job_id, index * total + done, total * len(seeds), preview))

            return on_step

        if request.kind is JobKind.EDIT:
            return self._edit(request, model, prompt, seeds, sampling, step_cb, cancel, extras)
        if request.kind is JobKind.GENERATE and request.init_image is not None:
            return self._img2img(request, model, prompt, seeds, sampling, step_cb, cancel, extras)
        if request.kind is JobKind.GENERATE:
            size = self._generate_size(request, model)
            return [self._call(self.backend.txt2img, model, prompt, size, seed, sampling, step_cb(i), cancel, extras)
                    for i, seed in enumerate(seeds)]
        return self._repaint(request, model, prompt, seeds, sampling, step_cb, cancel, extras)

    @staticmethod
    def _call(fn: Callable, *args) -> Image.Image:
        try:
            return fn(*args)
        except (EngineError, MemoryError):
            raise
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower():
                raise EngineError("the GPU ran out of memory: try a smaller size, fewer variants, "
                                  "or CPU offload in Preferences") from exc
            raise

    def _loras(self, request: GenerationRequest) -> list[tuple[ModelInfo, float]]:
        loras = []
        for cond in request.conditioning:
            if isinstance(cond, LoraConditioning):
                loras.append((self.registry.resolve(cond.model, (ModelKind.LORA,)), cond.weight))
            elif type(cond).__name__ not in ("CharacterCondition", "StyleCondition", "CharacterReference"):
                raise EngineError(f"conditioning {type(cond).__name__} is not supported by this engine")
        return loras

    @staticmethod
    def _generate_size(request: GenerationRequest, model: "LoadedModel") -> tuple[int, int]:
        native_w, native_h = native_size(request, model)
        if request.width and request.height:
            return imageops.round8(request.width), imageops.round8(request.height)
        aspect = request.aspect_ratio
        if aspect is None and (request.width or request.height):
            raise EngineError("give both width and height, or an aspect ratio")
        return imageops.size_for_aspect(aspect or native_w / native_h, native_w * native_h)

    def _img2img(self, request: GenerationRequest, model: "LoadedModel", prompt, seeds: list[int],
                 sampling: Sampling, step_cb: Callable, cancel: threading.Event,
                 extras: "JobExtras") -> list[Image.Image]:
        """GENERATE with an init image: a whole-image variation at `strength` (default 0.6),
        processed near native area and returned at the init image's size."""
        source = request.init_image.convert("RGB")
        native_w, native_h = native_size(request, model)
        if request.width and request.height:
            size = imageops.round8(request.width), imageops.round8(request.height)
        else:
            size = imageops.size_for_aspect(source.width / source.height, native_w * native_h)
        start = source.resize(size, Image.Resampling.LANCZOS)
        strength = request.strength if request.strength is not None else 0.6
        out = []
        for index, seed in enumerate(seeds):
            image = self._call(self.backend.img2img, model, prompt, start, seed, sampling, strength, step_cb(index),
                               cancel, extras)
            out.append(image if request.width and request.height else image.resize(source.size, Image.Resampling.LANCZOS))
        return out

    def _edit(self, request: GenerationRequest, model: "LoadedModel", prompt, seeds: list[int],
              sampling: Sampling, step_cb: Callable, cancel: threading.Event,
              extras: "JobExtras") -> list[Image.Image]:
        """EDIT: the current image is the first reference and the prompt the instruction; processed near
        the native area (multiples of 16) and returned at the current image's size."""
        source = request.init_image.convert("RGB")
        native_w, native_h = native_size(request, model)
        if request.width and request.height:
            size = imageops.round8(request.width), imageops.round8(request.height)
        else:
            size = imageops.size_for_aspect(source.width / source.height, native_w * native_h)
        size = (max(16, size[0] // 16 * 16), max(16, size[1] // 16 * 16))
        out = []
        for index, seed in enumerate(seeds):
            image = self._call(self.backend.edit, model, prompt, source, size, seed, sampling, step_cb(index), cancel,
                               extras)
            out.append(image if request.width and request.height else image.resize(source.size, Image.Resampling.LANCZOS))
        return out

    def _repaint(self, request: GenerationRequest, model: "LoadedModel", prompt, seeds: list[int],
                 sampling: Sampling, step_cb: Callable, cancel: threading.Event,
                 extras: "JobExtras") -> list[Image.Image]:
        """Vary region and outpaint: inpaint a context crop at native size, paste back feathered."""
        source = request.init_image.convert("RGB")
        if request.kind is JobKind.OUTPAINT:
            canvas, mask, _offset = imageops.outpaint_canvas(source, request.outpaint)
            context = 1.0
        else:
            canvas, mask, context = source, imageops.mask_to_bool(request.mask, source.size), 0.25
        native_w, native_h = native_size(request, model)
        feather = request.feather_px
        region = imageops.plan_region(mask, native_w * native_h, feather, context)
        left, top, right, bottom = region.box
        original = np.asarray(canvas)
        distance = imageops.distance_outside(mask)
        alpha = imageops.feather_alpha(distance, feather)[top:bottom, left:right]
        crop_dist = distance[top:bottom, left:right]
        repaint = Image.fromarray(((crop_dist <= feather) * 255).astype(np.uint8), "L")
        ring = (crop_dist > 0) & (crop_dist <= 2 * feather + 4)
        crop = canvas.crop(region.box)
        crop_original = original[top:bottom, left:right]
        model_image = crop.resize(region.process_size, Image.Resampling.LANCZOS)
        model_mask = repaint.resize(region.process_size, Image.Resampling.NEAREST)
        strength = request.strength if request.strength is not None else 1.0
        images = []
        for index, seed in enumerate(seeds):
            out = self._call(self.backend.inpaint, model, prompt, model_image, model_mask, seed, sampling, strength,
                             step_cb(index), cancel, extras)
            generated = np.asarray(out.convert("RGB").resize(crop.size, Image.Resampling.LANCZOS))
            matched = imageops.colour_match(generated, crop_original, ring)
            result = original.copy()
            result[top:bottom, left:right] = imageops.blend_into(crop_original, matched, alpha)
            images.append(Image.fromarray(result, "RGB"))
        return images

    # -- animate ---------------------------------------------------------------------------------------

    def _animate(self, request: GenerationRequest, progress_cb: Optional[ProgressCallback],
                 cancel: threading.Event) -> JobResult:
        """ANIMATE: one loop of `request.frames` frames (the result's images) with the motion adapter
        that fits the model (`request.motion_adapter` names one; default: the first that fits)."""
        from engine.conditioning import find_adapters, has_conditioning, suggested_guidance
        from engine.diffusion.backend import JobExtras, Prompt
        from engine.motion import find_motion_adapter

        info = self.registry.resolve(request.model)
        if is_reference_family(info.arch.value):
            raise EngineError(f"{info.name} cannot animate: motion adapters work with SD 1.5 and SDXL models")
        extras = JobExtras(self._loras(request))
        if has_conditioning(request):  # the cards condition a loop as they condition a still
            extras.conditions = [c for c in request.conditioning if not isinstance(c, LoraConditioning)]
            extras.adapters = find_adapters(self.registry, info.arch)
        if cancel.is_set():
            raise JobCancelled("cancelled")
        model = self.backend.model(info, request.device)
        adapter = find_motion_adapter(self.registry, model.base.unet.config.block_out_channels, info.name,
                                      request.motion_adapter)
        guidance = request.guidance
        if guidance is None and extras.conditions:
            guidance = suggested_guidance(request, info.arch, info.family)
        sampling = sampling_for(info.family, request.preset, request.scheduler, request.steps, guidance)
        seed = request.seed if request.seed is not None else random.randrange(2**32)
        size = self._generate_size(request, model)
        on_step = None
        if progress_cb is not None:
            def on_step(done: int, total: int, preview: Optional[Image.Image]) -> None:
                progress_cb(JobProgress(request.job_id, done, total, preview))

        strength = request.strength if request.strength is not None else 0.75
        frames = self._call(self.backend.animate, model, adapter, Prompt(request.prompt, request.negative_prompt),
                            size, request.frames, seed, sampling, request.init_image, strength, on_step, cancel,
                            extras)
        metadata = dict(model=info.name, model_path=str(info.path), arch=model.arch.value, motion_adapter=adapter.name,
                        scheduler=sampling.scheduler, steps=sampling.steps, guidance=sampling.guidance,
                        width=size[0], height=size[1], frames=len(frames), fps=request.fps,
                        continuity=request.init_image is not None, device=model.choice.device,
                        dtype=model.choice.dtype_name, loras=[(i.name, w) for i, w in extras.loras],
                        warnings=list(extras.warnings))
        return JobResult(request.job_id, request, frames, [seed], metadata)

    # -- upscale ----------------------------------------------------------------------------------

    def _upscale(self, request: GenerationRequest, progress_cb: Optional[ProgressCallback] = None,
                 cancel: Optional[threading.Event] = None) -> JobResult:
        image = request.init_image
        size = upscale.target_size(image.size, request.scale, request.width, request.height)
        if request.model:
            info = self.registry.resolve(request.model, (ModelKind.UPSCALER,))
            device = self.backend.device_for(request.device).device
            out, method = upscale.model_upscale(image, size, info, device), info.name
        else:
            out, method = upscale.lanczos(image, size), "lanczos"
        metadata = dict(method=method, width=size[0], height=size[1])
        seed = request.seed or 0
        if request.refine_strength is not None:
            out, refine = self._refine(request, out, seed, progress_cb, cancel or threading.Event())
            metadata.update(refine)
            metadata["method"] = f"{method}+refine"
        return JobResult(request.job_id, request, [out], [seed], metadata)

    def _refine(self, request: GenerationRequest, image: Image.Image, seed: int,
                progress_cb: Optional[ProgressCallback], cancel: threading.Event) -> tuple[Image.Image, dict]:
        """Tiled img2img over the upscaled image: overlapping tiles at the model's native size,
        blended with feathered overlaps. Progress is reported per step of each tile (and once per
        finished tile, with the tile as preview); cancel is checked between tiles and steps."""
        from engine.diffusion.backend import JobExtras, Prompt

        info = self.registry.resolve(request.refine_model)
        if cancel.is_set():
            raise JobCancelled("cancelled")
        model = self.backend.model(info, request.device)
        sampling = sampling_for(info.family, request.preset, request.scheduler, request.steps, request.guidance)
        prompt = Prompt(request.prompt, request.negative_prompt)
        native = model.native_size
        overlap = max(8, min(native) // 4)
        boxes = upscale.tile_boxes(image.size, native, overlap)
        source = image.convert("RGB")
        per_tile = [0]
        tiles = []
        for index, box in enumerate(boxes):
            if cancel.is_set():
                raise JobCancelled("cancelled")
            crop = source.crop(box)
            process = (imageops.round8(crop.width), imageops.round8(crop.height))
            start = crop if process == crop.size else crop.resize(process, Image.Resampling.LANCZOS)

            def on_step(done: int, total: int, preview: Optional[Image.Image], index: int = index) -> None:
                per_tile[0] = total
                if progress_cb is not None:
                    progress_cb(JobProgress(request.job_id, index * total + done, total * len(boxes), preview))

            out = self._call(self.backend.img2img, model, prompt, start, (seed + index) % 2**32, sampling,
                             request.refine_strength, on_step, cancel, JobExtras([]))
            if cancel.is_set():
                raise JobCancelled("cancelled")
            out = out.convert("RGB")
            if out.size != crop.size:
                out = out.resize(crop.size, Image.Resampling.LANCZOS)
            tiles.append((box, np.asarray(out)))
            if progress_cb is not None:
                total = max(per_tile[0], 1)
                progress_cb(JobProgress(request.job_id, (index + 1) * total, total * len(boxes), out))
        blended = upscale.blend_tiles(source.size, tiles, overlap)
        return blended, dict(refine_model=info.name, refine_strength=request.refine_strength, tiles=len(boxes),
                             tile_size=list(native), overlap=overlap, steps=sampling.steps,
                             scheduler=sampling.scheduler)


def native_size(request: GenerationRequest, model) -> tuple[int, int]:
    """The processing size: `request.resolution` squared when set, else the model's native size."""
    return (request.resolution, request.resolution) if request.resolution else model.native_size


__all__ = ["Engine", "ProgressCallback", "native_size"]
