"""The live document: a project, its undo stack, and signals views listen to.

Views are projections of ``Document.project``. Nothing edits the project directly: edits build a
new value and push a command (below) that swaps it in, so every change is one undo step and
"modified" is simply ``not undo_stack.isClean()``.

Pages, panels and balloons are treated as immutable once they are in the project: an edit makes a
new page shell (its own lists, the unchanged items shared) and new copies of the items it changes.
So commands hold references, not copies, and one step costs what it changed, not the page.
"""

from __future__ import annotations

import copy
import os
import pickle
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from .manifest import PageEncodings
from .project import Balloon, CharacterCard, Page, Panel, Project, StyleCard

PROJECT_ATTRS = ("dpi", "title", "settings")
UNLIMITED = 0  # QUndoStack's "no limit"


class Document(QObject):
    pagesChanged = Signal()  # pages added, removed or reordered
    pageChanged = Signal(str)  # a page's own properties or its set of items changed
    itemsChanged = Signal(str, list)  # (page id, ids of panels/balloons whose properties changed)
    cardsChanged = Signal()
    projectChanged = Signal()  # dpi, title or settings
    modifiedChanged = Signal(bool)
    imagesChanged = Signal()

    def __init__(self, project: Project | None = None, path: str | Path | None = None,
                 parent: QObject | None = None, undo_limit: int = UNLIMITED) -> None:
        super().__init__(parent)
        self.project = project if project is not None else Project()
        self.path: Path | None = Path(path) if path else None
        self.disk_stamp: tuple[int, int] | None = None  # the file as last read or written (see changed_on_disk)
        self.record_disk_stamp()
        self.undo_stack = QUndoStack(self)
        self.undo_limit = max(0, int(undo_limit))
        self.undo_stack.setUndoLimit(self.undo_limit)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        # the pages as saves encode them (pages are replaced, never changed in place: a save after
        # an edit encodes only the pages the edit replaced)
        self.page_encodings = PageEncodings()

    def set_undo_limit(self, steps: int) -> None:
        """Keep at most ``steps`` undo steps (0: no limit); the oldest are dropped first.

        Qt changes the limit only on an empty stack, so a non-empty history keeps its limit until the
        next :meth:`reset` (open or new)."""
        self.undo_limit = max(0, int(steps))
        if self.undo_stack.count() == 0:
            self.undo_stack.setUndoLimit(self.undo_limit)

    def _on_clean_changed(self, clean: bool) -> None:
        # A bound slot (not a lambda) is disconnected when the document is destroyed, so tearing
        # down a document at exit does not emit through a deleted object.
        self.modifiedChanged.emit(not clean)

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    def cache_face_analysis(self, found: dict[str, dict[str, dict]]) -> bool:
        """Store face analysis (backend → image key → FaceCache dict) in every card reference that
        shows one of those images and lacks it. Derived data, so no undo step: the document is
        marked modified (the analysis is saved with it) and ``cardsChanged`` is emitted.
        Returns whether anything was stored."""
        changed = False
        for card in [*self.project.characters, *self.project.styles]:
            for ref in card.references:
                for backend, results in found.items():
                    if backend not in ref.faces and ref.image in results:
                        ref.faces[backend] = copy.deepcopy(results[ref.image])
                        changed = True
        if changed:
            self.undo_stack.resetClean()  # modified until saved, whatever undo does meanwhile
            self.cardsChanged.emit()
        return changed

    def mark_saved(self, path: str | Path | None = None) -> None:
        if path is not None:
            self.path = Path(path)
        self.record_disk_stamp()
        self.undo_stack.setClean()

    # --- on-disk change detection ------------------------------------------------------------------

    def _stamp(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def record_disk_stamp(self) -> None:
        """Remember the file's modification time and size (after it was opened or saved)."""
        self.disk_stamp = self._stamp()

    def changed_on_disk(self) -> bool:
        """Whether another program changed (or removed) the file since it was opened or saved here."""
        return self.disk_stamp is not None and self._stamp() != self.disk_stamp

    def reset(self, project: Project, path: str | Path | None = None) -> None:
        """Replace the whole project (open/new): clears undo history."""
        self.undo_stack.clear()
        self.undo_stack.setUndoLimit(self.undo_limit)
        self.project = project
        self.page_encodings = PageEncodings()
        self.path = Path(path) if path else None
        self.record_disk_stamp()
        self.pagesChanged.emit()
        self.cardsChanged.emit()
        self.projectChanged.emit()
        self.modifiedChanged.emit(False)

    # --- primitive swaps, used only by the commands below ----------------------------------------

    def _swap_page(self, page: Page) -> None:
        index = self.project.page_index(page.id)
        old = self.project.pages[index]
        self.project.pages[index] = page
        if _same_item_ids(old, page) and _page_attrs(old) == _page_attrs(page):
            old_items = {i.id: i for i in [*old.panels, *old.balloons]}
            changed = [i.id for i in [*page.panels, *page.balloons]
                       if old_items[i.id] is not i and old_items[i.id] != i]
            self.itemsChanged.emit(page.id, changed)
        else:
            self.pageChanged.emit(page.id)

    def _swap_items(self, page_id: str, items: dict[str, Panel | Balloon]) -> None:
        """Put ``items`` (by id) in place of the page's items with the same ids, in a new page shell."""
        index = self.project.page_index(page_id)
        old = self.project.pages[index]
        self.project.pages[index] = replace(old, panels=[items.get(p.id, p) for p in old.panels],
                                            balloons=[items.get(b.id, b) for b in old.balloons])
        self.itemsChanged.emit(page_id, [i for i in items if not _same(old.item(i), items[i])])

    def _swap_pages(self, pages: list[Page]) -> None:
        self.project.pages = pages
        self.pagesChanged.emit()

    def _swap_cards(self, cards: tuple[list[CharacterCard], list[StyleCard]]) -> None:
        self.project.characters, self.project.styles = cards
        self.cardsChanged.emit()

    def _swap_attrs(self, attrs: dict[str, Any]) -> None:
        for name, value in attrs.items():
            setattr(self.project, name, value)
        self.projectChanged.emit()

    def _add_images(self, images: dict[str, bytes]) -> None:
        if images:
            self.project.images.update(images)
            self.imagesChanged.emit()

    def _remove_images(self, keys: list[str]) -> None:
        for key in keys:
            self.project.images.pop(key, None)


def _same(a: Any, b: Any) -> bool:
    return a is b or a == b


def _same_item_ids(a: Page, b: Page) -> bool:
    return [i.id for i in a.panels] == [i.id for i in b.panels] and \
        [i.id for i in a.balloons] == [i.id for i in b.balloons]


def _page_attrs(page: Page) -> dict:
    d = dict(vars(page))
    d.pop("panels")
    d.pop("balloons")
    return d


class _DocumentCommand(QUndoCommand):
    """An undo command on a document, holding it weakly: a strong reference would make a cycle
    (document → undo stack → command → document) whose garbage collection crashes PySide6."""

    def __init__(self, doc: Document, text: str) -> None:
        super().__init__(text)
        self._doc = weakref.ref(doc)

    @property
    def doc(self) -> Document:
        doc = self._doc()
        if doc is None:
            raise RuntimeError("the document of this undo command is gone")
        return doc


class SnapshotCommand(_DocumentCommand):
    """Swap a part of the project for a new value; undo swaps the old value back.

    ``target`` is ``("page", page_id)``, ``("pages",)``, ``("cards",)``, ``("attrs",)`` or
    ``("content",)`` (pages and cards together, for edits that touch both), ``("setup",)`` (pages and
    project settings, a page setup) or ``("book",)`` (pages, cards and project settings together, e.g.
    a script import). Qt undo macros are
    avoided: PySide6 crashed on undo/redo of macros with many Python-made children.
    Images the new value needs are added on redo and removed again on undo (when they were new).
    A non-empty ``merge_key`` merges consecutive commands with the same key (typing, slider drags).
    Pages are held by reference (they are never changed in place); cards and project settings,
    which a few places update in place (cached face analysis), are copied.
    """

    _MERGE_ID = 0x5A17

    def __init__(self, doc: Document, target: tuple, after: Any, text: str,
                 images: dict[str, bytes] | None = None, merge_key: str = "") -> None:
        super().__init__(doc, text)
        self.target = target
        self.before = _hold(target, _read(doc.project, target))
        self.after = _hold(target, after)
        self.new_images = {k: v for k, v in (images or {}).items() if k not in doc.project.images}
        self.merge_key = merge_key

    def redo(self) -> None:
        self.doc._add_images(self.new_images)
        _write(self.doc, self.target, _hold(self.target, self.after))

    def undo(self) -> None:
        _write(self.doc, self.target, _hold(self.target, self.before))
        self.doc._remove_images(list(self.new_images))

    def id(self) -> int:  # noqa: A003 - Qt's name
        return self._MERGE_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, SnapshotCommand) or other.merge_key != self.merge_key \
                or other.target != self.target or other.new_images:
            return False
        self.after = other.after
        return True


