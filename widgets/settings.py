"""Persistent preferences (QSettings, INI format) and the recent-files list.

Tests redirect the storage with ``QSettings.setPath(IniFormat, UserScope, tmpdir)``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORGANISATION = "Panelsmith"
APPLICATION = "Panelsmith"
MAX_RECENT = 8


def app_settings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def recent_files(settings: QSettings | None = None) -> list[str]:
    s = settings or app_settings()
    value = s.value("recentFiles", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or [])]


def add_recent_file(path: str | Path, settings: QSettings | None = None) -> list[str]:
    s = settings or app_settings()
    path = str(Path(path).resolve())
    files = [path] + [f for f in recent_files(s) if f != path]
    files = files[:MAX_RECENT]
    s.setValue("recentFiles", files)
    return files


def remove_recent_file(path: str, settings: QSettings | None = None) -> None:
    s = settings or app_settings()
    s.setValue("recentFiles", [f for f in recent_files(s) if f != path])


DEFAULT_UNDO_LIMIT = 200
UNDO_LIMIT_KEY = "editing/undoLimit"


def undo_limit(settings: QSettings | None = None) -> int:
    """How many undo steps a document keeps (``editing/undoLimit``, default 200; 0 means no limit)."""
    s = settings or app_settings()
    try:
        value = int(s.value(UNDO_LIMIT_KEY, DEFAULT_UNDO_LIMIT))
    except (TypeError, ValueError):
        return DEFAULT_UNDO_LIMIT
    return value if 0 <= value <= 100_000 else DEFAULT_UNDO_LIMIT
