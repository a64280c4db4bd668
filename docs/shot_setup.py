"""Shared set-up of the README screenshot scripts (run them under xvfb-run).

Each script gets an application with throwaway settings and recovery folders (so no user state
leaks in or out), the output folder from its first argument (default docs/), and the real main
window on the bundled sample project.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def isolated_app() -> tuple[QApplication, Path]:
    """(application, output folder); settings and recovery files go to temporary folders."""
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    os.environ["PANELSMITH_RECOVERY_DIR"] = tempfile.mkdtemp()  # no recovery offer, no autosave left behind
    return QApplication(sys.argv[:1]), out_dir


def sample_window():
    """The main window, 1600 × 1000 at the screen's corner, showing the sample project."""
    from widgets.main_window import SAMPLE, MainWindow

    window = MainWindow()
    window.resize(1600, 1000)
    window.move(0, 0)
    window.show()
    window.load(SAMPLE, keep_path=False)
    return window
