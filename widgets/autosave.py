"""Periodic autosave of unsaved work through :mod:`app.recovery`, and the offer to recover after a crash.

``app.recovery`` belongs to another engineer; this adapter looks its functions up by name so the
window works (without autosave) until the module exists.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from app.document import Document

AUTOSAVE_MS = 60_000


def _recovery() -> Any:
    try:
        return importlib.import_module("app.recovery")
    except ImportError:
        return None


def _fn(module: Any, *names: str) -> Callable | None:
    for name in names:
        fn = getattr(module, name, None) if module is not None else None
        if callable(fn):
            return fn
    return None


class Autosaver(QObject):
    """Writes a recovery file every minute while the document has unsaved changes."""

    def __init__(self, doc: Document, parent: QObject | None = None, interval_ms: int = AUTOSAVE_MS) -> None:
        super().__init__(parent)
        self.doc = doc
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.autosave_now)
        self._written_index = -1
        self.last_error = ""
        if _recovery() is not None:
            self.timer.start()

    def autosave_now(self) -> Path | None:
        module = _recovery()
        write = _fn(module, "write_recovery", "autosave", "save_recovery")
        stack = self.doc.undo_stack
        if write is None or not self.doc.modified or stack.index() == self._written_index:
            return None
        try:
            out = write(self.doc.project, self.doc.path)
        except Exception as exc:  # noqa: BLE001 - autosave must never interrupt work
            self.last_error = str(exc)
            return None
        self._written_index = stack.index()
        return Path(out) if out else None

    def saved(self) -> None:
        """The document was saved: its recovery file is obsolete."""
        self._discard()
        self._written_index = -1

    def reset(self) -> None:
        self._written_index = -1

    def stop(self, clean: bool) -> None:
        self.timer.stop()
        if clean:
            self._discard()

    def _discard(self) -> None:
        remove = _fn(_recovery(), "remove_recovery", "discard_recovery", "clear_recovery")
        if remove is not None:
            try:
                remove(self.doc.path)
            except Exception:  # noqa: BLE001
                pass

    def offer_recovery(self, parent: QWidget) -> bool:
        """If a recovery file newer than the open file exists, ask to restore it (an undoable state)."""
        module = _recovery()
        find = _fn(module, "find_recovery", "newer_recovery", "recovery_for")
        load = _fn(module, "load_recovery", "read_recovery")
        if find is None or load is None:
            return False
        try:
            found = find(self.doc.path)
        except Exception:  # noqa: BLE001
            return False
        if not found:
            return False
        answer = QMessageBox.question(
            parent, "Recover unsaved work?",
            "Panelsmith found autosaved changes newer than this file (the app may have closed unexpectedly).\n"
            "Recover them?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        try:
            project = load(found)
        except Exception as exc:  # noqa: BLE001
            QMessageBox.warning(parent, "Recovery failed", str(exc).splitlines()[0] if str(exc) else "unreadable")
            return False
        path = self.doc.path
        self.doc.reset(project, path)
        self.doc.undo_stack.resetClean()  # recovered work is unsaved
        self.doc.modifiedChanged.emit(True)
        return True
