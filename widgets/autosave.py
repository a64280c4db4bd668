"""Autosave of unsaved work through :mod:`app.recovery` on a QTimer, and the offer to recover it.

The timer's autosave takes a snapshot of the document on the GUI thread (the manifest text and a
copy of the image mapping: quick) and writes it on a helper thread, so the window never waits for
the disk.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app import recovery
from app.document import Document

AUTOSAVE_MS = 60_000


class Autosaver(QObject):
    """Writes the recovery file every minute while there are unsaved changes not yet autosaved."""

    written = Signal(object)  # the recovery file's Path, or None when the autosave failed
    _done = Signal(object, int, int, str)  # path, undo index, generation, error (from the helper thread)

    def __init__(self, doc: Document, parent: QObject | None = None, interval_ms: int = AUTOSAVE_MS) -> None:
        super().__init__(parent)
        self.doc = doc
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.autosave_in_background)
        self.timer.start()
        self._written_index = -1
        self._generation = 0  # changes when a save or reset makes an autosave in flight obsolete
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._pool.submit(int)  # start the thread now, not while an autosave waits for it
        self._future: Future | None = None
        self._done.connect(self._finished)
        self.last_error = ""

    def _due(self) -> bool:
        return self.doc.modified and self.doc.undo_stack.index() != self._written_index

    def busy(self) -> bool:
        """An autosave is being written on the helper thread."""
        return self._future is not None and not self._future.done()

    def wait(self) -> None:
        """Let an autosave in flight finish (and report) before going on."""
        if self._future is not None:
            self._future.exception()
            self._future = None
            from PySide6.QtCore import QCoreApplication

            QCoreApplication.sendPostedEvents(self)

    def autosave_now(self) -> Path | None:
        """Autosave at once and wait for it; the recovery file, or None when nothing was due or it failed."""
        self.wait()
        if not self._due():
            return None
        stack = self.doc.undo_stack
        try:
            out = recovery.write_recovery(self.doc.project, self.doc.path)
        except Exception as exc:  # noqa: BLE001 - autosave must never interrupt work
            self.last_error = str(exc)
            return None
        self._written_index = stack.index()
        return out

    def autosave_in_background(self) -> bool:
        """Take a snapshot now and write it on the helper thread (the timer's autosave); False when
        nothing was due or one is still being written."""
        if self.busy() or not self._due():
            return False
        index, generation, path = self.doc.undo_stack.index(), self._generation, self.doc.path
        try:
            snap = recovery.recovery_snapshot(self.doc.project, path, self.doc.page_encodings)
        except Exception as exc:  # noqa: BLE001 - autosave must never interrupt work
            self.last_error = str(exc)
            return False
        title = self.doc.project.title

        def write() -> None:
            try:
                out = recovery.write_recovery_snapshot(snap, path, title)
                self._done.emit(out, index, generation, "")
            except Exception as exc:  # noqa: BLE001 - reported on the GUI thread
                self._done.emit(None, index, generation, str(exc) or type(exc).__name__)
        try:
            self._future = self._pool.submit(write)
        except RuntimeError:  # stopped (the window is closing)
            return False
        return True

    def _finished(self, out: Path | None, index: int, generation: int, error: str) -> None:
        self._future = None  # reported: the helper thread has nothing left to do for it
        if generation != self._generation:  # saved (or another document) meanwhile: it is obsolete
            if out is not None:
                self._discard_file(out)
            return
        if error:
            self.last_error = error
        else:
            self._written_index = index
        self.written.emit(out)

    def saved(self, old_path: Path | None = None) -> None:
        """The document was saved: its recovery file (and an untitled one) is obsolete."""
        self._generation += 1
        self._discard(self.doc.path)
        if old_path != self.doc.path:
            self._discard(old_path)
        self._written_index = -1

    def reset(self) -> None:
        self._generation += 1
        self._written_index = -1

    def stop(self, clean: bool) -> None:
        self.timer.stop()
        self.wait()
        self._pool.shutdown(wait=True)
        if clean:
            self._discard(self.doc.path)

    @staticmethod
    def _discard_file(out: Path) -> None:
        for leftover in (out, out.with_suffix(".json")):
            try:
                leftover.unlink()
            except OSError:
                pass

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
