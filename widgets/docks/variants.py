"""History / variants: a strip of the panel's images; pick (undoable), favourite, discard."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem, QToolButton,
                               QVBoxLayout, QWidget)

from app import edits
from app.document import Document
from app.project import Panel

from ..thumbnails import image_icon


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
        self.favourite = QToolButton(text="★ Favourite", checkable=True, toolTip="Mark this variant as a favourite")
        self.favourite.clicked.connect(self._toggle_favourite)
        self.discard = QToolButton(text="Discard", toolTip="Remove this variant from the history")
        self.discard.clicked.connect(self._discard)
        self.label = QLabel()
        self.label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.favourite)
        buttons.addWidget(self.discard)
        buttons.addStretch()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.label)
        layout.addWidget(self.strip, 1)
        layout.addLayout(buttons)
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
        shown = (self.panel_id, tuple((v.id, v.favourite) for v in variants), panel.current if panel else None)
        if shown == self._shown:
            return
        self._shown = shown
        self.strip.clear()
        if panel is None:
            self.label.setText("Select a panel to see its image history.")
        elif not variants:
            self.label.setText("No images yet. Drop an image file onto the panel, or generate one.")
        else:
            self.label.setText(f"{len(variants)} image{'s' if len(variants) != 1 else ''} — click one to use it")
        for v in variants:
            pix = image_icon(self.doc.project, v.image, 80)
            item = QListWidgetItem(QIcon(pix) if pix else QIcon(), ("★ " if v.favourite else "") + v.kind)
            item.setData(Qt.ItemDataRole.UserRole, v.id)
            item.setToolTip(f"{v.kind} · seed {v.seed if v.seed is not None else '—'}\n{v.prompt}")
            self.strip.addItem(item)
            if panel and v.id == panel.current:
                self.strip.setCurrentItem(item)
        self._update_buttons()

    def _current_variant(self):
        panel, item = self.panel(), self.strip.currentItem()
        if panel is None or item is None:
            return None
        vid = item.data(Qt.ItemDataRole.UserRole)
        return next((v for v in panel.variants if v.id == vid), None)

    def _update_buttons(self) -> None:
        v = self._current_variant()
        self.favourite.setEnabled(v is not None)
        self.discard.setEnabled(v is not None)
        self.favourite.setChecked(bool(v and v.favourite))

    def _picked(self, item: QListWidgetItem) -> None:
        panel = self.panel()
        vid = item.data(Qt.ItemDataRole.UserRole)
        if panel is not None and vid != panel.current:
            edits.pick_variant(self.doc, panel.id, vid)
        self._update_buttons()

    def _toggle_favourite(self) -> None:
        v = self._current_variant()
        if v is not None:
            edits.set_favourite(self.doc, self.panel_id, v.id, not v.favourite)

    def _discard(self) -> None:
        v = self._current_variant()
        if v is not None:
            edits.discard_variant(self.doc, self.panel_id, v.id)