def clone(value: Any) -> Any:
    """A deep copy by pickling: the same result as ``copy.deepcopy`` for the model, about three times faster."""
    return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


class BookCommand(SnapshotCommand):
    """A snapshot of the whole book (``("book",)``: pages, cards, project settings), copied by pickling."""

    def __init__(self, doc: Document, after: Any, text: str) -> None:
        super().__init__(doc, ("book",), after, text)


class ItemsCommand(_DocumentCommand):
    """Replace some panels and balloons of one page (by id); undo puts the old ones back.

    Holds only the changed items, old and new (a move of six panels keeps twelve small panel
    objects whose variant lists are shared), so its cost does not grow with the page or with the
    panels' variant history. Images the new items need are added on redo and removed on undo.
    """

    _MERGE_ID = 0x5A18

    def __init__(self, doc: Document, page_id: str, items: list[Panel | Balloon], text: str,
                 images: dict[str, bytes] | None = None, merge_key: str = "") -> None:
        super().__init__(doc, text)
        self.page_id = page_id
        page = doc.project.page(page_id)
        self.after = {item.id: item for item in items}
        self.before = {item_id: page.item(item_id) for item_id in self.after}
        self.new_images = {k: v for k, v in (images or {}).items() if k not in doc.project.images}
        self.merge_key = merge_key

    def redo(self) -> None:
        self.doc._add_images(self.new_images)
        self.doc._swap_items(self.page_id, self.after)

    def undo(self) -> None:
        self.doc._swap_items(self.page_id, self.before)
        self.doc._remove_images(list(self.new_images))

    def id(self) -> int:  # noqa: A003 - Qt's name
        return self._MERGE_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, ItemsCommand) or other.merge_key != self.merge_key \
                or other.page_id != self.page_id or other.after.keys() != self.after.keys() or other.new_images:
            return False
        self.after = other.after
        return True


