"""The window's job queue: panel jobs run one at a time by an :class:`app.workers.EngineWorker`.

QtCore only (no widgets). It builds each request with
:func:`app.generation.request.build_request` (as the command line does), keeps one :class:`Job`
per request with its state, progress and last preview, and applies each finished result with
:func:`app.generation.result.apply_result` (one undo step per job). A cancelled or failed job
changes nothing in the document; failures (an invalid request fails in the engine) and the
request notes are reported as one-line ``message``\\ s.

    queue = JobQueue(doc, EngineSettings(models_dir, "auto"))
    queue.submit_panels([panel_id])                       # GENERATE, staged per project settings
    queue.submit_page(page_id, repeat=3)                  # every panel in reading order, ×3 seeds
    queue.submit_panels([pid], JobKind.VARY_REGION, mask=mask, prompt="a red kite")
    queue.cancel(job_id); queue.cancel_all(); queue.stop()

No face work runs on the GUI thread: while references of bound characters or ``--cref`` images
of the prompt lack face analysis, the jobs wait in ``queued`` ("analysing reference faces") and a
helper process (:class:`app.background.BackgroundTasks`) analyses them; the card references'
analysis is cached in the document as derived data (no undo step) and the request built. Each
result is scored against the characters in the helper too ("scoring consistency") before it is
added; a failed score never loses the result.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from PIL import Image
from PySide6.QtCore import QObject, Qt, Signal, Slot

from engine.errors import one_line

from ..background import BackgroundTasks
from ..document import Document

if TYPE_CHECKING:  # the engine's data, the registry, the request builder, the worker, the identity code: first job
    from engine.jobs import JobFailure, JobKind, JobProgress, JobResult, OutpaintSpec
    from engine.registry import ModelRegistry

    from ..workers import EngineWorker
    from .request import Overrides

ANALYSING = "analysing reference faces"
SCORING = "scoring consistency"


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclasses.dataclass
class Job:
    """One request in the queue, as the Job Queue dock shows it."""

    id: str
    panel_id: str
    kind: JobKind
    label: str
    seed: Optional[int] = None
    state: JobState = JobState.QUEUED
    step: int = 0
    total: int = 0
    preview: Optional[Image.Image] = None
    message: str = ""
    server: str = ""  # the ComfyUI server running it ("" on this computer)
    select: bool = True
    variant_ids: list[str] = dataclasses.field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


@dataclasses.dataclass(frozen=True)
class EngineSettings:
    """Per-user engine settings: the models folder (None: the default folder), the device,
    whether face analysis stays on the CPU to save VRAM, the memory mode (engine.memory.MEMORY_MODES) and the
    engine ("local" or "comfyui" with its server URLs and optional token, never shown in a repr)."""

    models_dir: Optional[str] = None
    device: str = "auto"
    faces_on_cpu: bool = False
    engine: str = "local"
    servers: tuple[str, ...] = ()
    token: str = dataclasses.field(default="", repr=False)
    memory: str = "auto"

    def apply_environment(self) -> None:
        """Face analysis (also in the helper process, started after this) reads the choice from the environment."""
        from engine.device import FACES_ON_CPU_ENV

        os.environ[FACES_ON_CPU_ENV] = "1" if self.faces_on_cpu else "0"


#: A job's name in the queue by its :class:`engine.jobs.JobKind` value.
KIND_NAMES = {"generate": "Generate", "vary_region": "Vary region", "outpaint": "Extend", "upscale": "Upscale",
              "edit": "Edit", "animate": "Animate"}


class JobQueue(QObject):
    """Queues panel jobs on one background worker and records their results in ``doc``."""

    jobAdded = Signal(str)  # job id
    jobChanged = Signal(str)  # job id: state, progress or preview changed
    jobFinished = Signal(str)  # job id: done, failed or cancelled
    jobsCleared = Signal()  # finished jobs were removed from the list
    message = Signal(str)  # one line for the status bar (a failure, a note)
    idle = Signal()  # nothing queued or running any more
    serverEvent = Signal(str, str, str)  # kind ("down"/"up"), server, text: emitted from the worker thread

    def __init__(self, doc: Document, settings: EngineSettings = EngineSettings(),
                 parent: Optional[QObject] = None, tasks: Optional[BackgroundTasks] = None) -> None:
        """``tasks``: the helper process for face analysis and scores (shared with the identity UI;
        its owner shuts it down); without one the queue starts its own and ends it in :meth:`stop`."""
        super().__init__(parent)
        self.doc = doc
        self.settings = settings
        self._registry: Optional[ModelRegistry] = None  # made when first asked for (a job, Preferences)
        self.jobs: dict[str, Job] = {}
        self._worker: Optional[EngineWorker] = None
        self._stale_worker = False
        self._own_tasks = tasks is None
        self.tasks = tasks if tasks is not None else BackgroundTasks(self)
        self._engine = None  # the next worker's engine (a ComfyUI engine is made early: its registry names models)
        self.serverEvent.connect(self._on_server_event, Qt.ConnectionType.QueuedConnection)
        doc.pageChanged.connect(self._cancel_orphans)
        doc.pagesChanged.connect(self._cancel_orphans)

    # --- settings ---------------------------------------------------------------------------------

    def configure(self, settings: EngineSettings) -> None:
        """Use another models folder or device; the worker restarts once the queue is empty."""
        settings.apply_environment()
        if settings == self.settings:
            self.registry.refresh()
            return
        if settings.faces_on_cpu != self.settings.faces_on_cpu and not self.tasks.busy:
            self.tasks.shutdown()  # the helper process restarts with the new choice on its next task
        self.settings = settings
        self._registry = None
        self._engine = None
        self._stale_worker = self._worker is not None

    @property
    def registry(self) -> ModelRegistry:
        """The models folder's registry, made on first use (the window starts without it)."""
        if self._registry is None:
            from engine.registry import ModelRegistry

            self._registry = ModelRegistry(self.settings.models_dir)
        return self._registry

    @property
    def models_dir(self) -> Path:
        return self.registry.models_dir

    @property
    def model_registry(self):
        """Where model names resolve: the models folder, or the ComfyUI servers' lists."""
        from .engine_choice import COMFYUI

        if self.settings.engine != COMFYUI:
            return self.registry
        if self._worker is not None and not self._stale_worker:
            return self._worker.engine.registry
        return self._next_engine().registry

    def _next_engine(self):
        if self._engine is None:
            from .engine_choice import make_engine

            self._engine = make_engine(self.settings, self.serverEvent.emit)
        return self._engine

    # --- submitting -------------------------------------------------------------------------------

    def submit_panels(self, panel_ids: list[str], kind: Optional[JobKind] = None,
                      overrides: Optional[dict[str, Any]] = None, *, repeat: int = 1,
                      mask: Optional[Image.Image] = None, outpaint: Optional[OutpaintSpec] = None,
                      prompt: Optional[str] = None, extra: Optional[dict[str, Any]] = None,
                      select: bool = True) -> list[str]:
        """Queue ``kind`` jobs for panels, in the order given; returns the new job ids.

        ``overrides`` are request fields (model, steps, seed, variants, …, and
        ``identity_strength``) over the panel's and the project's settings; ``repeat`` > 1 queues
        copies with seeds advanced past each batch. ``select=False`` stages the results in the
        history without picking one. A panel whose request cannot be built (no image to vary, no
        model…) gets a failed job and one message. ``kind`` defaults to GENERATE.
        """
        from engine.jobs import EngineError, JobKind

        from .request import Overrides

        kind = JobKind.GENERATE if kind is None else kind
        ids: list[str] = []
        try:
            registry = self.model_registry
        except EngineError as exc:  # e.g. no ComfyUI server given in Preferences
            return [self._failed_job(pid, kind, self._label(pid, kind), exc).id for pid in panel_ids]
        for panel_id in panel_ids:
            fields = {"device": self.settings.device, **(overrides or {})}
            spec = Overrides.of(kind, fields, extra=extra, mask=mask, outpaint=outpaint, prompt=prompt,
                                models_dir=self.registry.models_dir, registry=registry,
                                project_dir=self.doc.path.parent if self.doc.path else None)
            ids += self._submit_one(panel_id, spec, max(1, int(repeat)), select)
        return ids

    def submit_page(self, page_id: str, kind: Optional[JobKind] = None,
                    overrides: Optional[dict[str, Any]] = None, *, repeat: int = 1, select: bool = True) -> list[str]:
        """Queue every panel of a page, in its reading order."""
        page = self.doc.project.page(page_id)
        return self.submit_panels([p.id for p in page.panels_in_reading_order()], kind, overrides,
                                  repeat=repeat, select=select)

    def _submit_one(self, panel_id: str, overrides: Overrides, repeat: int, select: bool) -> list[str]:
        from engine.jobs import EngineError, GenerationRequest, JobKind

        from .request import choose_model, needed_analysis

        kind = overrides.kind
        label = self._label(panel_id, kind)
        try:
            _, panel = self.doc.project.find_panel(panel_id)
            if kind is JobKind.UPSCALE:  # "model" is the upscaler; the refine needs a generator
                if overrides.fields.get("refine_strength") is not None:
                    choose_model(self.doc.project, overrides.model_registry(), overrides.fields.get("refine_model"),
                                 overrides.project_dir)
            else:  # fail now, not after the analysis
                choose_model(self.doc.project, overrides.model_registry(), overrides.fields.get("model"),
                             overrides.project_dir)
            missing = needed_analysis(self.doc.project, panel, overrides)
        except (EngineError, KeyError, ValueError, OSError) as exc:
            return [self._failed_job(panel_id, kind, label, exc).id]
        jobs = [Job(GenerationRequest().job_id, panel_id, kind, label, select=select) for _ in range(repeat)]
        if not missing:
            return self._prepare(jobs, overrides)
        for job in jobs:
            job.message = ANALYSING
            self._add(job)
        self._analyse(jobs, missing, overrides, rounds=3)
        return [job.id for job in jobs]

    def _analyse(self, jobs: list[Job], missing: dict[str, dict[str, bytes]], overrides: Overrides,
                 rounds: int) -> None:
        """Analyse faces in the helper process; then cache them and build the jobs' request."""
        from engine.jobs import EngineError

        from ..identity import faces as face_cache
        from .request import needed_analysis, with_analysis

        def done(found: Optional[dict], error: Optional[BaseException]) -> None:
            live = [j for j in jobs if not j.finished]
            if not live:  # cancelled meanwhile: add nothing
                return
            if error is not None:
                for job in live:
                    self._fail(job, f"face analysis failed: {one_line(error)}")
                return
            self.doc.cache_face_analysis(found or {})
            analysed = with_analysis(overrides, found or {})
            try:
                _, panel = self.doc.project.find_panel(live[0].panel_id)
                still = needed_analysis(self.doc.project, panel, analysed)
            except (EngineError, KeyError, ValueError, OSError) as exc:  # the panel or a card went away meanwhile
                for job in live:
                    self._fail(job, one_line(exc))
                return
            if still and rounds > 1:  # references were added meanwhile
                self._analyse(live, still, analysed, rounds - 1)
            else:
                self._prepare(live, analysed)

        self.tasks.submit(face_cache.analyze_backends, missing, str(self.registry.models_dir), done=done)

    def _prepare(self, jobs: list[Job], overrides: Overrides) -> list[str]:
        """Build the request of ``jobs`` (copies with advancing seeds) and queue them on the worker.
        The engine validates each request: an invalid one fails as its job, with one line."""
        from engine.jobs import EngineError

        from .request import build_request, repeat_requests

        first = jobs[0]
        try:
            _, panel = self.doc.project.find_panel(first.panel_id)
            prepared = build_request(self.doc.project, panel, overrides)
            requests = repeat_requests(prepared.request, len(jobs))
            worker = self._ensure_worker()
        except (EngineError, KeyError, ValueError, OSError) as exc:
            if first.id not in self.jobs:  # not queued yet: one failed job, as before
                return [self._failed_job(first.panel_id, first.kind, first.label, exc).id]
            for job in jobs:
                self._fail(job, one_line(exc))
            return [job.id for job in jobs]
        for job, request in zip(jobs, requests):
            request.job_id, job.seed, job.message = job.id, request.seed, ""
            if job.id not in self.jobs:
                self._add(job)
            else:
                self.jobChanged.emit(job.id)
            worker.submit(request)
        for note in prepared.notes:
            self.message.emit(f"{first.label}: note: {note}")
        return [job.id for job in jobs]

    def _failed_job(self, panel_id: str, kind: JobKind, label: str, exc: BaseException) -> Job:
        from engine.jobs import GenerationRequest

        text = one_line(exc)
        job = Job(GenerationRequest().job_id, panel_id, kind, label, state=JobState.FAILED, message=text)
        self._add(job)
        self.message.emit(f"{label}: {text}")
        self.jobFinished.emit(job.id)
        return job

    def _label(self, panel_id: str, kind: JobKind) -> str:
        try:
            page, panel = self.doc.project.find_panel(panel_id)
        except KeyError:
            return f"{KIND_NAMES[kind.value]} {panel_id}"
        number = page.panels_in_reading_order().index(panel) + 1
        return f"{KIND_NAMES[kind.value]} p{self.doc.project.page_index(page.id) + 1}·{number}"

    def _add(self, job: Job) -> None:
        self.jobs[job.id] = job
        self.jobAdded.emit(job.id)

    # --- cancelling and stopping ------------------------------------------------------------------

    def cancel(self, job_id: str) -> None:
        """Cancel a queued or running job; whatever it produces is dropped."""
        job = self.jobs.get(job_id)
        if job is None or job.finished:
            return
        if self._worker is not None:
            self._worker.cancel(job_id)
        self._set_state(job, JobState.CANCELLED)

    def _cancel_orphans(self, *_) -> None:
        """Cancel at once the queued and running jobs whose panel was deleted (or whose project
        was replaced): their steps would be wasted and their result could not be added."""
        for job in self.active():
            if self.doc.project.panel_or_none(job.panel_id) is None:
                job.message = "cancelled: the panel was deleted"
                self.cancel(job.id)

    def cancel_all(self) -> None:
        for job in list(self.jobs.values()):
            self.cancel(job.id)

    def clear_finished(self) -> None:
        self.jobs = {k: j for k, j in self.jobs.items() if not j.finished}
        self.jobsCleared.emit()

    def active(self) -> list[Job]:
        return [j for j in self.jobs.values() if not j.finished]

    def stop(self) -> bool:
        """Cancel everything and end the worker thread (call before the window closes)."""
        for job in self.active():
            job.state = JobState.CANCELLED
        if self._own_tasks:
            self.tasks.shutdown()
        worker, self._worker = self._worker, None
        return worker.stop() if worker is not None else True

    # --- worker -----------------------------------------------------------------------------------

    def _ensure_worker(self) -> EngineWorker:
        if self._worker is not None and self._stale_worker and not self.active():
            self._worker.stop()
            self._worker = None
        if self._worker is None:
            from ..workers import EngineWorker

            # the engine scans with its own registry: the worker thread must not share ours
            engine, self._engine = self._next_engine(), None
            pool = getattr(engine, "pool", None)  # ComfyUI servers: as many jobs at once as their slots
            worker = EngineWorker(engine, self, runners=len(pool.servers) * pool.slots if pool is not None else 1)
            worker.started.connect(self._on_started)
            worker.progress.connect(self._on_progress)
            worker.note.connect(self._on_progress)
            worker.result.connect(self._on_result)
            worker.failed.connect(self._on_failed)
            worker.cancelled.connect(self._on_cancelled)
            worker.start()
            self._worker, self._stale_worker = worker, False
        return self._worker

    def _set_state(self, job: Job, state: JobState, message: str = "") -> None:
        job.state = state
        if message:
            job.message = message
        self.jobChanged.emit(job.id)
        if job.finished:
            self.jobFinished.emit(job.id)
            if not self.active():
                self.idle.emit()

    @Slot(str)
    def _on_started(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None and job.state is JobState.QUEUED:
            job.state = JobState.RUNNING
            self.jobChanged.emit(job_id)

    @Slot(object)
    def _on_progress(self, progress: JobProgress) -> None:
        job = self.jobs.get(progress.job_id)
        if job is None or job.finished:
            return
        if progress.note:  # said before the steps start: the counts are not known yet
            job.message = progress.note
            self.jobChanged.emit(job.id)
            return
        job.state = JobState.RUNNING
        if progress.server:
            job.server = progress.server
        if progress.total:
            job.step, job.total = progress.step, progress.total
        if progress.preview is not None:
            job.preview = progress.preview
        self.jobChanged.emit(job.id)

    @Slot(str, str, str)
    def _on_server_event(self, kind: str, server: str, text: str) -> None:
        if kind == "down":
            from .engine_choice import down_note

            self.message.emit(down_note(server))

    @Slot(object)
    def _on_result(self, result: JobResult) -> None:
        job = self.jobs.get(result.job_id)
        if job is None or job.finished:  # cancelled while the result was on its way
            return
        from ..identity import consistency

        if result.metadata.get("server"):
            job.server = str(result.metadata["server"])
        try:
            _, panel = self.doc.project.find_panel(job.panel_id)
        except KeyError as exc:  # the panel was deleted meanwhile
            self._fail(job, f"the result could not be added: {one_line(exc)}")
            return
        snapshot = consistency.scoring_snapshot(self.doc.project, panel)
        if snapshot is None:
            self._apply(job, result, [[] for _ in result.images])
            return

        def done(scores: Optional[list[list[dict]]], error: Optional[BaseException]) -> None:
            if job.finished:  # cancelled while scoring: add nothing
                return
            if error is not None:
                self.message.emit(f"{job.label}: consistency score failed: {one_line(error)}")
            self._apply(job, result, None if error is not None else scores)

        job.message = SCORING
        self.tasks.submit(consistency.score_images, *snapshot, list(result.images), done=done)
        if not job.finished:
            self.jobChanged.emit(job.id)

    def _apply(self, job: Job, result: JobResult, scores: Optional[list[list[dict]]]) -> None:
        """Add a result to its panel's history (one undo step) and finish the job."""
        from .result import apply_result

        try:
            job.variant_ids = apply_result(self.doc, job.panel_id, result, select=job.select, identity_scores=scores)
        except (KeyError, ValueError) as exc:  # the panel was deleted meanwhile
            self._fail(job, f"the result could not be added: {one_line(exc)}")
            return
        job.step = job.total = max(job.total, 1)
        job.message = ""
        for warning in result.metadata.get("warnings") or []:
            self.message.emit(f"{job.label}: note: {warning}")
        self._set_state(job, JobState.DONE)

    @Slot(object)
    def _on_failed(self, failure: JobFailure) -> None:
        job = self.jobs.get(failure.job_id)
        if job is not None and not job.finished:
            self._fail(job, failure.message)

    def _fail(self, job: Job, text: str) -> None:
        self.message.emit(f"{job.label}: {text}")
        self._set_state(job, JobState.FAILED, text)

    @Slot(str)
    def _on_cancelled(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None and not job.finished:
            self._set_state(job, JobState.CANCELLED)

