"""Run slow work (face analysis, consistency scores) off the GUI thread; deliver results on it.

The work runs in one helper *process*: dlib's recognizer does not run reliably in a second
thread of the GUI process (it hung holding the GIL under the real event loop), and a process can
never freeze the window. Functions and arguments are therefore plain picklable data (copies).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Signal, Slot

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

Done = Callable[[Any, "Exception | None"], None]

#: How often a helper process checks that its parent is still alive (where no parent-death signal exists).
PARENT_POLL_S = 0.5


def exit_with_parent(parent_pid: int) -> None:
    """Make this (helper) process end soon after ``parent_pid`` dies, even when it is killed (-9) or
    crashes: a parent-death signal on Linux, and everywhere a daemon thread that notices the parent
    is gone (re-parented, or its pid no longer runs)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent_pid or not _alive(parent_pid):
                os._exit(0)

    threading.Thread(target=watch, name="panelsmith-parent-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
            import multiprocessing  # with the process pool: imported when the helper first starts
            from concurrent.futures import ProcessPoolExecutor

            self._executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=exit_with_parent, initargs=(os.getpid(),))
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
