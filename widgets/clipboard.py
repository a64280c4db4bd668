"""Copy, Cut, Paste and Duplicate of the canvas selection through the system clipboard.

The payload is :mod:`app.clipboard`'s JSON (the manifest encoding plus the PNGs the items show) under
its own MIME type, so items paste into another page, another window or another project.
"""

from __future__ import annotations

import atexit
import hashlib
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QObject, QPointF
from PySide6.QtWidgets import QApplication

from app import edits
from app.project import Rect

from .canvas import PageView

if TYPE_CHECKING:  # app.clipboard loads on the first copy or paste, not with the window
    from app import clipboard

PASTE_OFFSET_MM = 5.0


def items_mime_data(payload: bytes, summary: str) -> QMimeData:
    from app import clipboard

    data = QMimeData()
    data.setData(clipboard.MIME_TYPE, payload)
    data.setText(summary)
    return data


def clipboard_items(data: QMimeData | None) -> bytes:
    from app import clipboard

    if data is None or not data.hasFormat(clipboard.MIME_TYPE):
        return b""
    return bytes(data.data(clipboard.MIME_TYPE))


_cleanup_installed = False


def _release_clipboard() -> None:
    """Drop our payload from the clipboard before Qt shuts down: PySide6 6.11 crashes at exit while
    the clipboard still holds a Python-made QMimeData."""
    app = QApplication.instance()
    board = QApplication.clipboard() if app is not None else None
    if board is not None and clipboard_items(board.mimeData()):
        board.clear()


def _install_cleanup() -> None:
    global _cleanup_installed
    if not _cleanup_installed:
        _cleanup_installed = True
        atexit.register(_release_clipboard)
        QApplication.instance().aboutToQuit.connect(_release_clipboard)


class CanvasClipboard(QObject):
    """Clipboard commands of one page view (each paste or duplicate is one undo step)."""

    def __init__(self, view: PageView) -> None:
        super().__init__(view)
        self.view = view
        view.clipboard = self
        self._last: tuple[str, str] = ("", "")  # (payload digest, page) of the last paste
        self._repeat = 0

    # --- commands --------------------------------------------------------------------------------

    def copy(self) -> int:
        from app import clipboard

        view = self.view
        view.finish_text_edit()
        ids = view.page_scene.selected_ids()
        if not ids:
            view.message.emit("Select panels or balloons to copy")
            return 0
        items = clipboard.collect(view.doc.project, view.page_id, ids)
        summary = self._summary(items)
        _install_cleanup()
        QApplication.clipboard().setMimeData(items_mime_data(clipboard.dump_items(items), summary))
        view.message.emit(f"Copied {summary}")
        return items.count

    def cut(self) -> None:
        if self.copy():
            view = self.view
            view.run_edit(edits.delete_items, view.doc, view.page_id, view.page_scene.selected_ids())

    def can_paste(self) -> bool:
        return bool(clipboard_items(QApplication.clipboard().mimeData()))

    def paste(self, at: QPointF | None = None) -> list[str]:
        """Paste onto the shown page: where they were copied from on another page, a few mm further on
        each repeated paste onto the same page, or centred on ``at`` (a page point)."""
        from app import clipboard

        view = self.view
        view.finish_text_edit()
        raw = clipboard_items(QApplication.clipboard().mimeData())
        if not raw:
            view.message.emit("The clipboard holds no panels or balloons")
            return []
        try:
            items = clipboard.load_items(raw)
        except ValueError as exc:
            view.message.emit(str(exc))
            return []
        key = (hashlib.sha1(raw).hexdigest(), view.page_id)
        self._repeat = self._repeat + 1 if key == self._last else 1
        self._last = key
        if at is not None:
            dx, dy = self._centre_on(items, at)
        elif items.source_page == view.page_id:
            dx = dy = PASTE_OFFSET_MM * self._repeat
        else:
            dx = dy = PASTE_OFFSET_MM * (self._repeat - 1)
        return self._add(items, dx, dy, "Paste")

    def duplicate(self) -> list[str]:
        from app import clipboard

        view = self.view
        view.finish_text_edit()
        ids = view.page_scene.selected_ids()
        if not ids:
            view.message.emit("Select panels or balloons to duplicate")
            return []
        items = clipboard.collect(view.doc.project, view.page_id, ids)
        return self._add(items, PASTE_OFFSET_MM, PASTE_OFFSET_MM, "Duplicate")

    # --- helpers ---------------------------------------------------------------------------------

    def _add(self, items: clipboard.ClipItems, dx: float, dy: float, text: str) -> list[str]:
        view = self.view
        result = view.run_edit(edits.add_items, view.doc, view.page_id, items.panels, items.balloons,
                               items.images, dx, dy, text)
        if not result:
            return []
        ids, dropped = result
        view.page_scene.select_ids(ids)
        done = f"{'Pasted' if text == 'Paste' else 'Duplicated'} {self._summary(items)}"
        if dropped:
            names = ", ".join(items.card_names.get(c, c) for c in dropped)
            done += f"; dropped bindings to cards this project lacks: {names}"
        view.message.emit(done)
        return ids

    @staticmethod
    def _centre_on(items: clipboard.ClipItems, at: QPointF) -> tuple[float, float]:
        points = [p for panel in items.panels for p in panel.points]
        points += [p for b in items.balloons for p in b.rect.points()]
        box = Rect.bounding(points)
        return round(at.x() - (box.x + box.w / 2), 3), round(at.y() - (box.y + box.h / 2), 3)

    @staticmethod
    def _summary(items: clipboard.ClipItems) -> str:
        parts = []
        if items.panels:
            parts.append(f"{len(items.panels)} panel{'s' if len(items.panels) > 1 else ''}")
        if items.balloons:
            parts.append(f"{len(items.balloons)} balloon{'s' if len(items.balloons) > 1 else ''}")
        return " and ".join(parts)
