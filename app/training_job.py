"""LoRA training of a character card, one run at a time, with Qt signals (QtCore only).

The training itself runs in a :class:`app.workers.TrainingThread`.

    trainer = CardTrainer(doc, models_dir="~/models")
    trainer.stepped.connect(lambda step, total, loss: ...)   # GUI thread
    trainer.start(card_id, steps=600, rank=16, resume=False)
    trainer.cancel()        # stops between steps, keeps a resumable checkpoint (when checkpoints are on)
    trainer.stop()          # cancel and join the thread (before the window closes)

The finished LoRA is attached to the card with :func:`app.edits.attach_lora` (one undo step);
a cancelled or failed run changes nothing in the document.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QObject, Signal, Slot

from . import edits
from .document import Document

if TYPE_CHECKING:  # the registry, the training package and its thread load on the first run, not with the window
    from engine.training import TrainingRequest, TrainingResult

    from .workers import TrainingThread


class CardTrainer(QObject):
    """One LoRA training run at a time for a character card of ``doc``."""

    started = Signal(str)  # card id
    stepped = Signal(int, int, float)  # step (from 1), total, loss
    finished = Signal(object)  # TrainingResult, after the LoRA was attached to the card
    failed = Signal(str)  # one line
    cancelled = Signal()
    message = Signal(str)  # notes (few images, CPU precision…)

    def __init__(self, doc: Document, models_dir: Optional[str | Path] = None,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.models_dir = models_dir
        self.card_id = ""
        self.losses: list[float] = []
        self.total = 0
        self._thread: Optional[TrainingThread] = None
        self._cancel = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def request_for(self, card_id: str, model: Optional[str] = None, resume: bool = False,
                    **overrides: Any) -> TrainingRequest:
        """The training request for a card (base model: asked for, the project's, or the only one)."""
        from engine.registry import ModelRegistry

        from . import sheet
        from .generation.request import choose_model

        registry = ModelRegistry(self.models_dir)
        base = choose_model(self.doc.project, registry, model, self.doc.path.parent if self.doc.path else None)
        if resume:
            overrides["resume_from"] = "latest"
        return sheet.card_training_request(self.doc, card_id, base, **{k: v for k, v in overrides.items()
                                                                        if v is not None})

    def checkpoint_exists(self, card_id: str) -> bool:
        """Whether a cancelled run of this card left a checkpoint to resume from."""
        from . import sheet

        try:
            folder = Path(str(sheet.default_lora_path(self.doc, card_id).with_suffix("")) + ".checkpoints")
        except (ValueError, KeyError):
            return False
        return folder.is_dir() and any(folder.glob("*.pt"))

    def start(self, card_id: str, model: Optional[str] = None, resume: bool = False, **overrides: Any) -> bool:
        """Start training (``overrides``: steps, rank, learning_rate, resolution, checkpoint_every,
        device…). Returns False, with a ``failed`` message, when it cannot start."""
        from engine.jobs import EngineError
        from engine.registry import ModelRegistry

        from .workers import TrainingThread, live_threads

        if self.running:
            self.failed.emit("a LoRA is already being trained: wait for it or cancel it")
            return False
        try:
            request = self.request_for(card_id, model, resume, **overrides)
            for warning in request.validate():
                self.message.emit(f"note: {warning}")
        except (EngineError, KeyError, ValueError) as exc:
            self.failed.emit(str(exc).strip("'\"").splitlines()[0])
            return False
        self.card_id, self.losses, self.total = card_id, [], request.steps or 0
        self._cancel = threading.Event()
        thread = TrainingThread(request, ModelRegistry(self.models_dir), self._cancel)
        thread.stepped.connect(self._on_step)
        thread.succeeded.connect(self._on_success)
        thread.failed.connect(self._on_failed)
        thread.cancelled.connect(self._on_cancelled)
        live_threads.add(thread)
        self._thread = thread
        thread.start()
        self.started.emit(card_id)
        return True

    def cancel(self) -> None:
        self._cancel.set()

    def stop(self, timeout_ms: int = 60000) -> bool:
        """Cancel and wait for the thread to end."""
        self._cancel.set()
        thread = self._thread
        if thread is None:
            return True
        ended = thread.wait(timeout_ms)
        if ended:
            self._end()
        return ended

    def _end(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            from .workers import live_threads

            thread.wait()
            live_threads.discard(thread)
            thread.deleteLater()

    @Slot(int, int, float)
    def _on_step(self, step: int, total: int, loss: float) -> None:
        if self._cancel.is_set():
            return
        self.losses.append(loss)
        self.total = total
        self.stepped.emit(step, total, loss)

    @Slot(object)
    def _on_success(self, result: TrainingResult) -> None:
        self._end()
        try:
            edits.attach_lora(self.doc, self.card_id, str(result.lora_path))
        except (KeyError, ValueError) as exc:  # the card was removed meanwhile
            self.failed.emit(f"the LoRA was saved to {result.lora_path} but not attached: {exc}")
            return
        for warning in result.warnings:
            self.message.emit(f"note: {warning}")
        self.finished.emit(result)

    @Slot(str)
    def _on_failed(self, text: str) -> None:
        self._end()
        self.failed.emit(text)

    @Slot()
    def _on_cancelled(self) -> None:
        self._end()
        self.cancelled.emit()
