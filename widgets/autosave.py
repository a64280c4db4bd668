"""Autosave of unsaved work through :mod:`app.recovery` on a QTimer, and the offer to recover it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

from app import recovery
from app.document import Document

AUTOSAVE_MS = 60_000


class Autosaver(QObject):
    """Writes the recovery file every minute while there are unsaved changes not yet autosaved."""

    def __init__(self, doc: Document, parent: QObject | None = None, interval_ms: int = AUTOSAVE_MS) -> None:
        super().__init__(parent)
        self.doc = doc
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.autosave_now)
        self.timer.start()
        self._written_index = -1
        self.last_error = ""

    def autosave_now(self) -> Path | None:
        stack = self.doc.undo_stack
        if not self.doc.modified or stack.index() == self._written_index:
            return None
        try:
            out = recovery.write_recovery(self.doc.project, self.doc.path)
        except Exception as exc:  # noqa: BLE001 - autosave must never interrupt work
            self.last_error = str(exc)
            return None
        self._written_index = stack.index()
        return out

    def saved(self, old_path: Path | None = None) -> None:
        """The document was saved: its recovery file (and an untitled one) is obsolete."""
        self._discard(self.doc.path)
        if old_path != self.doc.path:
            self._discard(old_path)
        self._written_index = -1

    def reset(self) -> None:
        self._written_index = -1

    def stop(self, clean: bool) -> None:
        self.timer.stop()
        if clean:
            self._discard(self.doc.path)

    @staticmethod
    def _discard(path: Path | None) -> None:
        try:
            recovery.remove_recovery(path)
        except OSError:
            pass

    def offer_recovery(self, parent: QWidget) -> bool:
        """If a recovery file newer than the open file exists, ask to restore it (as unsaved work)."""
        try:
            found = recovery.find_recovery(self.doc.path)
        except OSError:
            return False
        if not found:
            return False
        what = self.doc.path.name if self.doc.path else "an untitled comic"
        answer = QMessageBox.question(
            parent, "Recover unsaved work?",
            f"Panelsmith found autosaved changes to {what} that are newer than the saved file "
            "(the app may have closed unexpectedly).\nRecover them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            self._discard(self.doc.path)
            return False
        try:
            project = recovery.load_recovery(found)
        except Exception as exc:  # noqa: BLE001 - a damaged recovery file is reported, not raised
            text = str(exc).strip().splitlines()
            QMessageBox.warning(parent, "Recovery failed", text[0] if text else "the recovery file is damaged")
            return False
        path = self.doc.path
        self.doc.reset(project, path)
        self.doc.undo_stack.resetClean()  # recovered work is unsaved until the user saves
        self.doc.modifiedChanged.emit(True)
        return True
