"""Plain data for identity and style conditioning (no torch): what a card asks of a job.

These are carried in `GenerationRequest.conditioning`. Images are PIL, embeddings numpy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from engine.jobs import EngineError

FACE_EMBEDDING_DIM = 512

#: How a character card conditions an SD 1.5 / SDXL job: ``auto`` keeps the engine's choice (InstantID on
#: SDXL when installed, else IP-Adapter FaceID); the others ask for one method.
IDENTITY_METHODS = ("auto", "instantid", "faceid", "photomaker")


@dataclass(frozen=True)
class LoraRef:
    """A card's LoRA file and the weight it is applied with."""

    path: Path
    weight: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if not -4.0 <= self.weight <= 4.0:
            raise EngineError(f"LoRA weight must be in [-4, 4], got {self.weight}")


@dataclass
class CharacterCondition:
    """A character card applied to one job (Midjourney's --cref/--cw).

    `face_embedding`: the blended 512-d identity vector (L2-normalised, see `blend_embeddings`).
    `face_embedding_norm`: the raw norm of the recogniser's embedding when known (InstantID was
    trained on raw insightface embeddings; None uses the normalised vector).
    `face_kps`: 5 (x, y) keypoints in a frame of `kps_size` (w, h), drawn into InstantID's
    keypoint image; None lets InstantID use a neutral frontal layout.
    `reference_images`/`reference_weights`: the card's references, used for the appearance
    adapter when `cw` > 0. `region`: 'L' mask (white = this character), any size; None means
    whole image for a single character, a panel half for two. `identity_strength` multiplies
    the face adapter and IdentityNet scales ("regenerate with stronger identity"; see
    `identity_scales` and MAPPING.md). `method`: one of IDENTITY_METHODS; `name`: the card's
    name, the class word PhotoMaker fuses the identity into when the prompt mentions it.
    """

    card_id: str
    face_embedding: np.ndarray
    cw: int = 100
    face_kps: Optional[np.ndarray] = None
    kps_size: Optional[tuple[int, int]] = None
    reference_images: list[Image.Image] = field(default_factory=list)
    reference_weights: list[float] = field(default_factory=list)
    region: Optional[Image.Image] = None
    lora: Optional[LoraRef] = None
    face_embedding_norm: Optional[float] = None
    identity_strength: float = 1.0
    method: str = "auto"
    name: str = ""

    def __post_init__(self) -> None:
        from engine.conditioning.mapping import IDENTITY_STRENGTH_RANGE

        if self.method not in IDENTITY_METHODS:
            raise EngineError(f"character {self.card_id}: identity method must be one of "
                              f"{', '.join(IDENTITY_METHODS)}, got {self.method!r}")

        lo, hi = IDENTITY_STRENGTH_RANGE
        if not lo <= float(self.identity_strength) <= hi:
            raise EngineError(f"character {self.card_id}: identity strength must be in [{lo}, {hi}], "
                              f"got {self.identity_strength!r}")
        self.identity_strength = float(self.identity_strength)
        emb = np.asarray(self.face_embedding, dtype=np.float32).reshape(-1)
        if emb.size != FACE_EMBEDDING_DIM:
            raise EngineError(f"character {self.card_id}: face embedding must have 512 values, got {emb.size}")
        if not np.all(np.isfinite(emb)) or float(np.linalg.norm(emb)) == 0.0:
            raise EngineError(f"character {self.card_id}: face embedding is empty or not finite")
        self.face_embedding = emb
        if not isinstance(self.cw, int) or not 0 <= self.cw <= 100:
            raise EngineError(f"character {self.card_id}: cw must be an integer 0..100, got {self.cw!r}")
        if self.face_kps is not None:
            kps = np.asarray(self.face_kps, dtype=np.float32).reshape(-1, 2)
            if kps.shape != (5, 2):
                raise EngineError(f"character {self.card_id}: face keypoints must be 5 (x, y) points")
            if self.kps_size is None:
                raise EngineError(f"character {self.card_id}: face keypoints need the image size they refer to")
            self.face_kps = kps
        if self.reference_weights and len(self.reference_weights) != len(self.reference_images):
            raise EngineError(f"character {self.card_id}: one weight per reference image")
        if not self.reference_weights:
            self.reference_weights = [1.0] * len(self.reference_images)
        if any(w < 0 for w in self.reference_weights):
            raise EngineError(f"character {self.card_id}: reference weights must not be negative")
        if self.region is not None and self.region.mode != "L":
            self.region = self.region.convert("L")

    @classmethod
    def from_references(
        cls,
        card_id: str,
        embeddings: Sequence[np.ndarray],
        weights: Optional[Sequence[float]] = None,
        **kwargs,
    ) -> "CharacterCondition":
        """Blend per-reference embeddings (weighted, normalised mean) into one condition."""
        from engine.conditioning.blend import blend_embeddings

        return cls(card_id=card_id, face_embedding=blend_embeddings(embeddings, weights), **kwargs)

    @property
    def wants_appearance(self) -> bool:
        """The appearance IP-Adapter applies (PhotoMaker reads the references itself)."""
        return self.cw > 0 and bool(self.reference_images) and self.method != "photomaker"


@dataclass
class StyleCondition:
    """A style card applied to one job (--sref/--sw): references through InstantStyle blocks."""

    card_id: str
    reference_images: list[Image.Image] = field(default_factory=list)
    sw: int = 100
    lora: Optional[LoraRef] = None
    prompt_suffix: str = ""
    negative_prompt: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.sw, int) or not 0 <= self.sw <= 1000:
            raise EngineError(f"style {self.card_id}: sw must be an integer 0..1000, got {self.sw!r}")


@dataclass(frozen=True)
class AdapterFiles:
    """Adapter files found in the models folder for one base architecture (see `find_adapters`).

    `ip_adapter`: plain or Plus IP-Adapter (style and appearance), `image_encoder`: its CLIP
    vision folder; `faceid`: IP-Adapter FaceID (SD 1.5); `instantid` + `identitynet`: InstantID's
    ip-adapter file and its ControlNet folder (SDXL);
    `photomaker`: PhotoMaker V1/V2 (`photomaker-v1.bin` / `photomaker-v2.bin`, SDXL).
    """

    ip_adapter: Optional[Path] = None
    image_encoder: Optional[Path] = None
    faceid: Optional[Path] = None
    instantid: Optional[Path] = None
    identitynet: Optional[Path] = None
    photomaker: Optional[Path] = None


@dataclass
class CharacterReference:
    """A character card for a reference-edit model (FLUX.2 klein, Qwen-Image-Edit, FLUX.1 Kontext):
    its images go to the pipeline as references and its name into the prompt (see MAPPING.md).

    `face_image`: the chosen face crop of the card (None when no reference shows a face);
    `reference_images`/`reference_weights`: the card's full references.
    """

    card_id: str
    name: str
    cw: int = 100
    face_image: Optional[Image.Image] = None
    reference_images: list[Image.Image] = field(default_factory=list)
    reference_weights: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.cw, int) or not 0 <= self.cw <= 100:
            raise EngineError(f"character {self.card_id}: cw must be an integer 0..100, got {self.cw!r}")
        if self.reference_weights and len(self.reference_weights) != len(self.reference_images):
            raise EngineError(f"character {self.card_id}: one weight per reference image")
        if not self.reference_weights:
            self.reference_weights = [1.0] * len(self.reference_images)
