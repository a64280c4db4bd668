"""Run slow work (face analysis, consistency scores) off the GUI thread; deliver results on it.

The work runs in one helper *process*: dlib's recognizer does not run reliably in a second
thread of the GUI process (it hung holding the GIL under the real event loop), and a process can
never freeze the window. Functions and arguments are therefore plain picklable data (copies).
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Signal, Slot

Done = Callable[[Any, "Exception | None"], None]


class _Relay(QObject):
    """Lives in the GUI thread; a signal emitted from the executor's thread reaches ``done`` there."""

    finished = Signal(object, object)  # result, error

    def __init__(self, done: Done) -> None:
        super().__init__()
        self.done = done
        self.finished.connect(self._deliver)

    @Slot(object, object)
    def _deliver(self, result: Any, error: Any) -> None:
        self.done(result, error)

    def emit_from(self, future: Future) -> None:
        try:
            error = future.exception()
            result = None if error is not None else future.result()
        except BaseException as exc:  # noqa: BLE001 - cancelled at shutdown
            result, error = None, exc
        try:
            self.finished.emit(result, error)
        except RuntimeError:  # the window (and this relay) went away meanwhile
            pass


class BackgroundTasks(QObject):
    """One helper process, started on first use; results come back through the event loop."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor: ProcessPoolExecutor | None = None
        self._pending: set[_Relay] = set()

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self._executor

    def submit(self, fn: Callable[..., Any], *args: Any, done: Done) -> None:
        """Run ``fn(*args)`` in the helper process; ``done(result, error)`` then runs in the GUI thread."""
        relay: _Relay

        def finish(result: Any, error: Any) -> None:
            self._pending.discard(relay)
            done(result, error)

        relay = _Relay(finish)
        self._pending.add(relay)
        try:
            future = self._pool().submit(fn, *args)
        except Exception as exc:  # noqa: BLE001 - a broken pool is reported like a failed task
            self._executor = None
            relay.finished.emit(None, exc)
            return
        future.add_done_callback(relay.emit_from)

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def wait(self, msecs: int = -1) -> bool:
        """Process events until every submitted task has delivered its result (or ``msecs`` pass)."""
        deadline = time.monotonic() + msecs / 1000 if msecs >= 0 else None
        while self._pending:
            if deadline is not None and time.monotonic() > deadline:
                return False
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)
        return True

    def shutdown(self) -> None:
        """Stop the helper process (pending results are dropped).

        Queued tasks are cancelled; a task already running (a fraction of a second of face
        analysis) is waited for, so the process and its semaphores are cleaned up properly.
        """
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
