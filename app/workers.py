"""Qt workers (QtCore only): the engine and LoRA training in background threads, with Qt signals.

:class:`EngineWorker` runs engine jobs one at a time:

    worker = EngineWorker(Engine(models_dir))
    worker.result.connect(on_result)          # JobResult
    worker.progress.connect(on_progress)      # JobProgress (with a small preview image)
    worker.failed.connect(on_failed)          # JobFailure (message is one readable line)
    worker.cancelled.connect(on_cancelled)    # job id (str): the job produced nothing
    worker.start()
    job_id = worker.submit(request)
    worker.cancel(job_id); worker.cancel_all()
    worker.stop()                             # cancels everything and joins the thread

Jobs run in the worker thread; the signals are re-emitted from the thread that created the
worker (the GUI thread), so every receiver, a lambda included, runs there.
:class:`TrainingThread` runs one :func:`engine.training.train_lora` call (see
:class:`app.training_job.CardTrainer`). This module imports no torch: the engine loads its
backend in the worker thread.
"""
from __future__ import annotations

import logging
import queue
import threading
import weakref
from typing import TYPE_CHECKING, Optional

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.errors import one_line
from engine.jobs import EngineError, GenerationRequest, JobCancelled, JobFailure, JobProgress

if TYPE_CHECKING:  # the registry and the training package load with the first job or run, not with the window
    from engine.api import Engine
    from engine.registry import ModelRegistry
    from engine.training import TrainingRequest

log = logging.getLogger(__name__)

#: Every worker thread ever started and not yet garbage collected (tests check none is left running).
live_threads: "weakref.WeakSet[QThread]" = weakref.WeakSet()

_STOP = object()


class _Runner(QObject):
    """Lives in the worker thread and runs the queued jobs; reports through internal signals."""

    started = Signal(str)
    progress = Signal(object)
    note = Signal(object)
    result = Signal(object)
    failed = Signal(object)
    cancelled = Signal(str)
    idle = Signal()

    def __init__(self, engine: Engine, jobs: "queue.Queue[object]", cancel_event_for, close: bool = True) -> None:
        super().__init__()
        self.engine = engine
        engine.on_note = self.note.emit  # how much memory a model will take, before it loads
        self._jobs = jobs
        self._cancel_event_for = cancel_event_for
        self._close = close

    @Slot()
    def loop(self) -> None:
        while True:
            item = self._jobs.get()
            if item is _STOP:
                break
            self._run(item)
            if self._jobs.empty():
                self.idle.emit()
        if self._close:
            self.engine.close()

    def _run(self, request: GenerationRequest) -> None:
        job_id = request.job_id
        cancel = self._cancel_event_for(job_id)
        try:
            if cancel.is_set():
                raise JobCancelled("cancelled")
            self.started.emit(job_id)
            result = self.engine.run(request, self.progress.emit, cancel)
        except JobCancelled:
            self.cancelled.emit(job_id)
        except EngineError as exc:
            self.failed.emit(JobFailure(job_id, request, str(exc)))
        except Exception as exc:  # a bug or a library error: report it, keep the worker alive
            log.exception("job %s failed", job_id)
            self.failed.emit(JobFailure(job_id, request, f"{type(exc).__name__}: {exc}".splitlines()[0]))
        else:
            if cancel.is_set():
                self.cancelled.emit(job_id)
            else:
                self.result.emit(result)


