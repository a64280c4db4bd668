"""Pick the device and dtype, and the memory options for small GPUs.

torch is imported inside the functions only, so importing this module stays light.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional


#: Environment variable with the user's choice to keep face analysis on the CPU (read by engine.faces).
FACES_ON_CPU_ENV = "PANELSMITH_FACES_ON_CPU"

#: The devices a user can choose (``cuda:N`` picks one GPU where the engine is given a device string).
DEVICES = ("auto", "cpu", "cuda", "mps")
#: Environment variable giving ``DeviceOptions.reference_area`` its default (pixels, e.g. 4096).
REFERENCE_AREA_ENV = "PANELSMITH_REFERENCE_AREA"


def reference_area_from_env() -> Optional[int]:
    """``$PANELSMITH_REFERENCE_AREA`` as pixels (at least 1024), None when unset or not a number."""
    value = os.environ.get(REFERENCE_AREA_ENV, "").strip()
    return max(1024, int(value)) if value.isdigit() else None


@dataclass(frozen=True)
class DeviceOptions:
    """User overrides. `dtype`: auto, fp32, fp16 or bf16. `vae_tiling`: None = when the image is large.
    `memory`: auto, none, model_offload or sequential_offload (engine.memory.MEMORY_MODES); auto picks
    from the free GPU memory and the model's size. `cpu_offload` is the older switch for model_offload.

    `reference_area`: pixels at which Qwen-Image-Edit reads each reference image (None: the pipeline's
    own 1024², default from ``$PANELSMITH_REFERENCE_AREA``); smaller is faster and coarser."""

    device: str = "auto"
    dtype: str = "auto"
    cpu_offload: bool = False
    vae_tiling: Optional[bool] = None
    attention_slicing: bool = False
    memory: str = "auto"
    reference_area: Optional[int] = field(default_factory=reference_area_from_env)

    @property
    def memory_mode(self) -> str:
        return "model_offload" if self.cpu_offload and self.memory == "auto" else self.memory


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # torch device string
    dtype_name: str  # fp32, fp16, bf16

    @property
    def dtype(self) -> Any:
        import torch

        return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[self.dtype_name]


def choose_device(options: DeviceOptions = DeviceOptions()) -> DeviceChoice:
    """CUDA (fp16, or bf16 where supported) > MPS (fp16) > CPU (fp32), unless overridden."""
    import torch

    from engine.jobs import EngineError  # not at import: the window's settings read DEVICES without the job types

    wanted = options.device
    if wanted == "auto":
        if torch.cuda.is_available():
            wanted = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            wanted = "mps"
        else:
            wanted = "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError("device cuda was asked for but no CUDA GPU is available (use --device cpu)")
    if wanted == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise EngineError("device mps was asked for but Apple MPS is not available (use --device cpu)")
    dtype = options.dtype
    if dtype == "auto":
        if wanted.startswith("cuda"):
            dtype = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        elif wanted == "mps":
            dtype = "fp16"
        else:
            dtype = "fp32"
    if dtype not in ("fp32", "fp16", "bf16"):
        raise EngineError(f"unknown dtype {dtype!r} (use fp32, fp16 or bf16)")
    if wanted == "cpu" and dtype == "fp16":
        raise EngineError("fp16 is not supported on the CPU (use fp32 or bf16)")
    return DeviceChoice(wanted, dtype)


def place_pipeline(pipe: Any, choice: DeviceChoice, options: DeviceOptions, mode: str = "") -> None:
    """Move a freshly loaded pipeline to its device with the offload `mode` (none, model_offload or
    sequential_offload; default: `options.memory_mode`, auto meaning none here) and the other options."""
    mode = mode or options.memory_mode
    if mode == "model_offload" and choice.device != "cpu":
        pipe.enable_model_cpu_offload(device=choice.device)
    elif mode == "sequential_offload" and choice.device != "cpu":
        pipe.enable_sequential_cpu_offload(device=choice.device)
    else:
        pipe.to(choice.device)
    if options.attention_slicing:
        pipe.enable_attention_slicing()
    pipe.set_progress_bar_config(disable=True)
