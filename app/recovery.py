"""Crash recovery: autosave unsaved work to a per-user recovery folder, and offer it on start.

A recovery file is an ordinary ``.comic`` file named after the project it belongs to (a hash of
its absolute path, or ``untitled``), with a small JSON sidecar saying which project that is and
when it was written. A recovery file is *recoverable* when it is newer than its saved project (or
the project was never saved). Saving the project discards its recovery file. Plain Python: the
window drives :func:`write_recovery` from a QTimer.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .manifest import PageEncodings
from .project import Project
from .project_io import ProjectFileError, SaveSnapshot, load_project, snapshot

ENV_RECOVERY_DIR = "PANELSMITH_RECOVERY_DIR"
APP_NAME = "Panelsmith"
UNTITLED = "untitled"


@dataclass(frozen=True)
class RecoveryFile:
    path: Path  # the recovery .comic file
    project_path: Path | None  # the project it belongs to; None for an untitled project
    saved_at: float  # time.time() when it was written
    title: str = ""


def recovery_dir() -> Path:
    """``$PANELSMITH_RECOVERY_DIR``, else ``recovery`` in the per-user state folder (created on
    demand): ~/.local/state/Panelsmith (XDG_STATE_HOME honoured) on Linux, %LOCALAPPDATA%\\Panelsmith
    on Windows, ~/Library/Application Support/Panelsmith on macOS."""
    if os.environ.get(ENV_RECOVERY_DIR):
        return Path(os.environ[ENV_RECOVERY_DIR]).expanduser()
    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "recovery"


def recovery_key(project_path: str | os.PathLike | None) -> str:
    """The file stem for a project: ``<name>-<hash of absolute path>``, or ``untitled``."""
    if not project_path:
        return UNTITLED
    path = Path(project_path).expanduser().absolute()
    digest = hashlib.sha256(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.stem)[:40] or "project"
    return f"{stem}-{digest}"


def recovery_path(project_path: str | os.PathLike | None) -> Path:
    return recovery_dir() / f"{recovery_key(project_path)}.comic"


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def write_recovery(project: Project, project_path: str | os.PathLike | None) -> Path:
    """Autosave ``project`` (belonging to ``project_path``, None when untitled); returns the file."""
    return write_recovery_snapshot(recovery_snapshot(project, project_path), project_path, project.title)


def recovery_snapshot(project: Project, project_path: str | os.PathLike | None,
                      encodings: PageEncodings | None = None) -> SaveSnapshot:
    """What an autosave writes, taken now (quick with a document's ``encodings``: see
    :func:`app.project_io.snapshot`); :func:`write_recovery_snapshot` may run on any thread."""
    return snapshot(project, recovery_path(project_path), thumbnail=False, encodings=encodings)


def write_recovery_snapshot(snap: SaveSnapshot, project_path: str | os.PathLike | None, title: str = "") -> Path:
    """Write an autosave taken by :func:`recovery_snapshot`, then its sidecar; returns the file."""
    folder = recovery_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = snap.saved_path
    snap.write(backup=False)
    info = {"project_path": str(Path(project_path).expanduser().absolute()) if project_path else None,
            "saved_at": time.time(), "title": title}
    side = _sidecar(target)
    tmp = side.with_name(f".{side.name}.tmp")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    os.replace(tmp, side)
    return target


def remove_recovery(project_path: str | os.PathLike | None) -> None:
    """Discard the recovery file of a project (after a successful save, or a clean close)."""
    target = recovery_path(project_path)
    for path in (target, _sidecar(target)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _read(path: Path) -> RecoveryFile | None:
    try:
        info = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        project_path = Path(info["project_path"]) if info.get("project_path") else None
        saved_at = float(info.get("saved_at") or path.stat().st_mtime)
        return RecoveryFile(path, project_path, saved_at, str(info.get("title") or ""))
    except (OSError, ValueError, KeyError, TypeError):
        try:  # sidecar lost: still offer the file, as untitled
            return RecoveryFile(path, None, path.stat().st_mtime)
        except OSError:
            return None


def is_recoverable(entry: RecoveryFile) -> bool:
    """Newer than its saved project, or the project was never saved (or has gone)."""
    if entry.project_path is None:
        return True
    try:
        return entry.saved_at > entry.project_path.stat().st_mtime
    except OSError:
        return True


def list_recoverable(remove_stale: bool = True) -> list[RecoveryFile]:
    """Recovery files worth offering, newest first; stale ones (older than their project) are removed."""
    folder = recovery_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.comic"):
        entry = _read(path)
        if entry is None:
            continue
        if is_recoverable(entry):
            found.append(entry)
        elif remove_stale:
            remove_recovery(entry.project_path)
    return sorted(found, key=lambda e: e.saved_at, reverse=True)


def find_recovery(project_path: str | os.PathLike | None) -> Path | None:
    """The recovery file of one project if it is newer than the saved project, else None."""
    target = recovery_path(project_path)
    if not target.exists():
        return None
    entry = _read(target)
    return target if entry is not None and is_recoverable(entry) else None


def load_recovery(path: str | os.PathLike) -> Project:
    """Open a recovery file (a ``.comic`` file); raises ProjectFileError if it is damaged."""
    return load_project(path)


__all__ = ["RecoveryFile", "recovery_dir", "recovery_key", "recovery_path", "write_recovery", "remove_recovery",
           "list_recoverable", "find_recovery", "load_recovery", "is_recoverable", "ProjectFileError"]
