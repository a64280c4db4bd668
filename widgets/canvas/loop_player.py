"""Loop playback on the canvas: a panel whose current variant is a loop (``Variant.motion``) plays it
while the panel is selected or under the pointer, and shows its still frame otherwise.

Each playing panel has a timer at the loop's fps. Frames are drawn like stills, from copies
pre-scaled once to their on-screen size (:class:`widgets.canvas.pixmaps.PixmapCache`); those copies
are made off the GUI thread when a loop starts (or the zoom changes), and a tick whose next frame is
not ready yet keeps the frame shown, so a big loop never stalls the window. The player only sets
which frame a :class:`PanelItem` shows (``frame_key``); it never touches the document.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from .panel_item import PanelItem


@dataclass
class _Loop:
    item: PanelItem
    frames: list[str]
    fps: int
    index: int
    timer: QTimer
    prefetched: tuple[int, int] | None = None  # the on-screen size whose copies were asked for
    ticks: int = 0  # frames shown since it started


class LoopPlayer(QObject):
    """Plays the loops of the shown page's selected or hovered motion panels."""

    frameShown = Signal(str, int)  # panel id, frame index now shown

    def __init__(self, scene) -> None:
        super().__init__(scene)
        self.scene = scene
        self.loops: dict[str, _Loop] = {}
        scene.selectionChanged.connect(self.sync)
        scene.pageShown.connect(self.sync)
        doc = scene.doc  # connected after the scene's own handlers: the items are up to date here
        for signal in (doc.itemsChanged, doc.pageChanged, doc.pagesChanged):
            signal.connect(self.sync)

    @property
    def playing(self) -> set[str]:
        """Panels whose loop is playing now."""
        return set(self.loops)

    def sync(self, *_) -> None:
        """Play the loops of the panels that are selected or hovered; the others show their still."""
        want: dict[str, PanelItem] = {}
        for panel_id, item in self.scene.items_by_id.items():
            if isinstance(item, PanelItem) and (item.isSelected() or item.hovered):
                motion = item.panel.motion
                if motion is not None and len(motion.frames) > 1:
                    want[panel_id] = item
        for panel_id, loop in list(self.loops.items()):
            item = want.get(panel_id)
            motion = item.panel.motion if item is not None else None
            if item is not loop.item or motion is None or motion.frames != loop.frames or motion.fps != loop.fps:
                self._stop(panel_id)
        for panel_id, item in want.items():
            if panel_id not in self.loops:
                self._start(panel_id, item)

    def stop_all(self) -> None:
        for panel_id in list(self.loops):
            self._stop(panel_id)

    def _start(self, panel_id: str, item: PanelItem) -> None:
        motion = item.panel.motion
        timer = QTimer(self)
        timer.setInterval(max(1, round(1000 / max(1, motion.fps))))
        loop = _Loop(item, list(motion.frames), motion.fps, motion.still, timer)
        timer.timeout.connect(lambda: self._tick(panel_id))
        self.loops[panel_id] = loop
        self._prefetch(loop)
        timer.start()

    def _stop(self, panel_id: str) -> None:
        loop = self.loops.pop(panel_id)
        loop.timer.stop()
        loop.timer.deleteLater()
        if loop.item.frame_key is not None:
            loop.item.frame_key = None  # back to the still
            if loop.item.scene() is not None:
                loop.item.update()

    def _prefetch(self, loop: _Loop) -> None:
        """Ask for every frame's copy at the panel's on-screen size (off the GUI thread), once per size."""
        size = loop.item.target_size
        if size is None or size == loop.prefetched:
            return
        loop.prefetched = size
        images = loop.item.project.images
        for key in loop.frames:
            loop.item.pixmaps.prefetch(images, key, *size)

    def _tick(self, panel_id: str) -> None:
        loop = self.loops.get(panel_id)
        if loop is None:
            return
        item = loop.item
        following = (loop.index + 1) % len(loop.frames)
        key = loop.frames[following]
        size = item.target_size
        if size is not None and not item.pixmaps.has_scaled(key, *size):
            self._prefetch(loop)
            item.pixmaps.prefetch(item.project.images, key, *size)  # evicted meanwhile: ask again
            return  # keep the frame shown until the next one is ready
        if size is None and not item.pixmaps.has_magnified(key):  # shown magnified: its source, decoded off the GUI thread
            item.pixmaps.magnified(item.project.images, key)
            return
        loop.index = following
        loop.ticks += 1
        item.frame_key = key
        item.update()
        self.frameShown.emit(panel_id, following)
