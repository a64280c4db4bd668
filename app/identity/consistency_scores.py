"""Consistency scores of panels, computed in the background and kept in memory per variant."""

from __future__ import annotations

import copy

from PySide6.QtCore import QObject, Signal

from ..background import BackgroundTasks
from ..document import Document
from ..project import CharacterCard, Panel, Project
from . import consistency, faces as face_cache
from .face_analysis import BACKEND, FaceAnalysis

Scores = list[dict]  # [{"card": id, "score": s}]


def _score_job(project: Project, panel: Panel) -> tuple[Scores, dict[str, dict]]:
    """Worker side: analyse the references still unknown, then score the panel's image."""
    fresh: dict[str, dict] = {}
    for card in project.characters:
        for ref in card.references:
            if BACKEND not in ref.faces:
                if ref.image not in fresh:
                    fresh.update(face_cache.analyze_images({ref.image: project.images[ref.image]}, BACKEND))
                ref.faces[BACKEND] = fresh[ref.image]
    return consistency.panel_identity_scores(project, panel), fresh


class ConsistencyScores(QObject):
    """``scores(panel)`` answers at once from memory, or None and computes it in the background."""

    changed = Signal()  # new scores arrived
    thresholdChanged = Signal(float)

    def __init__(self, doc: Document, tasks: BackgroundTasks, faces: FaceAnalysis,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.tasks = tasks
        self.faces = faces
        self._threshold = consistency.IDENTITY_THRESHOLD
        self.cache: dict[tuple, Scores] = {}
        self.errors: dict[tuple, str] = {}
        self._running: set[tuple] = set()

    @property
    def threshold(self) -> float:
        return self._threshold

    def set_threshold(self, value: float) -> None:
        value = round(float(value), 4)
        if value != self._threshold:
            self._threshold = value
            self.thresholdChanged.emit(value)

    def key(self, panel: Panel) -> tuple | None:
        """What a score depends on: the shown variant and each bound character's references."""
        variant = panel.current_variant()
        if variant is None or not panel.characters:
            return None
        cards = []
        for binding in sorted(panel.characters, key=lambda b: b.card):
            try:
                card = self.doc.project.card(binding.card)
            except KeyError:
                continue
            if isinstance(card, CharacterCard):
                cards.append((card.id, tuple((r.image, r.weight, r.face_index) for r in card.references)))
        return (variant.id, tuple(cards)) if cards else None

    def scores(self, panel: Panel) -> Scores | None:
        key = self.key(panel)
        if key is None:
            return []
        if key in self.cache:
            return self.cache[key]
        if key in self.errors:
            return []
        variant = panel.current_variant()
        stored = variant.params.get("identity") if variant else None
        if stored and sorted(s["card"] for s in stored) == sorted(c for c, _ in key[1]) \
                and all(isinstance(s.get("score"), (int, float)) for s in stored):
            self.cache[key] = [dict(s) for s in stored]  # scored when it was generated
            return self.cache[key]
        self._start(key, panel)
        return None

    def _start(self, key: tuple, panel: Panel) -> None:
        if key in self._running:
            return
        project = self.doc.project
        cards = [copy.deepcopy(project.card(cid)) for cid, _ in key[1]]
        for card in cards:
            card.references = [self.faces.with_faces(r) for r in card.references]
        keys = {r.image for c in cards for r in c.references} | {panel.current_variant().image}
        snapshot = Project(characters=cards, images={k: project.images[k] for k in keys if k in project.images})
        self._running.add(key)
        self.tasks.submit(_score_job, snapshot, copy.deepcopy(panel),
                          done=lambda result, error, k=key: self._done(k, result, error))

    def _done(self, key: tuple, result, error: Exception | None) -> None:
        self._running.discard(key)
        if error is not None:
            self.errors[key] = str(error).splitlines()[0] if str(error) else repr(error)
        else:
            scores, fresh = result
            self.cache[key] = scores
            self.faces.results.update({k: v for k, v in fresh.items() if k not in self.faces.results})
        self.changed.emit()

    def flagged(self, scores: Scores) -> list[str]:
        return consistency.flagged(scores, self._threshold)

    @property
    def busy(self) -> bool:
        return bool(self._running)
