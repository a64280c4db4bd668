"""dev.sh check-qt: with an X display, a Qt that cannot load xcb gets the one apt-get line that fixes it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fake_python(tmp_path: Path, ok: bool) -> Path:
    py = tmp_path / ("ok" if ok else "broken")
    py.write_text("#!/bin/sh\n" + ("exit 0\n" if ok else
                  'echo \'qt.qpa.plugin: Could not load the Qt platform plugin "xcb"\' >&2\nexit 134\n'))
    py.chmod(0o755)
    return py


def _run(py: Path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run(["bash", str(ROOT / "dev.sh"), "check-qt", str(py)], capture_output=True, text=True,
                          env={**base, **env}, timeout=60)


def test_missing_xcb_libraries_print_the_apt_line(tmp_path):
    done = _run(_fake_python(tmp_path, ok=False), DISPLAY=":99")
    assert done.returncode == 1
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sudo apt-get install -y ")
    assert {"libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0"} <= set(lines[0].split())
    assert 'platform plugin "xcb"' in done.stderr
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert lines[0].removeprefix("sudo ") in readme  # the README lists the same packages


def test_working_qt_or_no_display_passes(tmp_path):
    assert _run(_fake_python(tmp_path, ok=True), DISPLAY=":99").returncode == 0
    broken = _fake_python(tmp_path, ok=False)
    assert _run(broken).returncode == 0  # no X display: nothing to check
    assert _run(broken, DISPLAY=":99", QT_QPA_PLATFORM="offscreen").returncode == 0
