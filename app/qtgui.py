"""Headless-safe access to QtGui: a Qt application object created on demand.

QFont, QFontDatabase and text layout need a Gui application object. Command-line export and tests
run without a display, so when none is running we create one, on the ``offscreen`` platform when
there is no display server.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QGuiApplication

_app: QGuiApplication | None = None


def ensure_gui() -> QCoreApplication:
    """Return the running Qt application, creating a headless QGuiApplication when there is none."""
    global _app
    app = QCoreApplication.instance()
    if app is not None:
        if not isinstance(app, QGuiApplication):
            raise RuntimeError("a QCoreApplication is running; rendering needs a QGuiApplication")
        return app
    if not os.environ.get("QT_QPA_PLATFORM") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and sys.platform.startswith("linux"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    # A QApplication (not just a QGuiApplication) so that windows can still be opened later in the
    # same process (tests, or the GUI after a headless render): Qt cannot upgrade the application
    # object afterwards. Only the application object comes from QtWidgets; drawing is QtGui-only.
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError:  # a build without QtWidgets: rendering still works
        _app = QGuiApplication(sys.argv[:1] or ["panelsmith"])
    else:
        _app = QApplication(sys.argv[:1] or ["panelsmith"])
    return _app