def _hold(target: tuple, value: Any) -> Any:
    """What a snapshot keeps of ``value``: pages as they are (shared), anything else as a copy."""
    kind = target[0]
    if kind == "page":
        return value
    if kind == "pages":
        return list(value)
    if kind == "content":
        return list(value[0]), copy.deepcopy(value[1])
    if kind == "setup":
        return list(value[0]), copy.deepcopy(value[1])
    if kind == "book":
        return clone(value)
    return copy.deepcopy(value)


def _read(project: Project, target: tuple) -> Any:
    kind = target[0]
    if kind == "page":
        return project.page(target[1])
    if kind == "pages":
        return project.pages
    if kind == "cards":
        return (project.characters, project.styles)
    if kind == "attrs":
        return {name: getattr(project, name) for name in PROJECT_ATTRS}
    if kind == "content":
        return (project.pages, (project.characters, project.styles))
    if kind == "setup":
        return (project.pages, _read(project, ("attrs",)))
    if kind == "book":
        return (project.pages, (project.characters, project.styles), _read(project, ("attrs",)))
    raise ValueError(f"unknown snapshot target {target!r}")


def _write(doc: Document, target: tuple, value: Any) -> None:
    kind = target[0]
    if kind == "page":
        doc._swap_page(value)
    elif kind == "pages":
        doc._swap_pages(value)
    elif kind == "cards":
        doc._swap_cards(value)
    elif kind == "attrs":
        doc._swap_attrs(value)
    elif kind == "content":
        doc._swap_pages(value[0])
        doc._swap_cards(value[1])
    elif kind == "setup":
        doc._swap_attrs(value[1])
        doc._swap_pages(value[0])
    elif kind == "book":
        doc._swap_attrs(value[2])
        doc._swap_pages(value[0])
        doc._swap_cards(value[1])
    else:
        raise ValueError(f"unknown snapshot target {target!r}")


ItemT = Panel | Balloon
