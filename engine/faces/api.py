"""Functions the CLI and app call: analyze, compare, JSON-friendly reports.

Light module: heavy libraries are imported inside the backends, on first use.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.device import FACES_ON_CPU_ENV  # with the device choices: readable without numpy
from engine.imageops import to_rgb_array
from .score import IDENTITY_THRESHOLD, score_identity
from .types import Face, FaceBackend, FaceSelectionError, IdentityScore

_lock = threading.Lock()
_builtin: FaceBackend | None = None
_insight: dict[tuple[str, bool], FaceBackend] = {}


def builtin_backend() -> FaceBackend:
    """The shared built-in backend (CenterFace + dlib), always available."""
    global _builtin
    with _lock:
        if _builtin is None:
            from .builtin import BuiltinBackend

            _builtin = BuiltinBackend()
        return _builtin


def faces_on_cpu() -> bool:
    """The user's choice to keep face analysis on the CPU (saves VRAM for generation)."""
    return os.environ.get(FACES_ON_CPU_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def insightface_backend(models_dir: str | os.PathLike, cpu_only: bool | None = None) -> FaceBackend:
    """A cached insightface backend for the pack in ``models_dir`` (raises ModelPackMissing).

    ``cpu_only`` None follows :func:`faces_on_cpu` (the Preferences setting).
    """
    from .insight import InsightFaceBackend, find_pack

    if cpu_only is None:
        cpu_only = faces_on_cpu()
    pack = find_pack(models_dir)
    key = (str(pack.resolve()) if pack else str(models_dir), cpu_only)
    with _lock:
        if key not in _insight:
            _insight[key] = InsightFaceBackend(models_dir, cpu_only=cpu_only)
        return _insight[key]


def pick_backend(models_dir: str | os.PathLike | None = None, cpu_only: bool = False) -> FaceBackend:
    """insightface when a pack is found in ``models_dir``, else the built-in backend."""
    if models_dir is not None:
        from .insight import find_pack

        if find_pack(models_dir) is not None:
            return insightface_backend(models_dir, cpu_only)
    return builtin_backend()


def analyze(image: Any, models_dir: str | os.PathLike | None = None, cpu_only: bool = False,
            backend: FaceBackend | None = None) -> list[Face]:
    """Detect and embed every face, largest first."""
    img = to_rgb_array(image)
    be = backend or pick_backend(models_dir, cpu_only)
    faces = be.detect(img)
    for f in faces:
        f.embedding = be.embed(img, f)
    return faces


def select_face(faces: list[Face], index: int | None = None) -> Face:
    """The face at ``index``, or the largest one; FaceSelectionError when there is none."""
    if not faces:
        raise FaceSelectionError("no face found in the image")
    if index is None:
        return max(faces, key=lambda f: f.area)
    if not 0 <= index < len(faces):
        raise FaceSelectionError(f"face index {index} out of range: {len(faces)} face(s) found")
    return faces[index]


def identity_embedding(image: Any, index: int | None = None) -> np.ndarray:
    """dlib descriptor of the chosen face (for the consistency score and its cache)."""
    be = builtin_backend()
    img = to_rgb_array(image)
    face = select_face(be.detect(img), index)
    return be.embed(img, face)


def compare_faces(img_a: Any, img_b: Any, index_a: int | None = None,
                  index_b: int | None = None) -> IdentityScore:
    """Identity score between the main (largest, or indexed) faces of two images."""
    return score_identity([identity_embedding(img_a, index_a)], identity_embedding(img_b, index_b))


def compare(img_a: Any, img_b: Any) -> float:
    """0..1 identity score of the largest faces of two images (>= IDENTITY_THRESHOLD: same person)."""
    return compare_faces(img_a, img_b).score


@dataclass
class FacesReport:
    """What ``faces IMAGE`` shows: the faces and a status the UI can display."""

    faces: list[Face]
    backend: str
    image_size: tuple[int, int]
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "no_face" if not self.faces else "one_face" if len(self.faces) == 1 else "several_faces"

    @property
    def message(self) -> str:
        n = len(self.faces)
        if n == 0:
            return "No face found in this image."
        if n == 1:
            return "One face found."
        return f"{n} faces found; pick one by index (0 = largest)."

    def to_dict(self, include_embedding: bool = False) -> dict:
        return {
            "status": self.status,
            "message": self.message,
            "count": len(self.faces),
            "backend": self.backend,
            "image_size": list(self.image_size),
            "faces": [f.to_dict(i, include_embedding) for i, f in enumerate(self.faces)],
            "notes": list(self.notes),
        }


def faces_report(image: Any, models_dir: str | os.PathLike | None = None, cpu_only: bool = False,
                 backend: FaceBackend | None = None) -> FacesReport:
    """Analyze ``image`` and wrap the result for the ``faces`` command / UI."""
    img = to_rgb_array(image)
    notes = []
    be = backend or pick_backend(models_dir, cpu_only)
    if backend is None and models_dir is not None and be is builtin_backend():
        from .insight import missing_pack_message

        notes.append(missing_pack_message(models_dir) + " Using the built-in recognizer.")
    faces = analyze(img, backend=be)
    return FacesReport(faces=faces, backend=be.name, image_size=(img.shape[1], img.shape[0]), notes=notes)


def compare_report(img_a: Any, img_b: Any) -> dict:
    """JSON-friendly result of ``compare A B``."""
    res = compare_faces(img_a, img_b)
    return {"backend": builtin_backend().name, **res.to_dict()}


__all__ = ["analyze", "compare", "compare_faces", "compare_report", "faces_report", "FacesReport",
           "identity_embedding", "pick_backend", "select_face", "builtin_backend", "insightface_backend",
           "IDENTITY_THRESHOLD"]
