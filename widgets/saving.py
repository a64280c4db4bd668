"""Explicit saves (Save, Save As) written on a helper thread from a snapshot, like autosave.

:meth:`BackgroundSave.save` takes the snapshot on the GUI thread (quick: no image is read), writes
it on a helper thread and runs a local event loop until that is done, so the window keeps painting
and answering while a large book is written; it then returns like a plain call would. Edits made
meanwhile are not in the file and leave the document modified. :meth:`BackgroundSave.wait` lets a
closing window finish a save in flight first.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, Signal

from app.document import Document
from app.file_lock import ProjectLock
from app.image_store import ImageStore
from app.project_io import snapshot


class BackgroundSave(QObject):
    """One save at a time, written off the GUI thread; the document marked saved when it is written."""

    _written = Signal()  # from the helper thread: the write ended (either way)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="save")
        self._pool.submit(int)  # start the thread now, not while a save waits for it
        self._future: Future | None = None
        self._finish = None  # what to do on the GUI thread once the write ends (run once)
        self.error: BaseException | None = None

    def busy(self) -> bool:
        """A save is being written."""
        return self._future is not None

    def save(self, doc: Document, path: Path, *, compact: bool = False) -> bool:
        """Write ``doc`` to ``path`` (events are processed meanwhile); True when it was written.

        False when another save is still running; errors (taking the snapshot, the lock, the write)
        are raised as they would be by :func:`app.project_io.save_project`."""
        if self.busy():
            return False
        project, index = doc.project, doc.undo_stack.index()
        snap = snapshot(project, path, encodings=doc.page_encodings)
        lock = ProjectLock(path).acquire()  # one writer at a time (a command line run may hold it)

        def finish(written) -> None:
            lock.release()
            if written is None or doc.project is not project:  # failed, or another document since
                return
            if isinstance(project.images, ImageStore):
                project.images.attach(written)
            if doc.undo_stack.index() == index:
                doc.mark_saved(path)
            else:  # edited while it was written: those edits are not in the file
                doc.path = Path(path)
                doc.record_disk_stamp()

        def write():
            try:
                return snap.write(compact=compact)
            finally:
                self._written.emit()

        self.error = None
        self._finish = finish
        loop = QEventLoop()
        self._written.connect(loop.quit)
        try:
            self._future = self._pool.submit(write)
            loop.exec()
        finally:
            self._written.disconnect(loop.quit)
        self.wait()
        if self.error is not None:
            raise self.error
        return True

    def wait(self) -> None:
        """Block until a save in flight is written and mark the document saved (closing the window)."""
        future, finish = self._future, self._finish
        if future is None:
            return
        self._future = self._finish = None
        try:
            written = future.result()
        except BaseException as exc:  # noqa: BLE001 - raised by save() in the caller's frame
            self.error, written = exc, None
        if finish is not None:
            finish(written)

    def stop(self) -> None:
        self.wait()
        self._pool.shutdown(wait=True)