class EngineWorker(QObject):
    """The engine's Qt face. It lives in the thread that creates it (the GUI thread) and
    re-emits there what its runner reports from the worker thread, so any receiver,
    a lambda included, runs in the GUI thread."""

    started = Signal(str)  # job id
    progress = Signal(object)  # JobProgress
    note = Signal(object)  # JobProgress with `note`: said before a model loads
    result = Signal(object)  # JobResult
    failed = Signal(object)  # JobFailure
    cancelled = Signal(str)  # job id
    idle = Signal()  # the queue is empty

    def __init__(self, engine: Optional[Engine] = None, parent: Optional[QObject] = None, runners: int = 1) -> None:
        """``runners`` > 1 runs that many jobs at once (an engine whose ``run`` is thread-safe, e.g. ComfyUI
        servers); the last thread to close shuts the engine."""
        super().__init__(parent)
        if engine is None:
            from engine.api import Engine  # the engine loads with the first job, not with the window

            engine = Engine()
        self.engine = engine
        self._queue: "queue.Queue[object]" = queue.Queue()
        self._lock = threading.Lock()
        self._cancel_events: dict[str, threading.Event] = {}
        self._thread: Optional[QThread] = None
        self._runner: Optional[_Runner] = None
        self._runners = max(1, runners)
        self._extra: list[tuple[QThread, _Runner]] = []  # runners beyond the first

    # -- GUI-thread API -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread(s) (once)."""
        if self._thread is not None:
            return
        pairs = []
        for index in range(self._runners):
            thread = QThread()
            thread.setObjectName("panelsmith-engine" + (f"-{index}" if index else ""))
            runner = _Runner(self.engine, self._queue, self._cancel_event, close=index == 0)
            runner.moveToThread(thread)
            thread.started.connect(runner.loop)
            runner.started.connect(self.started)
            runner.progress.connect(self._on_progress)
            runner.note.connect(self.note)
            runner.result.connect(self._on_result)
            runner.failed.connect(self._on_failed)
            runner.cancelled.connect(self._on_cancelled)
            runner.idle.connect(self._on_idle)
            live_threads.add(thread)
            pairs.append((thread, runner))
        (self._thread, self._runner), self._extra = pairs[0], pairs[1:]
        for thread, _runner in pairs:
            thread.start()

    def submit(self, request: GenerationRequest) -> str:
        """Queue a job; returns its id. The engine validates it: an invalid request fails as a job."""
        with self._lock:
            self._cancel_events[request.job_id] = threading.Event()
        self._queue.put(request)
        return request.job_id

    def cancel(self, job_id: str) -> None:
        """Cancel a queued or running job: it emits `cancelled` and no result."""
        with self._lock:
            event = self._cancel_events.get(job_id)
        if event is not None:
            event.set()

    def cancel_all(self) -> None:
        with self._lock:
            events = list(self._cancel_events.values())
        for event in events:
            event.set()

    def pending(self) -> int:
        """Jobs queued or running."""
        with self._lock:
            return len(self._cancel_events)

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Cancel everything, end the thread and wait for it. True if it ended in time."""
        self.cancel_all()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        extra, self._extra = self._extra, []
        for _ in range(1 + len(extra)):
            self._queue.put(_STOP)
        ended = True
        for other, _runner in extra:  # these end before the first one, which closes the engine
            other.quit()
            if other.wait(timeout_ms):
                live_threads.discard(other)
            else:
                ended = False
        thread.quit()
        ended = thread.wait(timeout_ms) and ended
        if ended:
            live_threads.discard(thread)
            self._runner = None
        return ended

    # -- relays (GUI thread) ----------------------------------------------------------------------

    def _cancel_event(self, job_id: str) -> threading.Event:
        with self._lock:
            return self._cancel_events.get(job_id) or threading.Event()

    def _done(self, job_id: str) -> None:
        with self._lock:
            self._cancel_events.pop(job_id, None)

    @Slot()
    def _on_idle(self) -> None:
        if self.pending() == 0:
            self.idle.emit()

    @Slot(object)
    def _on_progress(self, progress: JobProgress) -> None:
        event = self._cancel_events.get(progress.job_id)
        if event is not None and not event.is_set():
            self.progress.emit(progress)

    @Slot(object)
    def _on_result(self, result) -> None:
        self._done(result.job_id)
        self.result.emit(result)

    @Slot(object)
    def _on_failed(self, failure: JobFailure) -> None:
        self._done(failure.job_id)
        self.failed.emit(failure)

    @Slot(str)
    def _on_cancelled(self, job_id: str) -> None:
        self._done(job_id)
        self.cancelled.emit(job_id)


class TrainingThread(QThread):
    """Runs one ``train_lora`` call; its signals reach GUI-thread receivers queued."""

    stepped = Signal(int, int, float)
    succeeded = Signal(object)  # TrainingResult
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, request: TrainingRequest, registry: ModelRegistry, cancel: threading.Event) -> None:
        super().__init__()
        self.setObjectName("panelsmith-training")
        self.request, self.registry, self.cancel_event = request, registry, cancel

    def run(self) -> None:  # worker thread
        from engine.training import train_lora

        try:
            result = train_lora(self.request, on_step=lambda s, t, loss: self.stepped.emit(s, t, float(loss)),
                                cancel=self.cancel_event, registry=self.registry)
        except JobCancelled:
            self.cancelled.emit()
        except EngineError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a library error: one line, never a crash
            self.failed.emit(one_line(f"{type(exc).__name__}: {exc}"))
        else:
            if self.cancel_event.is_set():
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)
