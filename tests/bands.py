"""The protected band of vary region and pan, computed independently of the engine's own helpers.

A test that takes the band from ``engine.imageops`` would pass with an inverted or empty band; this
module computes it with scipy directly and refuses an empty one.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage


def inside(mask: Image.Image, size: tuple[int, int] | None = None) -> np.ndarray:
    """The painted pixels of ``mask`` (white), scaled to ``size`` (w, h) when given."""
    mask = mask.convert("L")
    if size is not None and mask.size != tuple(size):
        mask = mask.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(mask) >= 128


def beyond(painted: np.ndarray, px: float) -> np.ndarray:
    """Pixels farther than ``px`` from every painted pixel. Asserts that there are such pixels and that
    a band of pixels between them and the painted area exists, so the caller's checks cannot be vacuous."""
    assert painted.any(), "the mask paints nothing"
    far = ndimage.distance_transform_edt(~painted) > px
    band = ~far & ~painted
    assert far.any(), f"no pixel lies farther than {px} px from the mask"
    assert band.any(), "the band between the mask and the protected pixels is empty"
    return far
