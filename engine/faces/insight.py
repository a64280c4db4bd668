"""insightface backend: a user-installed model pack (antelopev2 / buffalo_l) on onnxruntime.

Gives SCRFD detection with 5 keypoints and the 512-d ArcFace embedding that
conditions InstantID / IP-Adapter FaceID.  The packs are licensed by
insightface for NON-COMMERCIAL research use only; the app never downloads them.
Models are loaded through insightface's own routing (``model_zoo.get_model``).
"""
from __future__ import annotations

import contextlib
import glob
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .types import Face, ModelPackMissing, make_face

PACK_NAMES = ("antelopev2", "buffalo_l")
#: Detector and recognizer file names of the known packs.
EXPECTED_FILES = {
    "antelopev2": ("scrfd_10g_bnkps.onnx", "glintr100.onnx"),
    "buffalo_l": ("det_10g.onnx", "w600k_r50.onnx"),
}
LICENSE_NOTE = ("insightface model packs are licensed for non-commercial research use only; "
                "install one only if your use complies")
_SKIP_PREFIXES = ("inswapper",)  # swapper models live beside packs but are not analysis models


def _is_pack(folder: Path) -> bool:
    return folder.is_dir() and any(not p.name.startswith(_SKIP_PREFIXES) for p in folder.glob("*.onnx"))


def find_pack(models_dir: str | os.PathLike | None) -> Path | None:
    """Locate a pack folder under ``models_dir`` (or ``models_dir`` itself).

    Looks at ``DIR``, ``DIR/{antelopev2,buffalo_l}``, ``DIR/insightface[/models]/{...}``
    and the doubly nested ``antelopev2/antelopev2`` that the official zip unpacks to.
    """
    if models_dir is None:
        return None
    root = Path(models_dir).expanduser()
    candidates = []
    for base in (root, root / "insightface", root / "insightface" / "models", root / "models"):
        for name in PACK_NAMES:
            candidates += [base / name / name, base / name]
    candidates.append(root)
    for c in candidates:
        if _is_pack(c):
            return c
    return None


def missing_pack_message(models_dir: str | os.PathLike | None) -> str:
    """One-line message naming the folder and the files expected."""
    where = Path(models_dir).expanduser() if models_dir else Path("<models>")
    files = "; ".join(f"{where / n}/{{{', '.join(fs)}}}" for n, fs in EXPECTED_FILES.items())
    return f"No insightface model pack found in {where}: expected {files} ({LICENSE_NOTE})."


def choose_providers(cpu_only: bool = False) -> list[str]:
    """CUDA first when this onnxruntime build offers it (unless ``cpu_only``), CPU always."""
    import onnxruntime as ort

    if not cpu_only and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def load_model(path: str | os.PathLike, cpu_only: bool = False):
    """Load one ONNX file through insightface's router (SCRFD, ArcFace, INSwapper...)."""
    from insightface.model_zoo import model_zoo

    with contextlib.redirect_stdout(sys.stderr):  # some insightface models print on load
        return model_zoo.get_model(str(path), providers=choose_providers(cpu_only))


@dataclass
class _InsightFace:
    """Minimal stand-in for ``insightface.app.common.Face`` (attributes its models read)."""

    bbox: np.ndarray
    kps: np.ndarray
    det_score: float = 1.0
    embedding: np.ndarray | None = None

    @property
    def normed_embedding(self) -> np.ndarray | None:
        return None if self.embedding is None else self.embedding / np.linalg.norm(self.embedding)


class InsightFaceBackend:
    """Detection + ArcFace embedding from a pack folder; ``cpu_only`` keeps it off the GPU."""

    embedding_dim = 512

    def __init__(self, models_dir: str | os.PathLike, cpu_only: bool = False,
                 det_size: tuple[int, int] = (640, 640), det_thresh: float = 0.5) -> None:
        pack = find_pack(models_dir)
        if pack is None:
            raise ModelPackMissing(missing_pack_message(models_dir))
        self.pack_dir = pack
        self.det_model = self.rec_model = None
        for path in sorted(glob.glob(str(pack / "*.onnx"))):
            if os.path.basename(path).startswith(_SKIP_PREFIXES):
                continue
            model = load_model(path, cpu_only)
            task = getattr(model, "taskname", None)
            if task == "detection" and self.det_model is None:
                self.det_model = model
            elif task == "recognition" and self.rec_model is None:
                self.rec_model = model
        if self.det_model is None or self.rec_model is None:
            raise ModelPackMissing(f"insightface pack {pack} lacks a "
                                   f"{'detector' if self.det_model is None else 'recognizer'} "
                                   f"({missing_pack_message(pack.parent)})")
        ctx = -1 if cpu_only else 0
        self.det_model.prepare(ctx, input_size=det_size, det_thresh=det_thresh)
        self.rec_model.prepare(ctx)
        self.name = f"insightface:{pack.name}"

    @property
    def providers(self) -> dict[str, list[str]]:
        """Providers the sessions really run on (``session.get_providers()``)."""
        return {"detection": list(self.det_model.session.get_providers()),
                "recognition": list(self.rec_model.session.get_providers())}

    @property
    def on_gpu(self) -> bool:
        return any(p[0] == "CUDAExecutionProvider" for p in self.providers.values())

    def detect(self, image: np.ndarray) -> list[Face]:
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        bboxes, kpss = self.det_model.detect(bgr, max_num=0, metric="default")
        faces = []
        for i in range(bboxes.shape[0]):
            if kpss is None:
                continue  # a detector without keypoints cannot align faces
            faces.append(make_face(bboxes[i, :4], kpss[i], bboxes[i, 4], backend=self.name))
        faces.sort(key=lambda f: -f.area)
        return faces

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """512-d ArcFace embedding, L2-normalised."""
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        emb = np.asarray(self.rec_model.get(bgr, _InsightFace(np.asarray(face.bbox), face.kps_array)), np.float32)
        return emb / max(float(np.linalg.norm(emb)), 1e-12)
