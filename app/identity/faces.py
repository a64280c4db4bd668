"""Face analysis of card references, cached in the project.

Each reference's analysis is kept in ``Reference.faces``, keyed by backend: ``"insightface"`` for
the ArcFace embedding that conditions generation, ``"builtin"`` for the independent dlib
descriptor the consistency score uses. A reference is stored by content hash, so a changed
reference is a new key and its cache can never be stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..document import Document
from ..images import decode_png
from ..project import CharacterCard, Project, Reference, StyleCard

if TYPE_CHECKING:
    import numpy as np

BUILTIN = "builtin"
INSIGHTFACE = "insightface"


@dataclass
class FaceCache:
    """What one backend found on one reference image (JSON-friendly)."""

    count: int
    faces: list[dict] = field(default_factory=list)  # bbox, kps, det_score, embedding (list)

    @staticmethod
    def from_faces(found: list) -> "FaceCache":
        import numpy as np

        return FaceCache(len(found), [{"bbox": [float(v) for v in f.bbox],
                                       "kps": [[float(x), float(y)] for x, y in f.kps_array],
                                       "det_score": float(f.det_score),
                                       "embedding": [float(v) for v in np.asarray(f.embedding).ravel()]}
                                      for f in found])


def _analyze(project: Project, ref: Reference, backend: str, models_dir: str | Path | None) -> FaceCache:
    from engine import faces as face_api  # numpy and the detectors: imported on first use

    image = decode_png(project.images[ref.image]).convert("RGB")
    if backend == BUILTIN:
        found = face_api.analyze(image, backend=face_api.builtin_backend())
    else:
        found = face_api.analyze(image, backend=face_api.insightface_backend(models_dir))
    return FaceCache.from_faces(found)


def reference_faces(project: Project, ref: Reference, backend: str,
                    models_dir: str | Path | None = None) -> FaceCache:
    """Cached analysis of a reference, computed now (not stored) when the cache lacks it."""
    cached = ref.faces.get(backend)
    if cached is not None:
        return FaceCache(**cached)
    return _analyze(project, ref, backend, models_dir)


def analyze_images(images: dict[str, bytes], backend: str = BUILTIN,
                   models_dir: str | Path | None = None) -> dict[str, dict]:
    """Face analysis of PNG images by key (no document access: safe off the GUI thread)."""
    project = Project(images=images)
    return {key: vars(_analyze(project, Reference(image=key), backend, models_dir)) for key in images}


def missing_analysis(project: Project, card_id: str, backend: str = BUILTIN) -> dict[str, bytes]:
    """The card's reference images (key → PNG) not yet analysed by ``backend``."""
    card = project.card(card_id)
    return {r.image: project.images[r.image] for r in card.references if backend not in r.faces}


def analyze_backends(images: dict[str, dict[str, bytes]],
                     models_dir: str | Path | None = None) -> dict[str, dict[str, dict]]:
    """:func:`analyze_images` for several backends (backend → image key → PNG): plain data in and out."""
    return {backend: analyze_images(pngs, backend, models_dir) for backend, pngs in images.items() if pngs}


def face_notes(card: CharacterCard | StyleCard, backend: str = BUILTIN) -> list[str]:
    """User-facing notes about analysed references with no face or several faces."""
    notes = []
    for i, ref in enumerate(card.references, 1):
        cache = ref.faces.get(backend)
        if cache is None:
            continue
        count = cache["count"]
        if count == 0:
            notes.append(f"{card.name}: reference {i} shows no face")
        elif count > 1:
            notes.append(f"{card.name}: reference {i} shows {count} faces; using face {ref.face_index + 1} "
                         "(pick another in the card's references)")
    return notes


def face_status(ref: Reference, backend: str = BUILTIN) -> str:
    """Short status of one reference: "analysing…", "no face", "1 face" or "3 faces — pick one"."""
    cache = ref.faces.get(backend)
    if cache is None:
        return "analysing…"
    count = cache["count"]
    if count == 0:
        return "no face"
    if count == 1:
        return "1 face"
    return f"{count} faces — pick one"


def missing_analysis_of_cards(project: Project, card_ids: list[str], backends: tuple[str, ...] = (BUILTIN,)
                              ) -> dict[str, dict[str, bytes]]:
    """Reference images of these cards not yet analysed (backend → image key → PNG); empty when all are."""
    out: dict[str, dict[str, bytes]] = {}
    for backend in backends:
        for card_id in dict.fromkeys(card_ids):
            out.setdefault(backend, {}).update(missing_analysis(project, card_id, backend))
    return {backend: pngs for backend, pngs in out.items() if pngs}


def cache_card_faces(doc: Document, card_id: str, backends: tuple[str, ...] = (BUILTIN,),
                     models_dir: str | Path | None = None) -> list[str]:
    """Analyse a card's references here and now, and cache the result in the project (derived
    data: no undo step, see :meth:`app.document.Document.cache_face_analysis`).

    Returns user-facing notes: references with no face or several faces.
    """
    missing = missing_analysis_of_cards(doc.project, [card_id], backends)
    doc.cache_face_analysis(analyze_backends(missing, models_dir))
    return face_notes(doc.project.card(card_id), backends[0])


def _ref_face(cache: FaceCache, ref: Reference) -> dict | None:
    if not cache.faces:
        return None
    return cache.faces[min(ref.face_index, len(cache.faces) - 1)]


def card_embeddings(project: Project, card: CharacterCard, backend: str,
                    models_dir: str | Path | None = None) -> tuple[list[np.ndarray], list[float], list[dict]]:
    """Embeddings (with reference weights and the faces) of a card's references that show a face."""
    import numpy as np

    embs, weights, found = [], [], []
    for ref in card.references:
        face = _ref_face(reference_faces(project, ref, backend, models_dir), ref)
        if face is not None:
            embs.append(np.asarray(face["embedding"], dtype=np.float32))
            weights.append(ref.weight)
            found.append(face)
    return embs, weights, found
