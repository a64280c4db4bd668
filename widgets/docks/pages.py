"""Pages dock: thumbnails of all pages; click to show, drag to reorder, add and remove."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QHBoxLayout, QListView, QListWidget, QListWidgetItem,
                               QToolButton, QVBoxLayout, QWidget)

from app import edits
from app.document import Document
from app.project import Page

from ..thumbnails import page_thumbnail

THUMB_H = 130


class PageList(QListWidget):
    """Icon list whose internal drag reports the move instead of reordering by itself."""

    pageMoved = Signal(str, int)

    def dropEvent(self, event) -> None:  # noqa: N802
        if event.source() is not self:
            event.ignore()
            return
        item = self.currentItem()
        target = self.itemAt(event.position().toPoint())
        row = self.count() - 1 if target is None else self.row(target)
        event.setDropAction(Qt.DropAction.IgnoreAction)
        event.accept()
        if item is not None and row != self.row(item):
            self.pageMoved.emit(item.data(Qt.ItemDataRole.UserRole), row)


class PagesDock(QDockWidget):
    pageSelected = Signal(str)

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__("Pages", parent)
        self.setObjectName("PagesDock")
        self.doc = doc
        self._thumbs: dict[str, tuple[Page, QIcon]] = {}
        self.current_id = ""
        self.list = PageList()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setFlow(QListView.Flow.TopToBottom)
        self.list.setWrapping(False)
        self.list.setIconSize(QSize(THUMB_H, THUMB_H))
        self.list.setMovement(QListView.Movement.Snap)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setSpacing(4)
        self.list.setUniformItemSizes(True)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.pageMoved.connect(lambda pid, row: edits.move_page(self.doc, pid, row))
        add = QToolButton(text="+ Page", toolTip="Add a page after the last one")
        add.clicked.connect(self.add_page)
        remove = QToolButton(text="Remove", toolTip="Remove the selected page")
        remove.clicked.connect(self.remove_page)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.setWidget(body)
        self._timer = QTimer(self, singleShot=True, interval=200)
        self._timer.timeout.connect(self.refresh_thumbnails)
        doc.pagesChanged.connect(self.rebuild)
        doc.pageChanged.connect(self._schedule_thumbnails)
        doc.itemsChanged.connect(self._schedule_thumbnails)
        doc.imagesChanged.connect(self._schedule_thumbnails)
        self.rebuild()

    def _schedule_thumbnails(self, *_) -> None:
        self._timer.start()

    def add_page(self) -> None:
        pid = edits.add_page(self.doc, template=None)
        self.pageSelected.emit(pid)

    def remove_page(self) -> None:
        if not self.current_id or len(self.doc.project.pages) <= 1:
            return
        from ..confirm import ask, page_work

        page = self.doc.project.page(self.current_id)
        work = page_work(page)
        number = self.doc.project.pages.index(page) + 1
        if work and not ask(self, "Remove Page", f"Page {number} has {work}. Remove it? (Undo brings it back.)",
                            "Remove Page"):
            return
        edits.remove_page(self.doc, self.current_id)

    def show_page(self, page_id: str) -> None:
        """Follow the canvas (without emitting pageSelected back)."""
        self.current_id = page_id
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == page_id:
                self.list.blockSignals(True)
                self.list.setCurrentItem(item)
                self.list.blockSignals(False)

    def _current_changed(self, item: QListWidgetItem | None, _prev) -> None:
        if item is not None:
            self.current_id = item.data(Qt.ItemDataRole.UserRole)
            self.pageSelected.emit(self.current_id)

    def _icon(self, page: Page) -> QIcon:
        cached = self._thumbs.get(page.id)
        if cached is not None and (cached[0] is page or cached[0] == page):  # pages are value objects
            return cached[1]
        icon = QIcon(page_thumbnail(self.doc.project, page, THUMB_H))
        self._thumbs[page.id] = (page, icon)
        return icon

    def rebuild(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for n, page in enumerate(self.doc.project.pages, start=1):
            item = QListWidgetItem(self._icon(page), f"{n}")
            item.setData(Qt.ItemDataRole.UserRole, page.id)
            item.setToolTip(f"Page {n} · {page.size_name} · {len(page.panels)} panels")
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.show_page(self.current_id)

    def refresh_thumbnails(self) -> None:
        pages = {p.id: p for p in self.doc.project.pages}
        for row in range(self.list.count()):
            item = self.list.item(row)
            page = pages.get(item.data(Qt.ItemDataRole.UserRole))
            if page is not None:
                item.setIcon(self._icon(page))
