"""An advisory lock on a project file while a command or the window changes it.

The lock is ``.<name>.lock`` beside the project (the symlink's target when the project is opened
through one); its sidecar ``.<name>.lock.owner`` says who holds it (pid, host, since) so that a
second writer can name the holder in its one-line error.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

WAIT_S = 3.0


class ProjectLockedError(Exception):
    """Another writer holds the project (one line naming it)."""


def lock_path(project: str | os.PathLike) -> Path:
    target = Path(os.path.realpath(project))
    return target.with_name(f".{target.name}.lock")


def _owner_path(project: str | os.PathLike) -> Path:
    lock = lock_path(project)
    return lock.with_name(lock.name + ".owner")


def holder(project: str | os.PathLike) -> str:
    """Who holds the lock, as words ("process 123 on host"), from the sidecar."""
    try:
        data = json.loads(_owner_path(project).read_text("utf-8"))
        return f"process {int(data['pid'])} on {str(data['host'])[:60]}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def warm_up() -> None:
    """Import what taking a lock needs (filelock, socket): a window calls it on a helper thread once
    it has settled, so that its first save does not import them on the GUI thread (about 50 ms)."""
    import socket  # noqa: F401 - imported for the first save
    import filelock  # noqa: F401


class ProjectLock:
    """Hold with ``acquire()``/``release()`` or as a context manager."""

    def __init__(self, project: str | os.PathLike, wait_s: float | None = None) -> None:
        self.project = Path(project)
        self.wait_s = WAIT_S if wait_s is None else wait_s
        import filelock  # imported on first use: a window that never saves does not load it

        self._lock = filelock.FileLock(str(lock_path(project)), timeout=self.wait_s, thread_local=False)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def acquire(self) -> "ProjectLock":
        import socket  # both load with the first save, not with the window

        import filelock

        try:
            self._lock.acquire(timeout=self.wait_s)
        except filelock.Timeout:
            raise ProjectLockedError(f"{self.project.name} is being changed by {holder(self.project)}: "
                                     f"try again when it has finished") from None
        except OSError:
            return self  # a folder where no lock file can be made (read-only): the save will say so
        try:
            _owner_path(self.project).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                             "since": time.time()}), "utf-8")
        except OSError:
            pass
        return self

    def release(self) -> None:
        if not self._lock.is_locked:
            return
        try:
            _owner_path(self.project).unlink()
        except OSError:
            pass
        self._lock.release()

    def __enter__(self) -> "ProjectLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
