"""Image loading helpers: everything becomes an RGB uint8 HxWx3 array."""
from __future__ import annotations

import os
from typing import Any

import numpy as np


def to_rgb_array(image: Any) -> np.ndarray:
    """Accept a path, a PIL image or an array (gray, RGB, RGBA) and return RGB uint8."""
    if isinstance(image, (str, os.PathLike)):
        from PIL import Image

        with Image.open(image) as im:
            return np.asarray(im.convert("RGB")).copy()
    if hasattr(image, "convert") and hasattr(image, "size"):
        return np.asarray(image.convert("RGB")).copy()
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        if arr.dtype.kind == "f" and arr.size and float(arr.max()) <= 1.0:
            arr = arr * 255.0
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 image, got shape {arr.shape}")
    return np.ascontiguousarray(arr)
