"""Run diffusion on a cached pipeline: per-step progress with previews, cancel, LoRAs.

`DiffusionBackend` is the only object the engine uses from this package.
"""
from __future__ import annotations

import contextlib
import inspect
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch
from PIL import Image

from engine.device import DeviceChoice, DeviceOptions, choose_device
from engine.diffusion.pipelines import LoadedModel, PipelineCache
from engine.diffusion.preview import latents_to_preview
from engine.diffusion.qwen_parts import reference_area
from engine.diffusion.schedulers import make_scheduler
from engine.errors import one_line
from engine.families import cannot_edit_message
from engine.jobs import EngineError, JobCancelled, ModelLoadError
from engine.registry import ModelInfo
from engine.sampling import Sampling

# on_step(step_done, total_steps, preview)
StepCallback = Callable[[int, int, Optional[Image.Image]], None]


@dataclass
class Prompt:
    text: str
    negative: str = ""


@dataclass
class JobExtras:
    """What a job adds to the base pipeline: LoRAs, identity/style conditions and adapter files.

    ``warnings`` collects what the conditioning could not do (e.g. a missing adapter), for the result.
    """

    loras: list[tuple[ModelInfo, float]] = field(default_factory=list)
    conditions: list = field(default_factory=list)  # engine.conditioning CharacterCondition/StyleCondition
    adapters: Any = None  # engine.conditioning.AdapterFiles
    warnings: list[str] = field(default_factory=list)


NO_EXTRAS = JobExtras()


@dataclass
class _Conditioned:
    """What to call once a job's conditioning is applied (``applied`` None: the job has none)."""

    pipe: Any
    applied: Any
    steps: int
    hooks: dict[str, Any]

    def texts(self, prompt: Prompt, strength: Optional[float] = None) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
        """(the prompt arguments, the step callback's tensor inputs, the conditioning's own call arguments);
        called in inference mode (PhotoMaker encodes its fused prompt here and sets its step hook, its
        start-merge step counted in the steps the pipeline runs: img2img and inpaint at ``strength`` run
        the last ``int(steps · strength)`` of them)."""
        applied = self.applied
        if applied is None:
            return dict(prompt=prompt.text, negative_prompt=prompt.negative or None), ["latents"], {}
        text, negative = applied.prompt(prompt.text), applied.negative(prompt.negative)
        if applied.encode_prompt is None:
            return dict(prompt=text, negative_prompt=negative or None), ["latents"], applied.call_kwargs
        steps = self.steps if strength is None else max(1, min(int(self.steps * strength), self.steps))
        texts = applied.encode_prompt(text, negative, steps)
        self.hooks["on_step_end"] = applied.on_step_end
        return texts, ["latents", *applied.step_tensor_inputs], applied.call_kwargs


