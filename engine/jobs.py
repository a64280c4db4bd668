"""Plain data for the engine: requests, progress, results and errors.

Nothing here imports torch or Qt, so the document, the CLI and the widgets can build
requests and read results freely. Images are PIL images.
"""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Union

if TYPE_CHECKING:
    from PIL import Image

    from engine.conditioning.types import CharacterCondition, StyleCondition


class JobKind(enum.Enum):
    GENERATE = "generate"
    VARY_REGION = "vary_region"
    OUTPAINT = "outpaint"
    UPSCALE = "upscale"
    EDIT = "edit"
    ANIMATE = "animate"


class Preset(enum.Enum):
    FAST = "fast"
    QUALITY = "quality"


class Direction(enum.Enum):
    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class PanSpec:
    """Extend the image towards `direction` by `amount` times its width (left/right) or height."""

    direction: Direction
    amount: float = 0.25

    def __post_init__(self) -> None:
        if not 0 < self.amount <= 4:
            raise EngineError(f"pan amount must be in (0, 4], got {self.amount}")


@dataclass(frozen=True)
class ZoomOutSpec:
    """Zoom out: the canvas grows by `factor` in both directions, the image stays centred."""

    factor: float = 1.5

    def __post_init__(self) -> None:
        if not 1 < self.factor <= 4:
            raise EngineError(f"zoom-out factor must be in (1, 4], got {self.factor}")


OutpaintSpec = Union[PanSpec, ZoomOutSpec]


@dataclass(frozen=True)
class LoraConditioning:
    """Apply a LoRA file from the registry (a character/style card's LoRA, or LCM-LoRA)."""

    model: str
    weight: float = 1.0


# Identity and style conditions live in engine.conditioning (which imports this module);
# the union names them as strings for type checkers.
Conditioning = Union[LoraConditioning, "CharacterCondition", "StyleCondition"]


