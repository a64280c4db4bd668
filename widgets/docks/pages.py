"""Pages dock: thumbnails of all pages; click to show, drag to reorder, add and remove.

Thumbnails are fetched only for the rows in view, from the project file or drawn off the GUI
thread (:class:`widgets.thumbnails.PageThumbnailer`); until then a row shows a blank placeholder.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QHBoxLayout, QListView, QListWidget, QListWidgetItem,
                               QToolButton, QVBoxLayout, QWidget)

from app import edits, page_thumbnails
from app.document import Document
from app.project import Page

from ..thumbnails import PageThumbnailer

THUMB_H = 130
FP_ROLE = Qt.ItemDataRole.UserRole + 1  # the fingerprint whose picture the row shows ("" placeholder)


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
        self.current_id = ""
        self.thumbnailer = PageThumbnailer(self)
        self.thumbnailer.ready.connect(self._thumbnail_ready)
        self._fingerprints: dict[str, tuple[Page, str]] = {}
        self._placeholders: dict[tuple[float, float], QIcon] = {}
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
        self._visible_timer = QTimer(self, singleShot=True, interval=0)
        self._visible_timer.timeout.connect(self.fill_visible)
        self.list.verticalScrollBar().valueChanged.connect(self._visible_timer.start)
        self.list.horizontalScrollBar().valueChanged.connect(self._visible_timer.start)
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

    def _fingerprint(self, page: Page) -> str:
        cached = self._fingerprints.get(page.id)
        if cached is not None and cached[0] is page:  # edits replace pages, never change them in place
            return cached[1]
        fp = page_thumbnails.fingerprint(page)
        self._fingerprints[page.id] = (page, fp)
        return fp

    def _placeholder(self, page: Page) -> QIcon:
        size = (round(page.width_mm), round(page.height_mm))
        icon = self._placeholders.get(size)
        if icon is None:
            pix = QPixmap(max(1, round(THUMB_H * page.width_mm / page.height_mm)), THUMB_H)
            pix.fill(QColor("#e4e4e4"))
            icon = self._placeholders[size] = QIcon(pix)
        return icon

    def rebuild(self) -> None:
        self.thumbnailer.cancel_pending()
        self.list.blockSignals(True)
        self.list.clear()
        for n, page in enumerate(self.doc.project.pages, start=1):
            item = QListWidgetItem(self._placeholder(page), f"{n}")
            item.setData(Qt.ItemDataRole.UserRole, page.id)
            item.setData(FP_ROLE, "")
            item.setToolTip(f"Page {n} · {page.size_name} · {len(page.panels)} panels")
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.show_page(self.current_id)
        self._visible_timer.start()

    def visible_rows(self) -> list[int]:
        """Rows at least partly in view (all rows while the dock is not laid out yet: none)."""
        area = self.list.viewport().rect()
        first = self.list.indexAt(area.topLeft())
        rows = []
        start = first.row() if first.isValid() else 0
        for row in range(start, self.list.count()):
            rect = self.list.visualItemRect(self.list.item(row))
            if rect.intersects(area):
                rows.append(row)
            elif rows:
                break
        return rows

    def fill_visible(self) -> None:
        """Show (or ask for) the thumbnails of the rows in view."""
        pages = {p.id: p for p in self.doc.project.pages}
        for row in self.visible_rows():
            item = self.list.item(row)
            page = pages.get(item.data(Qt.ItemDataRole.UserRole))
            if page is None:
                continue
            fp = self._fingerprint(page)
            if item.data(FP_ROLE) == fp:
                continue
            pix = self.thumbnailer.request(self.doc.project, page, fp)
            if pix is not None:
                item.setIcon(QIcon(pix))
                item.setData(FP_ROLE, fp)

    def _thumbnail_ready(self, fp: str, pix: QPixmap) -> None:
        pages = {p.id: p for p in self.doc.project.pages}
        for row in self.visible_rows():
            item = self.list.item(row)
            page = pages.get(item.data(Qt.ItemDataRole.UserRole))
            if page is not None and item.data(FP_ROLE) != fp and self._fingerprint(page) == fp:
                item.setIcon(QIcon(pix))
                item.setData(FP_ROLE, fp)

    def refresh_thumbnails(self) -> None:
        """The document changed: update the rows in view (the others when they come into view)."""
        self.fill_visible()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._visible_timer.start()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._visible_timer.start()
