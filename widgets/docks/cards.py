"""Card library: characters and styles with thumbnails; drag a card onto a panel to bind it;
drop image files here to create a card."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QFileDialog, QHBoxLayout, QInputDialog, QListView,
                               QListWidget, QListWidgetItem, QMenu, QTabWidget, QToolButton, QVBoxLayout, QWidget)

from app import edits
from app.document import Document
from .. import mime
from ..thumbnails import ImageIcons, initials_icon


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
        mime.accept_image_drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = mime.accept_image_drop(event)
        if paths:
            self.imagesDropped.emit(paths)


CARD_ICON_PX = 64
ICON_KEY_ROLE = Qt.ItemDataRole.UserRole + 16  # the image key a card's icon shows
PRESET_TITLES = {"anime": "Anime (--niji)", "manga-ink": "Manga Ink (black and white)",
                 "western": "Western Comic Colour", "raw": "Raw (no style)"}


class CardsDock(QDockWidget):
    message = Signal(str)
    editRequested = Signal(str)  # card id: open its editor (double-click, context menu)

    def __init__(self, doc: Document, parent: QWidget | None = None, hold_icons: bool = False) -> None:
        """``hold_icons``: the reference pictures wait for ``self.icons.release()`` (initials meanwhile)."""
        super().__init__("Card Library", parent)
        self.setObjectName("CardsDock")
        self.doc = doc
        self.lists = {"character": CardList("character"), "style": CardList("style")}
        # the window's actions on the current card of a kind, in its context menu (set by widgets.actions)
        self.card_actions: dict[str, list[QAction]] = {"character": [], "style": []}
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
        self.preset_menu = QMenu("Add Style Preset", self)
        self.preset_menu.aboutToShow.connect(self._list_presets)
        presets = QToolButton(text="+ Preset", toolTip="Add Style Preset: a style card from a bundled preset")
        presets.setMenu(self.preset_menu)
        presets.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        for kind, lst in self.lists.items():
            lst.itemDoubleClicked.connect(lambda item: self.editRequested.emit(item.data(Qt.ItemDataRole.UserRole)))
            lst.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            lst.customContextMenuRequested.connect(lambda pos, k=kind: self._context_menu(k, pos))
        buttons = QHBoxLayout()
        for b in (new_char, new_style, presets, remove):
            buttons.addWidget(b)
        buttons.addStretch()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)
        layout.addLayout(buttons)
        self.setWidget(body)
        self.icons = ImageIcons(self)  # reference pictures decoded off the GUI thread, kept by image key
        self.icons.ready.connect(self._icon_ready)
        if hold_icons:
            self.icons.hold()
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
                pix = self.icons.icon(project, key, CARD_ICON_PX) or initials_icon(card.name, CARD_ICON_PX)
                item = QListWidgetItem(QIcon(pix), card.name)
                item.setData(Qt.ItemDataRole.UserRole, card.id)
                item.setData(ICON_KEY_ROLE, key)
                refs = len(card.references)
                item.setToolTip(f"{card.name} — {kind}, {refs} reference image{'s' if refs != 1 else ''}\n"
                                "Drag onto a panel to bind")
                lst.addItem(item)

    def _icon_ready(self, key: str, size: int, pix: QPixmap) -> None:
        """A reference picture was drawn: it replaces the initials on the cards showing it."""
        if size != CARD_ICON_PX:
            return
        for lst in self.lists.values():
            for row in range(lst.count()):
                item = lst.item(row)
                if item.data(ICON_KEY_ROLE) == key:
                    item.setIcon(QIcon(pix))

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

    def card_menu(self, card_id: str | None, kind: str = "character") -> QMenu:
        """The library's context menu: edit/remove the card under the mouse (and the window's actions on
        a card of its kind), add cards."""
        menu = QMenu(self)
        if card_id:
            menu.addAction("Edit Card…", lambda: self.editRequested.emit(card_id))
            menu.addAction("Remove Card", lambda: edits.remove_card(self.doc, card_id))
            menu.addSeparator()
            if self.card_actions.get(kind):
                menu.addActions(self.card_actions[kind])
                menu.addSeparator()
        menu.addAction("New Character…", lambda: self.new_card("character"))
        menu.addAction("New Style…", lambda: self.new_card("style"))
        menu.addMenu(self.preset_menu)
        return menu

    def _context_menu(self, kind: str, pos) -> None:
        lst = self.lists[kind]
        item = lst.itemAt(pos)
        if item is not None:
            lst.setCurrentItem(item)  # the card actions work on the current card
        menu = self.card_menu(item.data(Qt.ItemDataRole.UserRole) if item else None, kind)
        menu.exec(lst.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def _list_presets(self) -> None:
        """Fill the preset menu when it first opens (the prompt flags load then, not with the window)."""
        if self.preset_menu.isEmpty():
            from engine.prompt_flags import STYLE_PRESETS

            for preset in STYLE_PRESETS:
                self.preset_menu.addAction(PRESET_TITLES.get(preset, preset.title()),
                                           lambda p=preset: self.add_style_preset(p))

    def add_style_preset(self, preset: str) -> str:
        """A style card from a bundled preset (no reference images needed)."""
        name = PRESET_TITLES.get(preset, preset.title()).split(" (")[0]
        card_id = edits.add_card(self.doc, "style", name, [], preset=preset)
        self.tabs.setCurrentWidget(self.lists["style"])
        return card_id

    def remove_selected(self) -> None:
        lst = self.tabs.currentWidget()
        item = lst.currentItem() if isinstance(lst, QListWidget) else None
        if item is not None:
            edits.remove_card(self.doc, item.data(Qt.ItemDataRole.UserRole))
