"""Face swap pass with a user-provided ``inswapper_128.onnx`` (insightface's INSwapper)."""
from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from .types import Face, FaceAnalysisError


@lru_cache(maxsize=2)
def _swapper(path: str, cpu_only: bool):
    from insightface.model_zoo.inswapper import INSwapper

    from .insight import load_model

    if not os.path.isfile(path):
        raise FaceAnalysisError(f"inswapper model not found: {path} (user-provided inswapper_128.onnx; "
                                "non-commercial license)")
    model = load_model(path, cpu_only)
    if not isinstance(model, INSwapper):
        raise FaceAnalysisError(f"{path} is not an inswapper model (expected inputs target 1x3x128x128 "
                                "and source 1x512, output 1x3x128x128)")
    return model


def swap_face(target_image: np.ndarray, target_face: Face, source_embedding: np.ndarray,
              inswapper_path: str | os.PathLike, cpu_only: bool = False) -> np.ndarray:
    """Swap the identity ``source_embedding`` (512-d ArcFace) into ``target_face`` of an RGB image.

    insightface's INSwapper aligns a 128x128 crop on the 5 keypoints, maps the
    normalised embedding through the model's ``emap`` matrix (its last
    initializer), runs the model and pastes the result back with an eroded,
    Gaussian-feathered mask, so only pixels around the face change.
    """
    from .insight import _InsightFace

    emb = np.asarray(source_embedding, dtype=np.float32).ravel()
    if emb.size != 512:
        raise ValueError(f"source embedding must be the 512-d ArcFace one, got {emb.size}-d")
    model = _swapper(os.fspath(inswapper_path), cpu_only)
    bgr = np.ascontiguousarray(np.asarray(target_image, dtype=np.uint8)[:, :, ::-1])
    target = _InsightFace(np.asarray(target_face.bbox), target_face.kps_array)
    source = _InsightFace(np.zeros(4), np.zeros((5, 2)), embedding=emb)
    out = model.get(bgr, target, source, paste_back=True)
    return np.ascontiguousarray(out[:, :, ::-1])
