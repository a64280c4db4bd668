"""Card library: characters and styles with thumbnails; drag a card onto a panel to bind it;
drop image files here to create a card."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QFileDialog, QHBoxLayout, QInputDialog, QListView,
                               QListWidget, QListWidgetItem, QTabWidget, QToolButton, QVBoxLayout, QWidget)

from app import edits
from app.document import Document

from .. import mime
from ..thumbnails import image_icon, initials_icon


class CardList(QListWidget):
    """Icon list of one kind of card: drag source (card MIME) and drop target for image files."""

    imagesDropped = Signal(list)  # paths

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(64, 64))
        self.setGridSize(QSize(92, 96))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWordWrap(True)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [mime.CARD_MIME, "text/uri-list"]

    def mimeData(self, items: list[QListWidgetItem]) -> QMimeData:  # noqa: N802
        return mime.card_mime_data(items[0].data(Qt.ItemDataRole.UserRole)) if items else QMimeData()

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if mime.image_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = mime.image_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.imagesDropped.emit(paths)
        else:
            event.ignore()


class CardsDock(QDockWidget):
    message = Signal(str)

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__("Card Library", parent)
        self.setObjectName("CardsDock")
        self.doc = doc
        self.lists = {"character": CardList("character"), "style": CardList("style")}
        self.tabs = QTabWidget()
        self.tabs.addTab(self.lists["character"], "Characters")
        self.tabs.addTab(self.lists["style"], "Styles")
        for kind, lst in self.lists.items():
            lst.imagesDropped.connect(lambda paths, k=kind: self.create_from_files(k, paths))
            lst.setToolTip("Drag a card onto a panel to bind it. Drop image files here to make a new card.")
        new_char = QToolButton(text="+ Character", toolTip="New character card from reference images")
        new_char.clicked.connect(lambda: self.new_card("character"))
        new_style = QToolButton(text="+ Style", toolTip="New style card from reference images")
        new_style.clicked.connect(lambda: self.new_card("style"))
        remove = QToolButton(text="Remove", toolTip="Remove the selected card (unbinds it everywhere)")
        remove.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        for b in (new_char, new_style, remove):
            buttons.addWidget(b)
        buttons.addStretch()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)
        layout.addLayout(buttons)
        self.setWidget(body)
        doc.cardsChanged.connect(self.rebuild)
        doc.imagesChanged.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        project = self.doc.project
        for kind, cards in (("character", project.characters), ("style", project.styles)):
            lst = self.lists[kind]
            lst.clear()
            for card in cards:
                key = card.references[0].image if card.references else None
                pix = image_icon(project, key, 64) or initials_icon(card.name, 64)
                item = QListWidgetItem(QIcon(pix), card.name)
                item.setData(Qt.ItemDataRole.UserRole, card.id)
                refs = len(card.references)
                item.setToolTip(f"{card.name} — {kind}, {refs} reference image{'s' if refs != 1 else ''}\n"
                                "Drag onto a panel to bind")
                lst.addItem(item)

    def create_from_files(self, kind: str, paths: list[str]) -> str | None:
        """A new card named after the first file, with every readable image as a reference."""
        images = []
        for path in paths:
            try:
                images.append(mime.load_image(path))
            except ValueError as exc:
                self.message.emit(str(exc))
        if not images:
            return None
        name = Path(paths[0]).stem.replace("_", " ").replace("-", " ").strip().title() or "Card"
        try:
            return edits.add_card(self.doc, kind, name, images)
        except ValueError as exc:
            self.message.emit(str(exc))
            return None

    def new_card(self, kind: str) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, f"Reference images for the new {kind}", "",
                                                "Images (*.png *.jpg *.jpeg *.webp *.bmp)")
        name, ok = QInputDialog.getText(self, f"New {kind}", "Name:",
                                        text=Path(paths[0]).stem.title() if paths else "")
        if not ok or not name.strip():
            return
        images = []
        for path in paths:
            try:
                images.append(mime.load_image(path))
            except ValueError as exc:
                self.message.emit(str(exc))
        edits.add_card(self.doc, kind, name.strip(), images)

    def remove_selected(self) -> None:
        lst = self.tabs.currentWidget()
        item = lst.currentItem() if isinstance(lst, QListWidget) else None
        if item is not None:
            edits.remove_card(self.doc, item.data(Qt.ItemDataRole.UserRole))
