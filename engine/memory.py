"""How much memory a model will take, and which offload mode fits it, without loading any weights.

Parameter counts come from the safetensors headers (shapes only) and GGUF file sizes; the
bytes are what the weights take at the run's dtype, plus a working margin for activations.
The modes are the Preferences choices: ``auto`` picks from the free GPU memory.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # the registry loads with the first estimate (the window's settings need only the modes)
    from engine.registry import ModelInfo

#: The user's choices (Preferences "Memory"; ``--memory`` where a command has it).
MEMORY_MODES = ("auto", "none", "model_offload", "sequential_offload")
MEMORY_LABELS = {
    "auto": "Automatic (from free GPU memory)",
    "none": "Everything on the GPU",
    "model_offload": "Model CPU offload (one component on the GPU at a time)",
    "sequential_offload": "Sequential offload (layer by layer: slowest, least memory)",
}
_DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}
_STORED_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1,
                 "I16": 2, "I32": 4, "I64": 8, "BOOL": 1}
#: Activations, the VAE decode and allocator slack at native size, beyond the weights.
WORKING_MARGIN = 1.5 * 2**30
_COMPONENTS = ("unet", "transformer", "text_encoder", "text_encoder_2", "text_encoder_3", "vae", "image_encoder")


@dataclass
class MemoryEstimate:
    """Parameters and weight bytes per component (at the run's dtype; a GGUF transformer at its file size)."""

    parameters: dict[str, int] = field(default_factory=dict)
    weight_bytes: dict[str, int] = field(default_factory=dict)

    @property
    def total_parameters(self) -> int:
        return sum(self.parameters.values())

    @property
    def total_bytes(self) -> int:
        return sum(self.weight_bytes.values())

    @property
    def largest_bytes(self) -> int:
        return max(self.weight_bytes.values(), default=0)

    def peak_bytes(self, mode: str) -> int:
        """Device bytes the run needs in `mode` (none / model_offload / sequential_offload)."""
        margin = min(WORKING_MARGIN, self.total_bytes / 4 + 2**28)
        if mode == "sequential_offload":
            return int(margin)
        weights = self.largest_bytes if mode == "model_offload" else self.total_bytes
        return int(weights + margin)

def describe_plan(name: str, need: MemoryEstimate, mode: str, free: Optional[int]) -> str:
    """One line for the user before a model loads: its size and what it will take where."""
    if not need.weight_bytes:
        return f"{name}: size unknown; running {MODE_PHRASES[mode]}"
    where = "GPU memory" if free is not None else "RAM"
    free_text = f" ({_gib(free)} free)" if free is not None else ""
    return (f"{name}: {need.total_parameters / 1e9:.2f} B parameters, needs about {_gib(need.peak_bytes(mode))} "
            f"of {where}{free_text}, running {MODE_PHRASES[mode]}")


MODE_PHRASES = {"none": "without offload", "model_offload": "with model CPU offload",
                "sequential_offload": "with sequential CPU offload"}


def _gib(value: float) -> str:
    return f"{value / 2**30:.1f} GiB"


def _numel(shape: list[int]) -> int:
    return math.prod(int(d) for d in shape) if shape else 1


def _header_parameters(paths: list[Path], prefix: str = "") -> tuple[int, int]:
    """(parameters, stored bytes) of the tensors under `prefix` in these safetensors files."""
    from engine.registry import read_safetensors_header

    count = stored = 0
    for path in paths:
        for name, entry in read_safetensors_header(path).items():
            if name.startswith(prefix):
                n = _numel(entry.get("shape", []))
                count += n
                stored += n * _STORED_BYTES.get(str(entry.get("dtype")), 2)
    return count, stored


def _folder_weights(folder: Path) -> list[Path]:
    """One weight set per folder: plain files, else the fp16 variant."""
    files = sorted(folder.glob("*.safetensors"))
    plain = [f for f in files if ".fp16." not in f.name]
    return plain or files


def estimate(info: ModelInfo, dtype: str = "fp16") -> MemoryEstimate:
    """The parameter counts of `info` and the bytes its weights take at `dtype`."""
    from engine.registry import ModelKind

    size = _DTYPE_BYTES.get(dtype, 2)
    out = MemoryEstimate()
    if info.kind is ModelKind.CHECKPOINT:
        for name, prefix in (("unet", "model.diffusion_model."), ("vae", "first_stage_model."),
                             ("text_encoder", "cond_stage_model."), ("text_encoders", "conditioner.")):
            count, _stored = _header_parameters([info.path], prefix)
            if count:
                out.parameters[name] = count
                out.weight_bytes[name] = count * size
        return out
    folder = info.companion if info.kind is ModelKind.TRANSFORMER else info.path
    if folder is not None and folder.is_dir():
        for name in _COMPONENTS:
            files = _folder_weights(folder / name) if (folder / name).is_dir() else []
            if name == "transformer" and info.kind is ModelKind.TRANSFORMER:
                continue
            count, _stored = _header_parameters(files)
            if count:
                out.parameters[name] = count
                out.weight_bytes[name] = count * size
    if info.kind is ModelKind.TRANSFORMER:
        if info.path.suffix.lower() == ".gguf":
            out.weight_bytes["transformer"] = info.path.stat().st_size  # stays quantized on the device
            out.parameters["transformer"] = _gguf_parameters(info.path)
        else:
            count, _stored = _header_parameters([info.path])
            out.parameters["transformer"] = count
            out.weight_bytes["transformer"] = count * size
    return out


def _gguf_parameters(path: Path) -> int:
    from gguf import GGUFReader

    return sum(int(t.n_elements) for t in GGUFReader(str(path)).tensors)


def choose_mode(wanted: str, estimate_: MemoryEstimate, free_bytes: Optional[int]) -> str:
    """The offload mode to run with: `wanted`, or for ``auto`` the fastest one that fits `free_bytes`
    (None: not a GPU, nothing to offload)."""
    if wanted not in MEMORY_MODES:
        raise ValueError(f"unknown memory mode {wanted!r} (use {', '.join(MEMORY_MODES)})")
    if free_bytes is None:
        return "none"
    if wanted != "auto":
        return wanted
    for mode in ("none", "model_offload"):
        if estimate_.peak_bytes(mode) <= free_bytes:
            return mode
    return "sequential_offload"


def free_device_memory(device: str) -> Optional[int]:
    """Free bytes on a CUDA device; None for the CPU and MPS (unified memory: no offload)."""
    if not device.startswith("cuda"):
        return None
    import torch

    free, _total = torch.cuda.mem_get_info(torch.device(device))
    return int(free)
