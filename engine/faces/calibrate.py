"""Calibration of the identity score on public-domain photos shipped by packages.

Run ``python -m engine.faces.calibrate [MOSAIC]`` to print the figures quoted in
CALIBRATION.md (JSON).  Identities: scikit-image's astronaut (Eileen Collins)
and cameraman, matplotlib's Grace Hopper sample (when matplotlib is installed)
and the cells of ``tests/data/pd_faces_mosaic.jpg`` (29 Solvay 1927 attendees,
Newton, Gauss; cropped from the images in the ``scrfd`` source package).
"""
from __future__ import annotations

import importlib.util
import io
import itertools
import json
import os
import sys

import numpy as np

from engine.imageops import to_rgb_array
from .score import IDENTITY_THRESHOLD, descriptor_distance, distance_to_score
from .types import FaceBackend

MOSAIC_CELL = 192
DEFAULT_MOSAIC = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "pd_faces_mosaic.jpg")


def grace_hopper_path() -> str | None:
    """matplotlib's grace_hopper.jpg sample, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = os.path.join(list(spec.submodule_search_locations)[0], "mpl-data", "sample_data", "grace_hopper.jpg")
    return p if os.path.isfile(p) else None


def sample_identities(mosaic: str | None = DEFAULT_MOSAIC) -> dict[str, np.ndarray]:
    """One image per distinct person, each with one main face."""
    import skimage.data

    out = {"astronaut": skimage.data.astronaut(), "cameraman": to_rgb_array(skimage.data.camera())}
    hopper = grace_hopper_path()
    if hopper:
        out["grace_hopper"] = to_rgb_array(hopper)
    if mosaic and os.path.isfile(mosaic):
        m = to_rgb_array(mosaic)
        rows, cols = m.shape[0] // MOSAIC_CELL, m.shape[1] // MOSAIC_CELL
        for r, c in itertools.product(range(rows), range(cols)):
            cell = m[r * MOSAIC_CELL:(r + 1) * MOSAIC_CELL, c * MOSAIC_CELL:(c + 1) * MOSAIC_CELL]
            if cell.std() > 3:  # empty cells are flat grey
                out[f"pd_{r * cols + c:02d}"] = np.ascontiguousarray(cell)
    return out


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    return to_rgb_array(Image.open(io.BytesIO(buf.getvalue())))


def variants(img: np.ndarray, bbox) -> dict[str, np.ndarray]:
    """Same-person variants: flips, resizes, crops, mild colour changes, JPEG."""
    import cv2

    h, w = img.shape[:2]
    x0, y0, x1, y1 = bbox
    fw, fh = x1 - x0, y1 - y0
    f = img.astype(np.float32)

    def crop(margin: float, dx: float = 0.0) -> np.ndarray:
        cx, cy = (x0 + x1) / 2 + dx * fw, (y0 + y1) / 2
        s = max(fw, fh) * (0.5 + margin)
        a, b = int(max(0, cx - s)), int(max(0, cy - s))
        return np.ascontiguousarray(img[b:int(min(h, cy + s)), a:int(min(w, cx + s))])

    def rs(im, k):
        return cv2.resize(im, (int(im.shape[1] * k), int(im.shape[0] * k)), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)

    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] *= 0.6
    desat = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)
    return {
        "hflip": np.ascontiguousarray(img[:, ::-1]),
        "resize_0.6": rs(img, 0.6),
        "resize_1.5": rs(img, 1.5),
        "crop_tight": crop(0.6),
        "crop_offcentre": crop(1.0, dx=0.4),
        "brighter": np.clip(f * 1.15 + 8, 0, 255).astype(np.uint8),
        "desaturated": desat,
        "warm_tint": np.clip(f + np.array([14, 4, -12], np.float32), 0, 255).astype(np.uint8),
        "gamma_0.8": (255 * (f / 255) ** 0.8).astype(np.uint8),
        "jpeg_q50": _jpeg(img, 50),
        "flip_resize_tint": np.clip(rs(img[:, ::-1], 0.8).astype(np.float32) + np.array([10, 0, -10], np.float32), 0, 255).astype(np.uint8),
    }


def _main_embedding(backend: FaceBackend, img: np.ndarray):
    faces = backend.detect(img)
    if not faces:
        return None, None
    return faces[0], backend.embed(img, faces[0])


def run_calibration(backend: FaceBackend | None = None, mosaic: str | None = DEFAULT_MOSAIC,
                    variant_ids: int | None = None) -> dict:
    """Distances for same-person variants and for different-person pairs, with summary stats.

    ``variant_ids`` limits how many identities get variants (None: all).
    """
    if backend is None:
        from .builtin import BuiltinBackend

        backend = BuiltinBackend()
    ids = sample_identities(mosaic)
    refs, same, missed = {}, [], []
    for i, (name, img) in enumerate(ids.items()):
        face, emb = _main_embedding(backend, img)
        if face is None:
            missed.append(name)
            continue
        refs[name] = emb
        if variant_ids is not None and i >= variant_ids:
            continue
        for vname, vimg in variants(img, face.bbox).items():
            _, vemb = _main_embedding(backend, vimg)
            if vemb is None:
                missed.append(f"{name}/{vname}")
                continue
            same.append((name, vname, descriptor_distance(emb, vemb)))
    diff = [(a, b, descriptor_distance(refs[a], refs[b])) for a, b in itertools.combinations(refs, 2)]
    sd = np.array([d for *_, d in same])
    dd = np.array([d for *_, d in diff])
    thr_d = 1.0 - IDENTITY_THRESHOLD

    def stats(x: np.ndarray) -> dict:
        return {k: round(float(v), 3) for k, v in zip(("min", "p5", "median", "p95", "max"),
                                                       np.percentile(x, [0, 5, 50, 95, 100]))} if x.size else {}

    return {
        "backend": backend.name,
        "identities": len(refs),
        "threshold_score": IDENTITY_THRESHOLD,
        "threshold_distance": thr_d,
        "same_person": {"pairs": int(sd.size), "distance": stats(sd),
                        "score": stats(np.array([distance_to_score(d) for d in sd])),
                        "above_threshold": round(float(np.mean(sd <= thr_d)), 4) if sd.size else None},
        "different_people": {"pairs": int(dd.size), "distance": stats(dd),
                             "score": stats(np.array([distance_to_score(d) for d in dd])),
                             "below_threshold": round(float(np.mean(dd > thr_d)), 4) if dd.size else None},
        "worst_same": sorted(same, key=lambda t: -t[2])[:3],
        "closest_different": sorted(diff, key=lambda t: t[2])[:3],
        "missed_detections": missed,
    }


if __name__ == "__main__":
    res = run_calibration(mosaic=sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MOSAIC)
    print(json.dumps(res, default=lambda o: round(o, 3) if isinstance(o, float) else str(o)))
