"""Run slow work (face analysis, consistency scores) off the GUI thread; deliver results on it."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

Done = Callable[[Any, "Exception | None"], None]


class _Relay(QObject):
    """Lives in the GUI thread; a signal emitted by the worker reaches ``done`` there (queued)."""

    finished = Signal(object, object)  # result, error

    def __init__(self, done: Done) -> None:
        super().__init__()
        self.done = done
        self.finished.connect(self._deliver)

    @Slot(object, object)
    def _deliver(self, result: Any, error: Any) -> None:
        self.done(result, error)


class _Task(QRunnable):
    def __init__(self, fn: Callable[..., Any], args: tuple, relay: _Relay) -> None:
        super().__init__()
        self.fn, self.args, self.relay = fn, args, relay

    def run(self) -> None:  # worker thread: touches only its own copies
        try:
            result, error = self.fn(*self.args), None
        except Exception as exc:  # noqa: BLE001 - reported to the GUI thread
            result, error = None, exc
        self.relay.finished.emit(result, error)


class BackgroundTasks(QObject):
    """A private one-thread pool (dlib and onnxruntime sessions are not shared between threads)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._pending: set[_Relay] = set()

    def submit(self, fn: Callable[..., Any], *args: Any, done: Done) -> None:
        """Run ``fn(*args)`` in the pool; ``done(result, error)`` is then called in the GUI thread."""
        relay: _Relay

        def finish(result: Any, error: Any) -> None:
            self._pending.discard(relay)
            done(result, error)

        relay = _Relay(finish)
        self._pending.add(relay)
        self.pool.start(_Task(fn, args, relay))

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def wait(self, msecs: int = -1) -> bool:
        """Block until the worker is idle (results still arrive through the event loop)."""
        return self.pool.waitForDone(msecs)
