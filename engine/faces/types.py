"""Plain data types of face analysis (no heavy imports)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

BBox = tuple[float, float, float, float]
Keypoints = tuple[tuple[float, float], ...]

#: Order of the five keypoints (insightface/InstantID convention, image left/right).
KEYPOINT_NAMES = ("left_eye", "right_eye", "nose", "left_mouth", "right_mouth")


@dataclass
class Face:
    """One detected face.

    ``bbox`` is (x0, y0, x1, y1) in image pixels; ``kps`` holds five (x, y)
    points in :data:`KEYPOINT_NAMES` order; ``embedding`` is the backend's
    identity vector (L2-normalised) or None before embedding.
    """

    bbox: BBox
    kps: Keypoints
    det_score: float
    embedding: np.ndarray | None = None
    backend: str = ""

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.bbox
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)

    @property
    def kps_array(self) -> np.ndarray:
        return np.asarray(self.kps, dtype=np.float32).reshape(5, 2)

    def to_dict(self, index: int | None = None, include_embedding: bool = False) -> dict:
        """JSON-friendly view: bbox, named keypoints, score, embedding dimension."""
        out: dict = {}
        if index is not None:
            out["index"] = index
        out["bbox"] = [round(float(v), 1) for v in self.bbox]
        out["kps"] = [[round(float(x), 1), round(float(y), 1)] for x, y in self.kps]
        out["kps_names"] = list(KEYPOINT_NAMES)
        out["det_score"] = round(float(self.det_score), 4)
        out["embedding_dim"] = None if self.embedding is None else int(self.embedding.size)
        out["backend"] = self.backend
        if include_embedding and self.embedding is not None:
            out["embedding"] = [round(float(v), 6) for v in self.embedding]
        return out


def make_face(bbox, kps, det_score, embedding=None, backend: str = "") -> Face:
    """Build a :class:`Face` from array-likes (floats, 5x2 keypoints)."""
    b = tuple(float(v) for v in np.asarray(bbox, dtype=np.float64).reshape(4))
    k = tuple((float(x), float(y)) for x, y in np.asarray(kps, dtype=np.float64).reshape(5, 2))
    return Face(bbox=b, kps=k, det_score=float(det_score), embedding=embedding, backend=backend)  # type: ignore[arg-type]


@dataclass(frozen=True)
class IdentityScore:
    """Identity consistency of one face against a character's references.

    ``score`` is in 0..1 (see CALIBRATION.md), ``distances`` are the raw dlib
    descriptor distances to each reference, ``matches`` is score >= threshold.
    """

    score: float
    threshold: float
    distances: tuple[float, ...] = field(default_factory=tuple)

    @property
    def matches(self) -> bool:
        return self.score >= self.threshold

    def to_dict(self) -> dict:
        return {
            "score": round(self.score, 4),
            "threshold": self.threshold,
            "matches": self.matches,
            "distances": [round(d, 4) for d in self.distances],
        }


@runtime_checkable
class FaceBackend(Protocol):
    """A pluggable face detector + recognizer working on RGB uint8 images."""

    name: str
    embedding_dim: int

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces with bbox, 5 keypoints and score; ``embedding`` left None."""
        ...

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """L2-normalised identity vector of ``face`` in ``image``."""
        ...


class FaceAnalysisError(RuntimeError):
    """Base class of face analysis errors shown to the user."""


class ModelPackMissing(FaceAnalysisError):
    """No insightface model pack was found where it was looked for."""


class FaceSelectionError(FaceAnalysisError):
    """No face, or an ambiguous/out-of-range choice among several faces."""