class DiffusionBackend:
    def __init__(self, options: DeviceOptions = DeviceOptions(), preview_every: int = 1) -> None:
        self.options = options
        self.cache = PipelineCache(options)
        self.preview_every = max(1, preview_every)

    def device_for(self, device: str) -> DeviceChoice:
        wanted = self.options.device if device == "auto" else device
        return choose_device(DeviceOptions(device=wanted, dtype=self.options.dtype))

    def load_note(self, info: ModelInfo, device: str = "auto") -> str:
        """How much memory `info` will take ('' when it is loaded already)."""
        return self.cache.plan_note(info, self.device_for(device))

    def model(self, info: ModelInfo, device: str = "auto") -> LoadedModel:
        return self.cache.get(info, self.device_for(device))

    def txt2img(self, model: LoadedModel, prompt: Prompt, size: tuple[int, int], seed: int,
                sampling: Sampling, on_step: Optional[StepCallback] = None,
                cancel: Optional[threading.Event] = None, extras: JobExtras = NO_EXTRAS) -> Image.Image:
        if model.family is not None:
            return self._run_family(model, model.pipe("txt2img"), prompt, size, seed, sampling, on_step, cancel,
                                    extras, {})
        if model.info.inpaint:  # inpaint-only models generate with a full mask
            grey = Image.new("RGB", size, (127, 127, 127))
            return self.inpaint(model, prompt, grey, Image.new("L", size, 255), seed, sampling, 1.0,
                                on_step, cancel, extras)
        pipe = model.pipe("txt2img")
        return self._run(model, pipe, prompt, size, seed, sampling, on_step, cancel, extras, {})

    def img2img(self, model: LoadedModel, prompt: Prompt, image: Image.Image, seed: int, sampling: Sampling,
                strength: float, on_step: Optional[StepCallback] = None, cancel: Optional[threading.Event] = None,
                extras: JobExtras = NO_EXTRAS) -> Image.Image:
        """A variation of the whole image (processing size, multiples of 8); `strength` 0..1."""
        if model.info.inpaint or model.family is not None:
            return self.inpaint(model, prompt, image, Image.new("L", image.size, 255), seed, sampling, strength,
                                on_step, cancel, extras)
        pipe = model.pipe("img2img")
        extra = dict(image=image, strength=strength)
        return self._run(model, pipe, prompt, image.size, seed, sampling, on_step, cancel, extras, extra)

    def inpaint(self, model: LoadedModel, prompt: Prompt, image: Image.Image, mask: Image.Image, seed: int,
                sampling: Sampling, strength: float = 1.0, on_step: Optional[StepCallback] = None,
                cancel: Optional[threading.Event] = None, extras: JobExtras = NO_EXTRAS) -> Image.Image:
        """Repaint where `mask` is white; image and mask have the processing size (multiples of 8)."""
        pipe = model.pipe("inpaint")
        extra = dict(image=image, mask_image=mask, strength=strength)
        if model.family is not None:
            return self._run_family(model, pipe, prompt, image.size, seed, sampling, on_step, cancel, extras, extra)
        return self._run(model, pipe, prompt, image.size, seed, sampling, on_step, cancel, extras, extra)

    def edit(self, model: LoadedModel, prompt: Prompt, image: Image.Image, size: tuple[int, int], seed: int,
             sampling: Sampling, on_step: Optional[StepCallback] = None, cancel: Optional[threading.Event] = None,
             extras: JobExtras = NO_EXTRAS) -> Image.Image:
        """Edit by instruction: ``image`` is the first reference, ``prompt`` the instruction; ``size`` the output."""
        family = model.family
        if family is None or not family.can_edit:
            raise EngineError(cannot_edit_message(model.info.name, model.arch.value))
        return self._run_family(model, model.pipe("txt2img"), prompt, size, seed, sampling, on_step, cancel, extras,
                                {}, current=image)

    def animate(self, model: LoadedModel, adapter: ModelInfo, prompt: Prompt, size: tuple[int, int], frames: int,
                seed: int, sampling: Sampling, init: Optional[Image.Image] = None, strength: float = 0.75,
                on_step: Optional[StepCallback] = None, cancel: Optional[threading.Event] = None,
                extras: JobExtras = NO_EXTRAS) -> list[Image.Image]:
        """A loop of ``frames`` frames at ``size`` with the motion adapter ``adapter``; ``init`` (the
        panel's image) makes every frame start from it at ``strength`` (first-frame continuity)."""
        from engine.diffusion.motion import load_motion_adapter, motion_pipeline
        from engine.registry import Arch

        if cancel is not None and cancel.is_set():
            raise JobCancelled("cancelled")
        if model.family is not None:
            raise EngineError(f"{model.info.name} cannot animate: motion adapters work with SD 1.5 and SDXL models")
        continuity = init is not None and model.arch is not Arch.SDXL
        if init is not None and not continuity:
            extras.warnings.append("SDXL loops start from the prompt: first-frame continuity needs an SD 1.5 model")
        key = f"animate:{adapter.path}:{'video' if continuity else 'text'}"
        pipe = model.pipes.get(key)
        if pipe is None:
            for old in [k for k in model.pipes if k.startswith("animate:")]:
                del model.pipes[old]  # one motion UNet at a time: it is as large as the base UNet
            pipe = motion_pipeline(model, load_motion_adapter(adapter, model.choice.dtype), continuity)
            model.pipes[key] = pipe
        pipe.scheduler = make_scheduler(sampling.scheduler, model.scheduler_config)
        width, height = size
        kwargs: dict[str, Any] = dict(height=height, width=width)
        if continuity:
            start = init.convert("RGB").resize(size, Image.Resampling.LANCZOS)
            kwargs.update(video=[start] * frames, strength=strength)
        else:
            kwargs.update(num_frames=frames)
        hooks: dict[str, Any] = {}
        step_end = self._step_end(on_step, cancel, lambda latents: latents_to_preview(latents[:, :, 0], model.arch)
                                  if latents.ndim == 5 else None, hooks)  # the first frame
        generator = torch.Generator(device="cpu").manual_seed(seed)
        # The cards condition every frame as they condition a still: the same adapters, scales and embeds
        # (the motion UNet repeats the image embeds for each frame).
        with self._loras(pipe, extras.loras), self._conditioned(pipe, extras, size, sampling, hooks) as call:
            with torch.inference_mode():
                texts, tensor_inputs, call_kwargs = call.texts(prompt, kwargs.get("strength"))
                out = call.pipe(**texts, num_inference_steps=sampling.steps, guidance_scale=sampling.guidance,
                                generator=generator, callback_on_step_end=step_end,
                                callback_on_step_end_tensor_inputs=tensor_inputs, output_type="np", **kwargs,
                                **call_kwargs)
        if cancel is not None and cancel.is_set():
            raise JobCancelled("cancelled")
        video = np.asarray(out.frames)[0]
        names = [info.name for info, _w in extras.loras]
        return [to_image(frame, names) for frame in video]

    def _run_family(self, model: LoadedModel, pipe: Any, prompt: Prompt, size: tuple[int, int], seed: int,
                    sampling: Sampling, on_step: Optional[StepCallback], cancel: Optional[threading.Event],
                    extras: JobExtras, extra: dict, current: Optional[Image.Image] = None) -> Image.Image:
        """One call of a reference-edit pipeline: the cards' references (and ``current``) as its images,
        their names in the prompt; ``extra`` holds image/mask/strength for an inpaint (vary, pan)."""
        from engine.conditioning.references import plan_references

        if cancel is not None and cancel.is_set():
            raise JobCancelled("cancelled")
        family = model.family
        plan = plan_references(family, extras.conditions, current)
        extras.warnings.extend(n for n in plan.notes if n not in extras.warnings)
        width, height = size
        kwargs: dict[str, Any] = dict(prompt=plan.prompt(prompt.text), width=width, height=height,
                                      num_inference_steps=sampling.steps, output_type="np")
        if family.guidance_kwarg:
            kwargs[family.guidance_kwarg] = sampling.guidance
        if family.negative:
            kwargs["negative_prompt"] = prompt.negative or " "
        params = inspect.signature(pipe.__call__).parameters
        if "max_area" in params:  # Kontext: exactly the size the engine chose (near the native area)
            kwargs.update(max_area=width * height, _auto_resize=False)
        kwargs.update(extra)
        if plan.images:
            key = "image_reference" if extra else "image"
            if key not in params:
                extras.warnings.append(f"{family.label} takes no reference images when it repaints a region; "
                                       "the cards' references were left out")
            else:
                kwargs[key] = plan.images if family.max_references > 1 else plan.images[0]
        elif family.needs_image and not extra:
            kwargs["image"] = [Image.new("RGB", size, (255, 255, 255))]
        self._vae_tiling(pipe, width * height > 2 * model.native_size[0] * model.native_size[1])

        def step_end(p: Any, index: int, _t: Any, tensors: dict) -> dict:
            if cancel is not None and cancel.is_set():
                p._interrupt = True
            elif on_step is not None:
                on_step(index + 1, p.num_timesteps, None)  # packed latents: no cheap preview
            return tensors

        generator = torch.Generator(device="cpu").manual_seed(seed)
        # LoRAs load through the family's own diffusers loader (Flux2 / Flux / Qwen-Image LoRA mixins).
        with self._loras(pipe, extras.loras):
            with torch.inference_mode(), reference_area(pipe, self.options.reference_area):
                out = pipe(generator=generator, callback_on_step_end=step_end,
                           callback_on_step_end_tensor_inputs=["latents"], **kwargs)
        if cancel is not None and cancel.is_set():
            raise JobCancelled("cancelled")
        return to_image(out.images[0], [info.name for info, _w in extras.loras])

    def _run(self, model: LoadedModel, pipe: Any, prompt: Prompt, size: tuple[int, int], seed: int,
             sampling: Sampling, on_step: Optional[StepCallback], cancel: Optional[threading.Event],
             extras: JobExtras, extra: dict) -> Image.Image:
        if cancel is not None and cancel.is_set():
            raise JobCancelled("cancelled")
        pipe.scheduler = make_scheduler(sampling.scheduler, model.scheduler_config)
        width, height = size
        if "mask_image" not in extra and "image" in extra:  # img2img takes its size from the image
            width = height = None
        native_w, native_h = model.native_size
        self._vae_tiling(pipe, size[0] * size[1] > 2 * native_w * native_h)
        hooks: dict[str, Any] = {}  # the conditioning's own step hook (PhotoMaker's start-merge step)
        step_end = self._step_end(on_step, cancel, lambda latents: latents_to_preview(latents, model.arch), hooks)
        generator = torch.Generator(device="cpu").manual_seed(seed)
        sizes = {} if width is None else dict(width=width, height=height)
        with self._loras(pipe, extras.loras), self._conditioned(pipe, extras, size, sampling, hooks) as call:
            with torch.inference_mode():
                texts, tensor_inputs, call_kwargs = call.texts(prompt, extra.get("strength"))
                out = call.pipe(
                    **texts, **sizes,
                    num_inference_steps=sampling.steps, guidance_scale=sampling.guidance, generator=generator,
                    callback_on_step_end=step_end, callback_on_step_end_tensor_inputs=tensor_inputs, **extra,
                    **model.call_defaults, **call_kwargs, output_type="np",
                )
        if cancel is not None and cancel.is_set():
            raise JobCancelled("cancelled")
        return to_image(out.images[0], [info.name for info, _w in extras.loras])

    @contextlib.contextmanager
    def _conditioned(self, pipe: Any, extras: JobExtras, size: tuple[int, int], sampling: Sampling,
                     hooks: dict[str, Any]) -> Iterator[_Conditioned]:
        """The job's identity and style conditioning applied to ``pipe`` for the body, removed after (the
        pipeline is then bit-identical to before). Conditioning loads weights, so this is entered outside
        inference mode, and inside the LoRA context so that the engine's own LoRA handling does not remove
        the cards' LoRAs. Stills and loops (a motion pipeline) take the same road."""
        if not extras.conditions:
            yield _Conditioned(pipe, None, sampling.steps, hooks)
            return
        from engine.conditioning.apply import apply_conditioning, remove_conditioning

        applied = apply_conditioning(pipe, extras.conditions, width=size[0], height=size[1],
                                     guidance=sampling.guidance, adapters=extras.adapters)
        try:
            extras.warnings.extend(w for w in applied.warnings if w not in extras.warnings)
            if applied.pipe is not pipe:
                applied.pipe.scheduler = pipe.scheduler
            yield _Conditioned(applied.pipe, applied, sampling.steps, hooks)
        finally:
            remove_conditioning(applied)

    def _step_end(self, on_step: Optional[StepCallback], cancel: Optional[threading.Event],
                  preview_of: Callable[[Any], Optional[Image.Image]],
                  hooks: Optional[dict[str, Any]] = None) -> Callable:
        """A ``callback_on_step_end``: runs ``hooks["on_step_end"]`` when set (a conditioning's own step hook),
        interrupts the pipeline when ``cancel`` is set, else reports the step with a preview
        (``preview_of(latents)``) every ``preview_every`` steps."""
        preview_every = self.preview_every

        def step_end(p: Any, index: int, _t: Any, tensors: dict) -> dict:
            if hooks and hooks.get("on_step_end") is not None:
                tensors = hooks["on_step_end"](index, tensors)
            if cancel is not None and cancel.is_set():
                p._interrupt = True
            elif on_step is not None:
                done = index + 1
                latents = tensors.get("latents")
                preview = preview_of(latents) if done % preview_every == 0 and latents is not None else None
                on_step(done, p.num_timesteps, preview)
            return tensors

        return step_end

    def _vae_tiling(self, pipe: Any, large: bool) -> None:
        wanted = self.options.vae_tiling if self.options.vae_tiling is not None else large
        if not hasattr(pipe.vae, "enable_tiling"):
            return
        if wanted:
            pipe.vae.enable_tiling()
        else:
            pipe.vae.disable_tiling()

    @contextlib.contextmanager
    def _loras(self, pipe: Any, loras: list[tuple[ModelInfo, float]]) -> Iterator[None]:
        if not loras:
            yield
            return
        names = []
        try:
            for index, (info, _weight) in enumerate(loras):
                name = f"panelsmith_{index}"
                load_lora_checked(pipe, info.path.name, str(info.path.parent), weight_name=info.path.name,
                                  adapter_name=name)
                names.append(name)
            pipe.set_adapters(names, [w for _info, w in loras])
            yield
        finally:
            if names:
                pipe.unload_lora_weights()

    def close(self) -> None:
        self.cache.clear()


