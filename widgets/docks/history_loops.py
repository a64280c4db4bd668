"""Loops in the History dock: the motion badge on a loop variant's icon, frame icons made off the GUI
thread, and the preview that plays a loop in its History icon while it is selected or hovered."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from app.project import Motion, Project
from ..thumbnails import ImageIcons

ICON_PX = 80
BADGE_COLOUR = QColor(20, 20, 24, 210)


def with_motion_badge(pix: QPixmap, motion: Motion, frame: int | None = None) -> QPixmap:
    """``pix`` with a "▶ N" badge (N frames) in its lower left corner; ``frame`` (0-based) adds the
    frame shown, as "3/16"."""
    out = QPixmap(pix)
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(11)
    font.setBold(True)
    painter.setFont(font)
    n = len(motion.frames)
    text = f"▶ {frame + 1}/{n}" if frame is not None else f"▶ {n}"
    width = painter.fontMetrics().horizontalAdvance(text) + 10
    rect = QRectF(3, out.height() - 19, width, 16)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(BADGE_COLOUR)
    painter.drawRoundedRect(rect, 4, 4)
    painter.setPen(Qt.GlobalColor.white)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return out


class LoopPreview(QObject):
    """Plays one loop variant in its History icon (at the loop's fps); the icon returns to the still
    when the preview stops. A frame not decoded yet keeps the icon shown until it is."""

    frameShown = Signal(str, int)  # variant id, frame index

    def __init__(self, strip: QListWidget, icons: ImageIcons) -> None:
        super().__init__(strip)
        self.strip = strip
        self.icons = icons
        self.project: Project | None = None
        self.item: QListWidgetItem | None = None
        self.motion: Motion | None = None
        self.still_icon = QIcon()
        self.index = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)

    @property
    def variant_id(self) -> str | None:
        return self.item.data(Qt.ItemDataRole.UserRole) if self.item is not None else None

    def play(self, project: Project, item: QListWidgetItem | None, motion: Motion | None) -> None:
        """Play ``motion`` in ``item``'s icon (None: stop)."""
        if item is self.item and motion is not None and self.motion is not None and motion.frames == self.motion.frames:
            return
        self.stop()
        if item is None or motion is None or len(motion.frames) < 2:
            return
        self.project, self.item, self.motion = project, item, motion
        self.still_icon, self.index = item.icon(), motion.still
        for key in motion.frames:  # decoded ahead, off the GUI thread
            self.icons.icon(project, key, ICON_PX)
        self.timer.start(max(1, round(1000 / max(1, motion.fps))))

    def stop(self) -> None:
        self.timer.stop()
        if self.item is not None:
            try:
                self.item.setIcon(self.still_icon)
            except RuntimeError:  # the strip was cleared: the item is gone
                pass
        self.item = self.motion = None

    def _tick(self) -> None:
        if self.item is None or self.motion is None or self.project is None:
            return
        following = (self.index + 1) % len(self.motion.frames)
        pix = self.icons.icon(self.project, self.motion.frames[following], ICON_PX)
        if pix is None:
            return
        self.index = following
        self.item.setIcon(QIcon(with_motion_badge(pix, self.motion, following)))
        self.frameShown.emit(self.variant_id or "", following)
