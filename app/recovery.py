"""Crash recovery: autosave unsaved work to a per-user recovery folder, and offer it on start.

A recovery file is an ordinary ``.comic`` file named after the project it belongs to (a hash of
its absolute path, or ``untitled``), with a small JSON sidecar saying which project that is and
when it was written. A recovery file is *recoverable* when it is newer than its saved project (or
the project was never saved). Saving the project discards its recovery file. Plain Python: the
window drives :func:`write_recovery` from a QTimer.

Autosaves cost what changed, not the book. The first autosave of a project whose images lie in its
saved file starts from a byte copy of that file (done by the kernel: no image is read or checked
here, and their checksums travel with them) and appends the changes to it; each later autosave
appends only what changed since, the way a save appends to its project file (crash-safe: a torn
tail opens as the last complete version, see :mod:`app.project_io`). Either way the recovery file
is an ordinary ``.comic`` file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .image_store import FileSource, ImageStore, Stored
from .manifest import PageEncodings
from .project import Project
from . import project_io
from .project_io import ProjectFileError, ProjectSaveError, SaveSnapshot, load_project, snapshot

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


_lock = threading.Lock()  # one autosave written at a time (the window's thread and a command's)
# recovery file → where the images it holds lie in it, as last written: the next autosave appends
_written: dict[Path, dict[str, Stored]] = {}


def write_recovery_snapshot(snap: SaveSnapshot, project_path: str | os.PathLike | None, title: str = "") -> Path:
    """Write an autosave taken by :func:`recovery_snapshot`, then its sidecar; returns the file.

    It appends to the recovery file the last autosave wrote, or starts from a copy of the saved
    project file (see the module's docstring)."""
    folder = recovery_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = snap.saved_path
    with _lock:
        last = _written.pop(target, None)  # a failed write leaves no promise about the file
        _written[target] = _write(snap, target, project_path, last)
    info = {"project_path": str(Path(project_path).expanduser().absolute()) if project_path else None,
            "saved_at": time.time(), "title": title}
    side = _sidecar(target)
    tmp = side.with_name(f".{side.name}.tmp")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    os.replace(tmp, side)
    return target


def _write(snap: SaveSnapshot, target: Path, project_path: str | os.PathLike | None,
           last: dict[str, Stored] | None) -> dict[str, Stored]:
    images = snap.images
    if not isinstance(images, ImageStore):
        return snap.write(backup=False)
    last = _appendable(last, target)
    if last is not None:  # point the snapshot at the images the recovery file holds: they stay there
        images.place({key: where for key, where in last.items() if key in images})
        return snap.write(backup=False)
    base = _saved_source(images, project_path)
    if base is None or base.end < project_io.APPEND_MIN_BYTES:  # a small file is rewritten whole anyway
        return snap.write(backup=False)
    return _write_on_copy(snap, target, base)


def _appendable(last: dict[str, Stored] | None, target: Path) -> dict[str, Stored] | None:
    """What the last autosave wrote to ``target``, if the file is still exactly that."""
    if not last:
        return None
    source = next(iter(last.values())).source
    try:
        size = os.stat(target).st_size
    except OSError:
        return None
    if source.directory is None or size != source.end or not source.same_file(target):
        return None
    return last


def _saved_source(images: ImageStore, project_path: str | os.PathLike | None) -> FileSource | None:
    """The saved project file the images were read from (or last saved to), when there is one."""
    if not project_path:
        return None
    for source in images.sources():
        if source.directory is not None and source.end > 0 and source.same_file(project_path):
            try:
                if os.fstat(source.fd).st_size >= source.end:
                    return source
            except OSError:
                return None
    return None


def _write_on_copy(snap: SaveSnapshot, target: Path, base: FileSource) -> dict[str, Stored]:
    """Copy the saved file's bytes (up to the end of the zip its images were read with) next to
    ``target``, append the snapshot's changes to the copy, then rename it over ``target``."""
    copy = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        _copy_prefix(base, copy)
        source = FileSource(copy)
        source.directory, source.end = list(base.directory or []), base.end
        images = snap.images
        images.place({key: Stored(source, where.offset, where.size, where.crc) for key in list(images)
                      if (where := images.stored(key)) is not None and where.source is base})
        written = dataclasses.replace(snap, saved_path=copy).write(backup=False)
        os.replace(copy, target)
    except OSError as exc:
        raise ProjectSaveError(f"could not autosave to {target.name}: {exc.strerror or exc}") from exc
    finally:
        try:
            copy.unlink()
        except OSError:
            pass
    return written


def _copy_prefix(base: FileSource, path: Path) -> None:
    """The first ``base.end`` bytes of the file ``base`` reads, into a new file at ``path`` (synced)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        done = 0
        while done < base.end:
            count = min(base.end - done, 64 << 20)
            try:
                n = os.copy_file_range(base.fd, fd, count, done, done)  # in the kernel (a reflink where it can)
            except (AttributeError, OSError):
                n = os.pwrite(fd, os.pread(base.fd, min(count, 4 << 20), done), done)
            if n <= 0:
                raise OSError(f"the saved file ended {base.end - done} bytes early")
            done += n
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_recovery(project_path: str | os.PathLike | None) -> None:
    """Discard the recovery file of a project (after a successful save, or a clean close)."""
    target = recovery_path(project_path)
    _written.pop(target, None)  # not under the lock: never wait for an autosave being written
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