def load_lora_checked(pipe: Any, label: str, source: Any, **kwargs: Any) -> None:
    """``pipe.load_lora_weights(source, **kwargs)``; a LoRA made for another model (shapes that do not
    fit, foreign key names) becomes one line naming the file instead of a page of tensor shapes."""
    try:
        pipe.load_lora_weights(source, **kwargs)
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        try:
            pipe.unload_lora_weights()
        except Exception:  # noqa: BLE001 - best effort: the base weights are what matters
            pass
        reason = "its tensor shapes do not fit this model" if "size mismatch" in str(exc) or "shape" in str(exc) \
            else one_line(exc, 120)
        raise ModelLoadError(f"{label}: this LoRA cannot be applied to the model ({reason}); "
                             "it was probably made for another model family (SD 1.5 / SDXL)") from None


def to_image(array: np.ndarray, loras: list[str]) -> Image.Image:
    """The pipeline's float image (H, W, 3 in 0..1) as an 8-bit RGB image, rounded as diffusers' own PIL
    output is; a result with NaN or infinite values (a broken LoRA or model, fp16 overflow) fails the job
    rather than becoming a black picture that might be picked."""
    if not np.isfinite(array).all():
        culprit = f" (LoRA: {', '.join(loras)})" if loras else ""
        raise EngineError(f"the model produced an invalid image (NaN or infinite values){culprit}: "
                          "try without the LoRA, another model, or fp32 in Preferences")
    return Image.fromarray((array * 255).round().astype("uint8"))
