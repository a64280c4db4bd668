"""LoRA training of the UNet of an SD 1.5 / SDXL pipeline with peft (noise-prediction MSE).

The loop follows diffusers' ``train_text_to_image_lora.py``: frozen VAE and text encoders, a peft
``LoraConfig`` added to the UNet's attention projections, AdamW on the LoRA parameters only, the
target being the noise (or the velocity for v-prediction models), and the result saved with the
pipeline class's ``save_lora_weights`` so ``pipe.load_lora_weights(path)`` loads it.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F

from engine.device import DeviceOptions, choose_device
from engine.jobs import EngineError, JobCancelled
from engine.registry import ModelRegistry
from engine.training import checkpoint as ckpt
from engine.training.data import make_batch, step_generator
from engine.training.loading import arch_name, load_base_pipeline, resolve_base
from engine.training.request import TrainingRequest, TrainingResult

log = logging.getLogger(__name__)

StepCallback = Callable[[int, int, float], None]


@dataclass
class _Setup:
    request: TrainingRequest
    pipe: Any
    device: str
    weight_dtype: torch.dtype
    autocast_dtype: Optional[torch.dtype]
    warnings: list[str]
    placement: dict[str, tuple[torch.device, torch.dtype]] = None  # component -> where it was

    def __post_init__(self) -> None:
        self.placement = {name: (m.device, m.dtype) for name in ("unet", "vae", "text_encoder", "text_encoder_2")
                          if (m := getattr(self.pipe, name, None)) is not None}


def train_lora(request: TrainingRequest, on_step: Optional[StepCallback] = None,
               cancel: Optional[threading.Event] = None, registry: Optional[ModelRegistry] = None,
               pipeline: Any = None) -> TrainingResult:
    """Train a LoRA and save it to ``request.output``; return the loss history.

    ``on_step(step, total, loss)`` is called after every optimizer step (``step`` counts from 1).
    ``cancel`` is checked between steps: a cancelled run raises ``JobCancelled`` after saving a
    resumable checkpoint (when checkpoints are on) and never writes the final LoRA.
    ``pipeline`` may be an already loaded pipeline of the base model (its UNet gets the adapter
    for the duration and is restored afterwards).
    """
    started = time.perf_counter()
    warnings = request.validate()
    info = resolve_base(request.base_model, registry)
    arch = request.arch or arch_name(info)
    req = request.resolved(arch)
    setup = _prepare(req, info, pipeline, warnings)
    try:
        return _run(setup, on_step, cancel, started)
    finally:
        _cleanup(setup, owned=pipeline is None)


def _prepare(req: TrainingRequest, info: Any, pipeline: Any, warnings: list[str]) -> _Setup:
    choice = choose_device(DeviceOptions(device=req.device, dtype=req.dtype))
    on_gpu = choice.device.startswith("cuda")
    mixed = req.mixed_precision
    if mixed == "auto":
        mixed = choice.dtype_name if on_gpu and choice.dtype_name != "fp32" else "no"
    if mixed != "no" and not on_gpu:
        warnings.append(f"mixed precision {mixed} is GPU only: training in fp32 on {choice.device}")
        mixed = "no"
    autocast_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(mixed)
    weight_dtype = autocast_dtype or torch.float32
    from engine.device import DeviceChoice

    load_choice = DeviceChoice(choice.device, mixed if mixed != "no" else "fp32")
    pipe = pipeline if pipeline is not None else load_base_pipeline(info, load_choice)
    if getattr(pipe.unet, "peft_config", None):
        raise EngineError("the base model already has a LoRA loaded: unload it before training")
    gc = on_gpu if req.gradient_checkpointing is None else req.gradient_checkpointing
    from dataclasses import replace

    req = replace(req, gradient_checkpointing=gc, mixed_precision=mixed)
    return _Setup(req, pipe, choice.device, weight_dtype, autocast_dtype, warnings)


def _fingerprint(req: TrainingRequest) -> dict[str, Any]:
    """Settings a checkpoint must share with the run that resumes it."""
    return {"arch": req.arch, "rank": req.rank, "alpha": float(req.alpha), "targets": list(req.target_modules),
            "learning_rate": req.learning_rate, "batch_size": req.batch_size, "resolution": req.resolution,
            "seed": req.seed, "images": len(req.images)}


def _encode_captions(setup: _Setup) -> dict[str, dict[str, torch.Tensor]]:
    """Text-encoder outputs for each distinct caption (the encoders are frozen, so once is enough)."""
    pipe, req = setup.pipe, setup.request
    out: dict[str, dict[str, torch.Tensor]] = {}
    encoders = [e for e in (getattr(pipe, "text_encoder", None), getattr(pipe, "text_encoder_2", None)) if e]
    for enc in encoders:
        enc.to(setup.device)
    with torch.no_grad():
        for text in {req.caption_for(i) for i in range(len(req.images))}:
            if req.arch == "sdxl":
                embeds, _, pooled, _ = pipe.encode_prompt(text, device=setup.device, num_images_per_prompt=1,
                                                          do_classifier_free_guidance=False)
                out[text] = {"embeds": embeds, "pooled": pooled}
            else:
                embeds, _ = pipe.encode_prompt(text, setup.device, 1, False)
                out[text] = {"embeds": embeds}
    for enc in encoders:
        enc.to("cpu")  # not needed during training: free the GPU memory
    return out


def _add_lora(setup: _Setup) -> list[torch.nn.Parameter]:
    from peft import LoraConfig

    req, unet = setup.request, setup.pipe.unet
    unet.requires_grad_(False)
    setup.pipe.vae.requires_grad_(False)
    _move(unet, setup.device, setup.weight_dtype)
    _move(setup.pipe.vae, setup.device, torch.float32)  # the SDXL VAE overflows in fp16
    config = LoraConfig(r=req.rank, lora_alpha=req.alpha, init_lora_weights="gaussian",
                        target_modules=list(req.target_modules))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(req.seed)
        unet.add_adapter(config)
    params = [p for p in unet.parameters() if p.requires_grad]
    for p in params:
        p.data = p.data.float()  # trainable weights stay fp32 under mixed precision
    if not params:
        raise EngineError(f"no UNet module matches the LoRA targets {', '.join(req.target_modules)}")
    if req.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    unet.train()
    return params


def _move(module: torch.nn.Module, device: str, dtype: torch.dtype) -> None:
    if module.dtype != dtype:
        module.to(device, dtype=dtype)
    else:
        module.to(device)


def _time_ids(samples: list, resolution: int, device: str) -> torch.Tensor:
    rows = [[*s.original_size, *s.crop_top_left, resolution, resolution] for s in samples]
    return torch.tensor(rows, dtype=torch.float32, device=device)


def _step_loss(setup: _Setup, scheduler: Any, embeds: dict, step: int) -> torch.Tensor:
    req, pipe = setup.request, setup.pipe
    samples = make_batch(req.images, req.seed, step, req.batch_size, req.resolution, req.flip, req.random_crop)
    gen = step_generator(req.seed, step)
    pixels = torch.stack([s.pixels for s in samples]).to(setup.device)
    with torch.no_grad():
        dist = pipe.vae.encode(pixels).latent_dist
        eps = torch.randn(dist.mean.shape, generator=gen).to(setup.device)
        latents = (dist.mean + dist.std * eps) * pipe.vae.config.scaling_factor
    noise = torch.randn(latents.shape, generator=gen).to(setup.device)
    timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (len(samples),), generator=gen)
    timesteps = timesteps.to(setup.device)
    noisy = scheduler.add_noise(latents, noise, timesteps)
    if scheduler.config.prediction_type == "v_prediction":
        target = scheduler.get_velocity(latents, noise, timesteps)
    else:
        target = noise
    captions = [req.caption_for(s.index) for s in samples]
    hidden = torch.cat([embeds[c]["embeds"] for c in captions]).to(setup.weight_dtype)
    kwargs: dict[str, Any] = {}
    if req.arch == "sdxl":
        kwargs["added_cond_kwargs"] = {
            "text_embeds": torch.cat([embeds[c]["pooled"] for c in captions]).to(setup.weight_dtype),
            "time_ids": _time_ids(samples, req.resolution, setup.device).to(setup.weight_dtype),
        }
    ctx = torch.autocast(device_type="cuda", dtype=setup.autocast_dtype) if setup.autocast_dtype else nullcontext()
    with ctx:
        pred = pipe.unet(noisy.to(setup.weight_dtype), timesteps, encoder_hidden_states=hidden,
                         return_dict=False, **kwargs)[0]
    return F.mse_loss(pred.float(), target.float(), reduction="mean")


def _run(setup: _Setup, on_step: Optional[StepCallback], cancel: Optional[threading.Event],
         started: float) -> TrainingResult:
    from diffusers import DDPMScheduler
    from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict

    req, unet = setup.request, setup.pipe.unet
    scheduler = DDPMScheduler.from_config(setup.pipe.scheduler.config)
    embeds = _encode_captions(setup)
    params = _add_lora(setup)
    optimizer = torch.optim.AdamW(params, lr=req.learning_rate, weight_decay=1e-2)
    scaler = torch.amp.GradScaler("cuda") if setup.autocast_dtype is torch.float16 else None
    fingerprint = _fingerprint(req)
    folder = Path(req.checkpoint_dir)
    losses: list[float] = []
    start_step = 0
    resume = ckpt.resolve_resume(req.resume_from, folder)
    if resume is not None:
        state = ckpt.load_checkpoint(resume, fingerprint)
        set_peft_model_state_dict(unet, state["lora"])
        optimizer.load_state_dict(state["optimizer"])
        start_step, losses = state["step"], state["loss_history"][: state["step"]]
        if start_step >= req.steps:
            log.info("checkpoint %s is already at step %d of %d", resume, start_step, req.steps)

    def save(step: int) -> None:
        ckpt.save_checkpoint(folder, step, get_peft_model_state_dict(unet), optimizer.state_dict(), losses,
                             fingerprint)

    for step in range(start_step, req.steps):
        if cancel is not None and cancel.is_set():
            if req.checkpoint_every and step > start_step:
                save(step)
            raise JobCancelled(f"training cancelled at step {step} of {req.steps}")
        loss = _step_loss(setup, scheduler, embeds, step)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
        value = float(loss.detach())
        if value != value:  # NaN
            raise EngineError(f"training diverged at step {step + 1} (loss is NaN): lower the learning rate")
        losses.append(value)
        if on_step is not None:
            on_step(step + 1, req.steps, value)
        if req.checkpoint_every and (step + 1) % req.checkpoint_every == 0 and step + 1 < req.steps:
            save(step + 1)
    if cancel is not None and cancel.is_set():
        raise JobCancelled(f"training cancelled at step {req.steps} of {req.steps}")
    save_lora(setup.pipe, Path(req.output))
    return TrainingResult(lora_path=str(req.output), steps=req.steps, loss_history=losses,
                          seconds=time.perf_counter() - started, resumed_from_step=start_step,
                          warnings=setup.warnings, arch=req.arch)


def save_lora(pipe: Any, output: Path) -> Path:
    """Save the UNet's LoRA in diffusers' ``save_lora_weights`` format, atomically, to ``output``."""
    from peft.utils import get_peft_model_state_dict

    unet = pipe.unet
    # peft key names (``lora_A``/``lora_B``), which ``load_lora_weights`` reads as they are. diffusers'
    # convert_state_dict_to_diffusers renames only attention keys, and a file mixing both namings
    # loads without its attention LoRA when convolutions are targeted too.
    layers = get_peft_model_state_dict(unet)
    layers = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in layers.items()}
    metadata = unet.peft_config["default"].to_dict()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".lora-", dir=output.parent))
    try:
        type(pipe).save_lora_weights(str(staging), unet_lora_layers=layers, weight_name=output.name,
                                     safe_serialization=True, unet_lora_adapter_metadata=_jsonable(metadata))
        os.replace(staging / output.name, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, tuple, list)):
        return sorted(_jsonable(v) for v in value) if isinstance(value, set) else [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(getattr(value, "value", value))


def _cleanup(setup: _Setup, owned: bool) -> None:
    """Take the adapter off a shared pipeline (a loaded one is simply dropped)."""
    unet = setup.pipe.unet
    unet.eval()
    if not owned:
        if getattr(unet, "peft_config", None):
            unet.delete_adapters(list(unet.peft_config))
        if getattr(unet, "is_gradient_checkpointing", False):
            unet.disable_gradient_checkpointing()
        for name, (device, dtype) in setup.placement.items():
            getattr(setup.pipe, name).to(device, dtype=dtype)
        return
    if setup.device != "cpu" and owned:
        setup.pipe.to("cpu")
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
