"""Job Queue dock: one row per job with its state, progress bar, live preview and a cancel button."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSizePolicy,
                               QToolButton, QVBoxLayout, QWidget)

from app.generation.queue import Job, JobQueue, JobState

from .images import pil_pixmap

PREVIEW_PX = 56
#: The list's preferred size: what the dock asks of the window, whatever the jobs' texts are.
LIST_HINT = QSize(220, 300)
STATE_TEXT = {JobState.QUEUED: "queued", JobState.RUNNING: "running", JobState.DONE: "done",
              JobState.FAILED: "failed", JobState.CANCELLED: "cancelled"}


class JobRow(QWidget):
    """A job: preview, label (seed, state), progress bar, cancel."""

    def __init__(self, queue: JobQueue, job: Job) -> None:
        super().__init__()
        self.queue, self.job_id = queue, job.id
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW_PX, PREVIEW_PX)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: palette(mid); border-radius: 3px;")
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.state = QLabel()
        self.state.setWordWrap(True)
        for label in (self.title, self.state):  # long texts wrap (and the tooltip has them), never widen the row
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.state.setStyleSheet("color: palette(placeholder-text);")
        self.server = QLabel()  # the ComfyUI server running the job
        self.server.setObjectName("JobServer")
        self.server.setStyleSheet("color: palette(placeholder-text);")
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setMaximumHeight(14)
        self.bar.setMinimumWidth(40)
        self.bar.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.cancel = QToolButton(text="✕", toolTip="Cancel this job (nothing is added to the panel)")
        self.cancel.clicked.connect(lambda: queue.cancel(self.job_id))
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.server)
        text.addWidget(self.bar)
        text.addWidget(self.state)
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 2, 2, 2)
        row.addWidget(self.preview)
        row.addLayout(text, 1)
        row.addWidget(self.cancel, 0, Qt.AlignmentFlag.AlignTop)
        self.refresh(job)

    def refresh(self, job: Job) -> None:
        seed = f" · seed {job.seed}" if job.seed is not None else ""
        self.title.setText(f"<b>{job.label}</b>{seed}")
        self.title.setToolTip(f"{job.label}{seed}")
        self.bar.setMaximum(max(job.total, 1))
        self.bar.setValue(min(job.step, max(job.total, 1)) if job.state is not JobState.DONE else self.bar.maximum())
        self.bar.setFormat(f"{job.step}/{job.total}" if job.total else STATE_TEXT[job.state])
        state = STATE_TEXT[job.state]
        self.state.setText(f"{state}: {job.message}" if job.message else state)
        self.state.setToolTip(job.message)
        self.server.setText(f"on {job.server}" if job.server else "")
        self.server.setVisible(bool(job.server))
        self.cancel.setEnabled(not job.finished)
        if job.preview is not None:
            self.preview.setPixmap(pil_pixmap(job.preview, PREVIEW_PX))


class JobList(QScrollArea):
    """Rows stretch to the viewport's width (no horizontal scrolling that would hide the cancel
    buttons), and the list's size hint stays the same as jobs come and go, so the dock keeps its size."""

    def __init__(self, content: QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(content)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return LIST_HINT


class JobQueueDock(QDockWidget):
    def __init__(self, queue: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__("Job Queue", parent)
        self.setObjectName("JobQueueDock")
        self.queue = queue
        self.rows: dict[str, JobRow] = {}
        self.summary = QLabel()
        # a longer summary ("1 running, 8 queued") must not widen the dock and squeeze the canvas
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.cancel_all = QPushButton("Cancel All", toolTip="Cancel every queued and running job")
        self.cancel_all.clicked.connect(queue.cancel_all)
        self.clear = QPushButton("Clear Finished", toolTip="Remove done, failed and cancelled jobs from the list")
        self.clear.clicked.connect(queue.clear_finished)
        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setContentsMargins(2, 2, 2, 2)
        self.list_layout.setSpacing(2)
        self.list_layout.addStretch()
        self.scroll = scroll = JobList(self.list_widget)
        self._follow = False
        scroll.verticalScrollBar().rangeChanged.connect(self._range_changed)
        scroll.verticalScrollBar().actionTriggered.connect(self._user_scrolled)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.clear)
        buttons.addWidget(self.cancel_all)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addWidget(scroll, 1)
        self.setWidget(body)
        queue.jobAdded.connect(self._added)
        queue.jobChanged.connect(self._changed)
        queue.jobFinished.connect(self._changed)
        queue.jobsCleared.connect(self._cleared)
        self._update_summary()

    def _added(self, job_id: str) -> None:
        row = JobRow(self.queue, self.queue.jobs[job_id])
        self.rows[job_id] = row
        self.list_layout.insertWidget(self.list_layout.count() - 1, row)
        self._update_summary()
        # the newest row is the last one: follow the list's end once the layout has made room for it
        self._follow = True
        QTimer.singleShot(0, self, self._scroll_to_end)

    def _range_changed(self, _minimum: int, _maximum: int) -> None:
        if self._follow:
            self._scroll_to_end()

    def _scroll_to_end(self) -> None:
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _user_scrolled(self, _action: int) -> None:
        self._follow = False  # the user looks elsewhere in the list: leave the view where it is

    def _changed(self, job_id: str) -> None:
        job, row = self.queue.jobs.get(job_id), self.rows.get(job_id)
        if job is not None and row is not None:
            row.refresh(job)
        self._update_summary()

    def _cleared(self) -> None:
        for job_id in [j for j in self.rows if j not in self.queue.jobs]:
            row = self.rows.pop(job_id)
            row.setParent(None)
            row.deleteLater()
        self._update_summary()

    def _update_summary(self) -> None:
        active = self.queue.active()
        running = sum(j.state is JobState.RUNNING for j in active)
        self.summary.setText(f"{running} running, {len(active) - running} queued" if active else "Idle")
        self.cancel_all.setEnabled(bool(active))
        self.clear.setEnabled(len(self.queue.jobs) > len(active))
