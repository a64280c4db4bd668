"""Weighted blend of face embeddings (numpy only)."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from engine.jobs import EngineError


def blend_embeddings(embeddings: Sequence[np.ndarray], weights: Optional[Sequence[float]] = None) -> np.ndarray:
    """Weighted mean of L2-normalised embeddings, normalised again (like Midjourney's `URL::2`)."""
    if len(embeddings) == 0:
        raise EngineError("a character needs at least one reference face")
    vecs = np.stack([np.asarray(e, dtype=np.float64).reshape(-1) for e in embeddings])
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    if np.any(norms == 0) or not np.all(np.isfinite(vecs)):
        raise EngineError("a reference face embedding is empty or not finite")
    w = np.ones(len(vecs)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(vecs),) or np.any(w < 0) or w.sum() <= 0:
        raise EngineError("reference weights must be non-negative, one per reference, not all zero")
    mean = (vecs / norms * w[:, None]).sum(axis=0) / w.sum()
    n = np.linalg.norm(mean)
    if n < 1e-8:
        raise EngineError("the reference faces cancel out; check the reference weights")
    return (mean / n).astype(np.float32)
