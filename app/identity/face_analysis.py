"""Face analysis of card references in the background (the card editor's face status and boxes).

Results are cached in the document as derived data (no undo step, see
:meth:`app.document.Document.cache_face_analysis`), as generation caches them, and remembered
per image for the session so that a reference removed meanwhile still shows its status.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import QObject, Signal

from ..background import BackgroundTasks
from ..document import Document
from ..project import Reference
from . import faces as face_cache

BACKEND = face_cache.BUILTIN


class FaceAnalysis(QObject):
    analyzed = Signal(list)  # image keys whose analysis arrived
    failed = Signal(str)  # a one-line message

    def __init__(self, doc: Document, tasks: BackgroundTasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.tasks = tasks
        self.results: dict[str, dict] = {}  # image key -> FaceCache dict
        self._running: set[str] = set()

    def faces(self, ref: Reference) -> dict | None:
        """The analysis of a reference (from the document or this session), None while unknown."""
        return ref.faces.get(BACKEND) or self.results.get(ref.image)

    def with_faces(self, ref: Reference) -> Reference:
        """A copy of ``ref`` with the session's analysis filled in."""
        out = copy.deepcopy(ref)
        found = self.faces(ref)
        if found is not None and BACKEND not in out.faces:
            out.faces[BACKEND] = copy.deepcopy(found)
        return out

    def status(self, ref: Reference) -> str:
        return face_cache.face_status(self.with_faces(ref), BACKEND)

    def request(self, refs: list[Reference]) -> None:
        """Analyse the references not analysed yet (one background job for all of them)."""
        images = {r.image: self.doc.project.images[r.image] for r in refs
                  if self.faces(r) is None and r.image not in self._running and r.image in self.doc.project.images}
        if not images:
            return
        self._running |= set(images)
        self.tasks.submit(face_cache.analyze_images, dict(images), BACKEND,
                          done=lambda result, error, keys=list(images): self._done(keys, result, error))

    def _done(self, keys: list[str], result: dict | None, error: Exception | None) -> None:
        self._running -= set(keys)
        if error is not None:
            self.failed.emit(f"face analysis failed: {str(error).splitlines()[0] if str(error) else error!r}")
            for key in keys:  # show "no face" rather than analysing for ever
                self.results.setdefault(key, {"count": 0, "faces": []})
        else:
            self.results.update(result or {})
            self.doc.cache_face_analysis({BACKEND: result or {}})
        self.analyzed.emit(keys)

    @property
    def busy(self) -> bool:
        return bool(self._running)