MAX_FRAMES = 128  # the longest loop one job makes (AnimateDiff's own context is 16 to 32 frames)


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class GenerationRequest:
    """Everything one job needs. Sizes are in pixels; `None` means "engine picks".

    Size: `width`+`height` give the exact output size (rounded to multiples of 8);
    otherwise `aspect_ratio` (width/height) picks a size near the model's native area.
    Sampling: `scheduler`, `steps` and `guidance` default from `preset` and the model family.
    GENERATE with `init_image` makes whole-image variations (img2img, `strength` default 0.6).
    VARY_REGION needs `init_image` + `mask` (white = repaint); OUTPAINT needs `init_image`
    + `outpaint`; EDIT needs `init_image` (the first reference) and `prompt` (the instruction) and a
    model that can edit (a reference-edit family); ANIMATE makes a loop of `frames` frames with an
    AnimateDiff motion adapter (`init_image`, when given, is the first frame's start: continuity at
    `strength`, default 0.75) and returns the frames as `images`; UPSCALE needs `init_image` + `scale` or `width`/`height`; its `model` is the
    upscaler (empty: Lanczos), and `refine_strength` (0..1, None: off) adds a tiled img2img refine
    with the generator `refine_model` (`prompt`, `seed`, sampling fields apply to the refine).
    """

    kind: JobKind = JobKind.GENERATE
    prompt: str = ""
    negative_prompt: str = ""
    seed: Optional[int] = None
    width: Optional[int] = None
    height: Optional[int] = None
    aspect_ratio: Optional[float] = None
    resolution: Optional[int] = None  # processing area about resolution² (None: the model's native size)
    variants: int = 1
    model: str = ""
    scheduler: Optional[str] = None
    preset: Preset = Preset.QUALITY
    steps: Optional[int] = None
    guidance: Optional[float] = None
    strength: Optional[float] = None
    init_image: Optional[Image.Image] = None
    mask: Optional[Image.Image] = None
    feather_px: int = 8
    outpaint: Optional[OutpaintSpec] = None
    scale: Optional[float] = None
    refine_strength: Optional[float] = None
    refine_model: str = ""
    device: str = "auto"
    frames: int = 16  # ANIMATE: frames in the loop
    fps: int = 8  # ANIMATE: playback speed, stored with the loop
    motion_adapter: str = ""  # ANIMATE: the motion adapter's name or path ("": the one that fits the model)
    conditioning: list[Conditioning] = field(default_factory=list)
    job_id: str = field(default_factory=new_job_id)

    def __post_init__(self) -> None:
        # Accept plain strings from the CLI and project files ("fast", "vary_region").
        try:
            self.kind = JobKind(self.kind)
            self.preset = Preset(self.preset)
        except ValueError as exc:
            raise EngineError(str(exc)) from None

    def validate(self) -> None:
        """Raise EngineError with a one-line message when the request cannot run."""
        if self.variants < 1 or self.variants > 64:
            raise EngineError(f"variants must be between 1 and 64, got {self.variants}")
        if self.steps is not None and not 1 <= self.steps <= 500:
            raise EngineError(f"steps must be between 1 and 500, got {self.steps}")
        if self.strength is not None and not 0 < self.strength <= 1:
            raise EngineError(f"strength must be in (0, 1], got {self.strength}")
        if self.guidance is not None and not 0 <= self.guidance <= 50:  # NaN and inf fail too
            raise EngineError(f"guidance must be between 0 and 50, got {self.guidance}")
        if self.scale is not None and not 0 < self.scale <= 16:
            raise EngineError(f"upscale factor must be in (0, 16], got {self.scale}")
        if self.seed is not None and not 0 <= self.seed < 2**32:
            raise EngineError(f"seed must be between 0 and {2**32 - 1}, got {self.seed}")
        if not 0 <= self.feather_px <= 1024:
            raise EngineError(f"feather must be between 0 and 1024 px, got {self.feather_px}")
        if self.scheduler is not None:  # before any model is loaded
            from engine.sampling import normalise_scheduler  # engine.sampling imports this module

            normalise_scheduler(self.scheduler)
        from engine.device import DEVICES  # engine.device imports this module

        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise EngineError(f"unknown device {self.device!r} (use auto, cpu, cuda or mps)")
        if self.resolution is not None and not 64 <= self.resolution <= 4096:
            raise EngineError(f"resolution must be between 64 and 4096, got {self.resolution}")
        for side in (self.width, self.height):
            if side is not None and not 8 <= side <= 16384:
                raise EngineError(f"image size {side} is out of range (8..16384)")
        if self.kind is JobKind.ANIMATE:
            if not 2 <= self.frames <= MAX_FRAMES:
                raise EngineError(f"frames must be between 2 and {MAX_FRAMES}, got {self.frames}")
            if not 1 <= self.fps <= 60:
                raise EngineError(f"fps must be between 1 and 60, got {self.fps}")
        if self.kind not in (JobKind.GENERATE, JobKind.ANIMATE) and self.init_image is None:
            raise EngineError(f"{self.kind.value} needs an input image")
        if self.kind is JobKind.VARY_REGION and self.mask is None:
            raise EngineError("vary region needs a mask (white where to repaint)")
        if self.kind is JobKind.EDIT and not self.prompt.strip():
            raise EngineError("edit needs an instruction: what to change in the image")
        if self.kind is JobKind.OUTPAINT and self.outpaint is None:
            raise EngineError("outpaint needs a direction and amount, or a zoom-out factor")
        if self.refine_strength is not None:
            if self.kind is not JobKind.UPSCALE:
                raise EngineError("refine is an option of upscale jobs")
            if not 0 < self.refine_strength <= 1:
                raise EngineError(f"refine strength must be in (0, 1], got {self.refine_strength}")
            if not self.refine_model:
                raise EngineError("refine needs a model: pass a checkpoint name or path")
        if self.kind is not JobKind.UPSCALE and not self.model:
            raise EngineError("no model chosen: pass a model name or path")


@dataclass
class JobProgress:
    job_id: str
    step: int
    total: int
    preview: Optional[Image.Image] = None
    server: str = ""  # the ComfyUI server that took the job (remote engine), "" otherwise
    note: str = ""  # a line for the user before the steps start (e.g. how much memory a model will take)


@dataclass
class JobResult:
    """Images of a finished job. `seeds[i]` reproduces `images[i]` with the same request."""

    job_id: str
    request: GenerationRequest
    images: list[Image.Image]
    seeds: list[int]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class JobFailure:
    job_id: str
    request: GenerationRequest
    message: str


class EngineError(Exception):
    """An error whose str() is one user-readable line; `detail` may add more lines (help)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(" ".join(str(message).split()))
        self.detail = detail


class ModelNotFoundError(EngineError):
    """The named model is not in the models folder (the message says where to put it)."""


class ModelLoadError(EngineError):
    """The model was found but could not be loaded (corrupt or unsupported file)."""


class JobCancelled(EngineError):
    """The job was cancelled; it produced nothing."""
