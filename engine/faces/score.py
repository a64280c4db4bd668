"""Identity consistency score on the independent dlib descriptor.

Scale: ``score = clip(1 - d, 0, 1)`` where ``d`` is the Euclidean distance
between two dlib 128-d descriptors.  ``score >= IDENTITY_THRESHOLD`` means
"same person".  See CALIBRATION.md for the measured numbers behind it.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.limits import IDENTITY_THRESHOLD as IDENTITY_THRESHOLD  # with the shared limits: readable without numpy

from .types import IdentityScore


def descriptor_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two dlib descriptors (dlib's own metric)."""
    return float(np.linalg.norm(np.asarray(a, np.float64).ravel() - np.asarray(b, np.float64).ravel()))


def distance_to_score(d: float) -> float:
    """Map a dlib distance to the 0..1 score (1 = identical)."""
    return float(min(1.0, max(0.0, 1.0 - d)))


def score_identity(ref_embs: Sequence[np.ndarray] | np.ndarray, face_emb: np.ndarray,
                   weights: Sequence[float] | None = None,
                   threshold: float = IDENTITY_THRESHOLD) -> IdentityScore:
    """Score ``face_emb`` against a card's references: weighted mean of per-reference scores."""
    refs = [np.asarray(r) for r in (ref_embs if not isinstance(ref_embs, np.ndarray) or ref_embs.ndim > 1
                                     else [ref_embs])]
    if not refs:
        raise ValueError("identity_score needs at least one reference embedding")
    dists = tuple(descriptor_distance(r, face_emb) for r in refs)
    w = np.ones(len(refs)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(refs),) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be non-negative, one per reference, not all zero")
    score = float(np.dot(w, [distance_to_score(d) for d in dists]) / w.sum())
    return IdentityScore(score=score, threshold=threshold, distances=dists)


def identity_score(ref_embs: Sequence[np.ndarray] | np.ndarray, face_emb: np.ndarray,
                   weights: Sequence[float] | None = None) -> float:
    """0..1 consistency of ``face_emb`` with the references; >= IDENTITY_THRESHOLD = same person."""
    return score_identity(ref_embs, face_emb, weights).score
