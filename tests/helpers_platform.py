"""Pretend to run on another OS as far as platformdirs' per-user folders go."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import platformdirs.macos
import platformdirs.unix
import platformdirs.windows

SYSTEMS = ("linux", "windows", "macos")


def pretend_os(monkeypatch, system: str, home: Path) -> tuple[Path, Path]:
    """Make platformdirs answer as on ``system`` for a user whose home is ``home``, with no XDG
    variables set; returns Panelsmith's per-user (data, state) folders expected there."""
    for name in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    if system == "windows":
        local = home / "AppData" / "Local"
        monkeypatch.setattr(platformdirs, "PlatformDirs", platformdirs.windows.Windows)
        monkeypatch.setattr(platformdirs.windows, "get_win_folder",
                            lambda csidl: str(local if csidl == "CSIDL_LOCAL_APPDATA" else home / "AppData" / "Roaming"))
        return local / "Panelsmith", local / "Panelsmith"
    if system == "macos":
        monkeypatch.setattr(platformdirs, "PlatformDirs", platformdirs.macos.MacOS)
        support = home / "Library" / "Application Support" / "Panelsmith"
        return support, support
    monkeypatch.setattr(platformdirs, "PlatformDirs", platformdirs.unix.Unix)
    return home / ".local" / "share" / "Panelsmith", home / ".local" / "state" / "Panelsmith"
