"""The plain-data side of LoRA training: request, defaults per model family, progress and result.

No torch here, so the app, the CLI and widgets can build requests freely.

Defaults (per-image-set LoRA of one character, AdamW, constant learning rate, UNet attention only):

====================  ==========  ==========
field                 SD 1.5      SDXL
====================  ==========  ==========
rank / alpha          16 / 16     32 / 32
steps                 1500        2000
learning rate         1e-4        1e-4
batch size            1           1
resolution            512         1024
checkpoint every      250         250
====================  ==========  ==========

On CUDA, gradient checkpointing is on and mixed precision is bf16 (fp16 where bf16 is missing);
on CPU/MPS both are off (mixed precision is GPU only). 20–30 references is the usual count; below
``MIN_IMAGES`` a warning is given (training still runs).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from engine.jobs import EngineError

MIN_IMAGES = 8
USUAL_IMAGES = (20, 30)
UNET_TARGET_MODULES = ("to_k", "to_q", "to_v", "to_out.0")


@dataclass(frozen=True)
class TrainingDefaults:
    rank: int
    alpha: float
    steps: int
    learning_rate: float
    batch_size: int
    resolution: int
    checkpoint_every: int = 250


DEFAULTS: dict[str, TrainingDefaults] = {
    "sd15": TrainingDefaults(rank=16, alpha=16, steps=1500, learning_rate=1e-4, batch_size=1, resolution=512),
    "sdxl": TrainingDefaults(rank=32, alpha=32, steps=2000, learning_rate=1e-4, batch_size=1, resolution=1024),
}


@dataclass
class TrainingRequest:
    """One LoRA training run. ``None`` fields take the defaults of the base model's family.

    ``images`` are PIL images; ``captions`` has one caption per image (or a single caption for all).
    ``output`` is the final ``.safetensors`` path; checkpoints go to ``checkpoint_dir`` (default:
    ``<output>.checkpoints/``) every ``checkpoint_every`` steps (0 = never). ``resume_from`` is a
    checkpoint file, or ``"latest"`` for the newest one in ``checkpoint_dir``.
    ``mixed_precision``: ``"auto"``, ``"no"``, ``"fp16"`` or ``"bf16"`` (GPU only).
    """

    base_model: str
    images: list[Any]
    captions: list[str]
    output: str
    rank: Optional[int] = None
    alpha: Optional[float] = None
    steps: Optional[int] = None
    learning_rate: Optional[float] = None
    batch_size: Optional[int] = None
    resolution: Optional[int] = None
    seed: int = 0
    checkpoint_every: Optional[int] = None
    checkpoint_dir: Optional[str] = None
    resume_from: Optional[str] = None
    device: str = "auto"
    dtype: str = "auto"
    gradient_checkpointing: Optional[bool] = None
    mixed_precision: str = "auto"
    flip: bool = True
    random_crop: bool = True
    target_modules: tuple[str, ...] = UNET_TARGET_MODULES
    arch: Optional[str] = None  # "sd15" / "sdxl"; None = from the model

    def resolved(self, arch: str) -> "TrainingRequest":
        """A copy with every ``None`` default filled in for ``arch`` (``sd15`` or ``sdxl``)."""
        from dataclasses import replace

        d = DEFAULTS["sdxl" if arch == "sdxl" else "sd15"]
        rank = self.rank or d.rank
        return replace(
            self, arch=arch, rank=rank, alpha=self.alpha if self.alpha is not None else float(rank),
            steps=self.steps or d.steps, learning_rate=self.learning_rate or d.learning_rate,
            batch_size=self.batch_size or d.batch_size, resolution=self.resolution or d.resolution,
            checkpoint_every=d.checkpoint_every if self.checkpoint_every is None else self.checkpoint_every,
            checkpoint_dir=self.checkpoint_dir or str(Path(self.output).with_suffix("")) + ".checkpoints",
        )

    def validate(self) -> list[str]:
        """Raise EngineError for a request that cannot run; return warnings for a weak one."""
        if not self.images:
            raise EngineError("no training images: add references to the card first")
        if len(self.captions) not in (1, len(self.images)):
            raise EngineError(f"{len(self.captions)} captions for {len(self.images)} images")
        if not str(self.output).endswith(".safetensors"):
            raise EngineError("the LoRA output path must end with .safetensors")
        for name in ("rank", "steps", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise EngineError(f"{name} must be at least 1, got {value}")
        if self.rank is not None and self.rank > 256:
            raise EngineError(f"rank {self.rank} is too large (1–256)")
        if self.resolution is not None and (self.resolution < 8 or self.resolution % 8):
            raise EngineError(f"resolution must be a multiple of 8, got {self.resolution}")
        if self.learning_rate is not None and not 0 < self.learning_rate < 1:
            raise EngineError(f"learning rate must be in (0, 1), got {self.learning_rate}")
        if self.mixed_precision not in ("auto", "no", "fp16", "bf16"):
            raise EngineError(f"mixed precision must be auto, no, fp16 or bf16, got {self.mixed_precision!r}")
        warnings = []
        if len(self.images) < MIN_IMAGES:
            warnings.append(f"only {len(self.images)} training images: {USUAL_IMAGES[0]}–{USUAL_IMAGES[1]} is the "
                            f"usual count, fewer than {MIN_IMAGES} tends to overfit (copy poses and backgrounds)")
        return warnings

    def caption_for(self, index: int) -> str:
        return self.captions[0] if len(self.captions) == 1 else self.captions[index]


@dataclass
class TrainingResult:
    """A finished run: the LoRA file, the steps done in total, and the per-step loss history."""

    lora_path: str
    steps: int
    loss_history: list[float]
    seconds: float
    resumed_from_step: int = 0
    warnings: list[str] = field(default_factory=list)
    arch: str = "sd15"
