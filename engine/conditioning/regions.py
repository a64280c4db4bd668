"""Character regions and InstantID keypoint images (PIL/numpy only).

Each character's region is a boolean mask at the output size. Regions never overlap:
where user regions overlap, each pixel goes to the character whose region centroid is nearest.
Characters without a region share what the others leave, split into panel halves along the
longer side (left/right for wide panels, top/bottom for tall ones).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from PIL import Image

from engine.faces.conditioning import face_keypoints_image
from engine.jobs import EngineError

#: InstantID's keypoint colours (eyes, nose, mouth corners) and limbs (to the nose).
#: Neutral frontal keypoints in a unit face box (used when a card has no keypoints).
NEUTRAL_KPS = np.array([[0.36, 0.40], [0.64, 0.40], [0.50, 0.56], [0.39, 0.72], [0.61, 0.72]], np.float32)


def default_halves(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    """n equal strips of the (w, h) canvas along its longer side (n=1: the whole canvas)."""
    w, h = size
    masks = []
    for i in range(n):
        m = np.zeros((h, w), bool)
        if w >= h:
            m[:, round(i * w / n): round((i + 1) * w / n)] = True
        else:
            m[round(i * h / n): round((i + 1) * h / n), :] = True
        masks.append(m)
    return masks


def _to_bool(region: Image.Image, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(region.convert("L").resize(size, Image.NEAREST)) >= 128


def resolve_regions(regions: Sequence[Optional[Image.Image]], size: tuple[int, int]) -> list[np.ndarray]:
    """Non-overlapping, non-empty boolean masks (h, w), one per character."""
    n = len(regions)
    w, h = size
    user = [None if r is None else _to_bool(r, size) for r in regions]
    if n == 1:
        mask = user[0] if user[0] is not None else np.ones((h, w), bool)
        if not mask.any():
            raise EngineError("the character's region is empty")
        return [mask]
    taken = np.zeros((h, w), bool)
    for m in user:
        if m is not None:
            taken |= m
    free = [i for i, m in enumerate(user) if m is None]
    halves = default_halves(len(free), size) if free else []
    masks: list[np.ndarray] = []
    for i, m in enumerate(user):
        if m is None:
            half = halves[free.index(i)]
            m = half & ~taken
            if not m.any():
                m = half
        masks.append(m.copy())
    # Split overlaps by nearest centroid of each mask's own (exclusive) pixels.
    stack = np.stack(masks)
    overlap = stack.sum(0) > 1
    if overlap.any():
        ys, xs = np.nonzero(overlap)
        centroids = []
        for k, m in enumerate(masks):
            own = m & ~overlap
            pts = np.argwhere(own if own.any() else m)
            centroids.append(pts.mean(0) if len(pts) else np.array([np.inf, np.inf]))
        for y, x in zip(ys, xs):
            owners = [k for k in range(n) if masks[k][y, x]]
            best = min(owners, key=lambda k: float(np.sum((centroids[k] - (y, x)) ** 2)))
            for k in owners:
                masks[k][y, x] = k == best
    for k, m in enumerate(masks):
        if not m.any():
            raise EngineError(f"character {k + 1}'s region is empty once overlaps are removed; redraw the regions")
    return masks


def place_keypoints(kps: Optional[np.ndarray], kps_size: Optional[tuple[int, int]], region: np.ndarray) -> np.ndarray:
    """Fit keypoints (in a `kps_size` frame) into the bounding box of `region`, aspect kept.

    Without keypoints, a neutral frontal face half the region's smaller side is centred there.
    """
    ys, xs = np.nonzero(region)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    bw, bh = x1 - x0, y1 - y0
    if kps is None or kps_size is None:
        side = 0.5 * min(bw, bh)
        origin = np.array([x0 + (bw - side) / 2, y0 + (bh - side) / 2], np.float32)
        return NEUTRAL_KPS * side + origin
    fw, fh = kps_size
    s = min(bw / fw, bh / fh)
    offset = np.array([x0 + (bw - fw * s) / 2, y0 + (bh - fh * s) / 2], np.float32)
    return np.asarray(kps, np.float32).reshape(5, 2) * s + offset


def draw_keypoints(kps_list: Sequence[np.ndarray], size: tuple[int, int]) -> Image.Image:
    """InstantID's keypoint image for one or more faces (drawn as its ``draw_kps``, on black).

    InstantID draws 10 px dots and 4 px limbs at about 1024 px; smaller images scale them down.
    """
    scale = min(size) / 1024
    radius, stick = max(2, round(10 * scale)), max(1, round(4 * scale))
    out = np.zeros((size[1], size[0], 3), np.uint8)
    for kps in kps_list:
        out = np.maximum(out, face_keypoints_image(kps, size, stickwidth=stick, radius=radius))
    return Image.fromarray(out, "RGB")
