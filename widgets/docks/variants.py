"""History / variants: a strip of the panel's images; pick (undoable), favourite, discard.

A loop variant (a motion panel's) carries a "▶ N" badge and plays in its icon while it is selected or
under the pointer (:mod:`widgets.docks.history_loops`); "Use as Still" makes another of its frames
the still that prints (an undo step)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem, QSpinBox,
                               QToolButton, QVBoxLayout, QWidget)

from app import edits
from app.document import Document
from app.project import Panel, Variant

from ..thumbnails import ImageIcons, image_icon
from .history_loops import LoopPreview, with_motion_badge


def variant_text(v: Variant) -> str:
    """The caption under a variant's icon: its kind, ★ for a favourite, the frame count of a loop."""
    text = ("★ " if v.favourite else "") + v.kind
    return f"{text} · {len(v.motion.frames)}f" if v.motion is not None else text


def variant_tip(v: Variant) -> str:
    seed = v.seed if v.seed is not None else "—"
    if v.motion is None:
        return f"{v.kind} · seed {seed}\n{v.prompt}"
    m = v.motion
    return (f"loop · {len(m.frames)} frames at {m.fps} fps ({len(m.frames) / max(m.fps, 1):.1f} s) · still: frame "
            f"{m.still + 1} · seed {seed}\n{v.prompt}")


class VariantsDock(QDockWidget):
    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__("History", parent)
        self.setObjectName("VariantsDock")
        self.doc = doc
        self.panel_id = ""
        self._shown: tuple = ()
        self.strip = QListWidget()
        self.strip.setViewMode(QListView.ViewMode.IconMode)
        self.strip.setFlow(QListView.Flow.LeftToRight)
        self.strip.setWrapping(True)
        self.strip.setIconSize(QSize(80, 80))
        self.strip.setResizeMode(QListView.ResizeMode.Adjust)
        self.strip.setMovement(QListView.Movement.Static)
        self.strip.itemClicked.connect(self._picked)
        self.strip.setMouseTracking(True)
        self.strip.itemEntered.connect(self._entered)
        self.strip.viewport().installEventFilter(self)
        self._hovered: QListWidgetItem | None = None
        self.frame_icons = ImageIcons(self, capacity=1024)  # loop frames, decoded ahead while a loop plays
        self.preview = LoopPreview(self.strip, self.frame_icons)
        self.still_frame = QSpinBox(minimum=1, maximum=1, prefix="Frame ", toolTip="A frame of the selected loop")
        self.still_frame.setObjectName("StillFrame")
        self.use_still = QToolButton(text="Use as Still", toolTip="Make this frame the loop's still: what the panel "
                                                                   "shows at rest and what prints (undoable)")
        self.use_still.clicked.connect(self._use_still)
        self.favourite = QToolButton(text="★ Favourite", checkable=True, toolTip="Mark this variant as a favourite")
        self.favourite.clicked.connect(self._toggle_favourite)
        self.discard = QToolButton(text="Discard", toolTip="Remove this variant from the history")
        self.discard.clicked.connect(self._discard)
        self.strip.currentItemChanged.connect(self._current_changed)
        self.label = QLabel()
        self.label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.favourite)
        buttons.addWidget(self.discard)
        buttons.addStretch()
        still = QHBoxLayout()
        still.addWidget(self.still_frame)
        still.addWidget(self.use_still)
        still.addStretch()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.label)
        layout.addWidget(self.strip, 1)
        layout.addLayout(buttons)
        layout.addLayout(still)
        self.setWidget(body)
        doc.itemsChanged.connect(self.refresh)
        doc.pageChanged.connect(self.refresh)
        doc.pagesChanged.connect(self.refresh)
        self.refresh()

    def panel(self) -> Panel | None:
        return self.doc.project.panel_or_none(self.panel_id)

    def set_panel(self, panel_id: str) -> None:
        self.panel_id = panel_id
        self.refresh()

    def refresh(self, *_) -> None:
        panel = self.panel()
        variants = panel.variants if panel else []
        shown = (self.panel_id, tuple((v.id, v.favourite, v.image) for v in variants), panel.current if panel else None)
        if shown == self._shown:
            return
        self._shown = shown
        self.preview.stop()
        self._hovered = None
        self.strip.clear()
        if panel is None:
            self.label.setText("Select a panel to see its image history.")
        elif not variants:
            self.label.setText("No images yet. Drop an image file onto the panel, or generate one.")
        else:
            self.label.setText(f"{len(variants)} image{'s' if len(variants) != 1 else ''} — click one to use it")
        for v in variants:
            pix = image_icon(self.doc.project, v.image, 80)
            if pix is not None and v.motion is not None:
                pix = with_motion_badge(pix, v.motion)
            item = QListWidgetItem(QIcon(pix) if pix else QIcon(), variant_text(v))
            item.setData(Qt.ItemDataRole.UserRole, v.id)
            item.setToolTip(variant_tip(v))
            self.strip.addItem(item)
            if panel and v.id == panel.current:
                self.strip.setCurrentItem(item)
        self._update_buttons()
        self._preview()

    def _variant_of(self, item: QListWidgetItem | None) -> Variant | None:
        panel = self.panel()
        if panel is None or item is None:
            return None
        vid = item.data(Qt.ItemDataRole.UserRole)
        return next((v for v in panel.variants if v.id == vid), None)

    def _current_variant(self) -> Variant | None:
        return self._variant_of(self.strip.currentItem())

    def _update_buttons(self) -> None:
        v = self._current_variant()
        self.favourite.setEnabled(v is not None)
        self.discard.setEnabled(v is not None)
        self.favourite.setChecked(bool(v and v.favourite))
        loop = v.motion if v is not None else None
        for widget in (self.still_frame, self.use_still):
            widget.setVisible(loop is not None)
        if loop is not None:
            self.still_frame.setMaximum(len(loop.frames))
            self.still_frame.setValue(loop.still + 1)

    # --- loop preview -----------------------------------------------------------------------------

    def _current_changed(self, *_) -> None:
        self._update_buttons()
        self._preview()

    def _entered(self, item: QListWidgetItem) -> None:
        self._hovered = item
        self._preview()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.strip.viewport() and event.type() == QEvent.Type.Leave:
            self._hovered = None
            self._preview()
        return super().eventFilter(watched, event)

    def _preview(self) -> None:
        """Play the hovered loop, else the selected one; a still plays nothing."""
        for item in (self._hovered, self.strip.currentItem()):
            v = self._variant_of(item)
            if v is not None and v.motion is not None:
                self.preview.play(self.doc.project, item, v.motion)
                return
        self.preview.stop()

    def _use_still(self) -> None:
        v = self._current_variant()
        if v is not None and v.motion is not None and self.still_frame.value() - 1 != v.motion.still:
            edits.set_loop_still(self.doc, self.panel_id, v.id, self.still_frame.value() - 1)
    def _picked(self, item: QListWidgetItem) -> None:
        panel = self.panel()
        vid = item.data(Qt.ItemDataRole.UserRole)
        if panel is not None and vid != panel.current:
            edits.pick_variant(self.doc, panel.id, vid)
        self._update_buttons()
        self._preview()

    def _toggle_favourite(self) -> None:
        v = self._current_variant()
        if v is not None:
            edits.set_favourite(self.doc, self.panel_id, v.id, not v.favourite)

    def _discard(self) -> None:
        v = self._current_variant()
        if v is not None:
            edits.discard_variant(self.doc, self.panel_id, v.id)
