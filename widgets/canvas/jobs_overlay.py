"""A panel's generation state drawn on the canvas: dimmed with a "queued N" badge while its jobs
wait, a progress bar and the live preview (clipped to the frame, like the art) while one runs."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QTransform

from app.project import Placement, Rect

from .geometry import image_rect, qrect

DIM = QColor(20, 24, 40, 110)
PILL = QColor(20, 24, 40, 200)
BAR_BACK = QColor(0, 0, 0, 120)
BAR = QColor(90, 170, 255)
BAR_PX = 6.0


@dataclass(eq=False)
class PanelJobs:
    """What the queue holds for one panel: jobs waiting, and the running one's progress and preview."""

    queued: int = 0
    running: bool = False
    step: int = 0
    total: int = 0
    preview: QImage | None = None

    @property
    def label(self) -> str:
        parts = []
        if self.running:
            parts.append(f"generating {self.step}/{self.total}" if self.total else "generating")
        if self.queued:
            parts.append(f"queued {self.queued}")
        return " · ".join(parts)


def qimage(image: Image.Image) -> QImage:
    """A QImage copy of a (small) PIL image."""
    rgba = image.convert("RGBA")
    return QImage(rgba.tobytes(), rgba.width, rgba.height, 4 * rgba.width, QImage.Format.Format_RGBA8888).copy()


def paint_jobs(painter: QPainter, jobs: PanelJobs, frame: QPainterPath, box: Rect) -> None:
    """Draw ``jobs`` over a panel whose outline is ``frame`` (page mm) and bounding box ``box``."""
    painter.save()
    painter.setClipPath(frame, Qt.ClipOperation.IntersectClip)
    if jobs.running and jobs.preview is not None and not jobs.preview.isNull():
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = image_rect(box, jobs.preview.width(), jobs.preview.height(), Placement())
        painter.drawImage(target, jobs.preview, QRectF(jobs.preview.rect()))
    elif not jobs.running:
        painter.fillPath(frame, DIM)
    device = painter.worldTransform().mapRect(qrect(box))
    painter.setWorldTransform(QTransform())  # badge and bar at screen size
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if jobs.running:
        bar = QRectF(device.left() + 4, device.bottom() - BAR_PX - 4, max(0.0, device.width() - 8), BAR_PX)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BAR_BACK)
        painter.drawRoundedRect(bar, 3, 3)
        done = jobs.step / jobs.total if jobs.total else 0.0
        painter.setBrush(BAR)
        painter.drawRoundedRect(QRectF(bar.x(), bar.y(), bar.width() * min(1.0, done), bar.height()), 3, 3)
    font = QFont()
    font.setPixelSize(12)
    font.setBold(True)
    painter.setFont(font)
    text = jobs.label
    fm = QFontMetricsF(font)
    w, h = fm.horizontalAdvance(text) + 16, fm.height() + 6
    centre = QPointF(device.center().x(), device.center().y() if not jobs.running else device.top() + h / 2 + 6)
    pill = QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(PILL)
    painter.drawRoundedRect(pill, h / 2, h / 2)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


class PanelJobStates:
    """Turns a job queue's active jobs into each panel's :class:`PanelJobs` for the scene.

    ``jobs`` are objects with ``panel_id``, ``state`` (``"queued"``/``"running"``/…), ``step``,
    ``total``, ``preview`` (a PIL image or None) and ``id``; previews are converted once each."""

    def __init__(self) -> None:
        self._previews: dict[str, tuple[int, QImage]] = {}  # job id → (id of its PIL preview, copy)

    def states(self, jobs) -> dict[str, PanelJobs]:
        out: dict[str, PanelJobs] = {}
        live: set[str] = set()
        for job in jobs:
            state = out.setdefault(job.panel_id, PanelJobs())
            if str(getattr(job.state, "value", job.state)) != "running":
                state.queued += 1
                continue
            state.running, state.step, state.total = True, job.step, job.total
            if job.preview is not None:
                live.add(job.id)
                cached = self._previews.get(job.id)
                if cached is None or cached[0] != id(job.preview):
                    cached = (id(job.preview), qimage(job.preview))
                    self._previews[job.id] = cached
                state.preview = cached[1]
        self._previews = {k: v for k, v in self._previews.items() if k in live}
        return out
