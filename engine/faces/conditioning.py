"""InstantID's 5-keypoint conditioning image (the embedding blend lives in engine.conditioning.blend)."""
from __future__ import annotations

import math
import numpy as np

#: InstantID's colours for left eye, right eye, nose, left mouth, right mouth (RGB).
KPS_COLORS = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255))
_LIMBS = ((0, 2), (1, 2), (3, 2), (4, 2))


def face_keypoints_image(kps, size: tuple[int, int], stickwidth: int = 4, radius: int = 10) -> np.ndarray:
    """InstantID's 5-keypoint conditioning image (as its ``draw_kps``), RGB uint8 of ``size`` = (w, h).

    Limbs from each point to the nose are filled ellipses at 60 % intensity,
    then each point is a disc of its colour on a black background.
    """
    import cv2

    w, h = int(size[0]), int(size[1])
    pts = np.asarray(kps, dtype=np.float64).reshape(5, 2)
    out = np.zeros((h, w, 3), dtype=np.float64)
    for a, b in _LIMBS:
        x, y = pts[[a, b], 0], pts[[a, b], 1]
        length = math.hypot(x[0] - x[1], y[0] - y[1])
        angle = math.degrees(math.atan2(y[0] - y[1], x[0] - x[1]))
        poly = cv2.ellipse2Poly((int(np.mean(x)), int(np.mean(y))), (int(length / 2), stickwidth),
                                int(angle), 0, 360, 1)
        out = cv2.fillConvexPoly(out, poly, KPS_COLORS[a])
    out = (out * 0.6).astype(np.uint8)
    for (x, y), color in zip(pts, KPS_COLORS):
        out = cv2.circle(out, (int(x), int(y)), radius, color, -1)
    return out
