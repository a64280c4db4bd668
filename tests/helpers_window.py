"""Open the real main window for a test (shared by the widget test modules)."""

from __future__ import annotations

from app.document import Document
from engine.jobs import JobCancelled
from widgets.main_window import MainWindow


def open_window(qtbot, doc: Document, width: int = 1400, height: int = 950) -> MainWindow:
    """A shown, exposed window on ``doc``, fitted to its page; closed by qtbot without the
    unsaved-changes question (so a failing test never leaves a modal box open)."""
    window = MainWindow(doc)
    qtbot.addWidget(window, before_close_func=lambda w: w.doc.undo_stack.setClean())
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    window.view.fit_page()
    return window


def isolate_settings(tmp_path_factory, monkeypatch) -> None:
    """Window tests: preferences and recovery files in temporary folders, never the user's."""
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path_factory.mktemp("settings")))
    monkeypatch.setenv("PANELSMITH_RECOVERY_DIR", str(tmp_path_factory.mktemp("recovery")))


def isolate_engine_settings(tmp_path_factory, monkeypatch, models_dir) -> None:
    """Window tests: settings and recovery files in temporary folders, the engine on the CPU over ``models_dir``."""
    from PySide6.QtCore import QSettings

    isolate_settings(tmp_path_factory, monkeypatch)
    s = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Panelsmith", "Panelsmith")
    s.setValue("engine/modelsDir", str(models_dir))
    s.setValue("engine/device", "cpu")
    s.sync()


class PausedEngine:
    """Stands in for the engine in the worker thread: a job runs until it is cancelled."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def run(self, request, progress, cancel):
        cancel.wait(60)
        raise JobCancelled("cancelled")

    def close(self) -> None:
        pass
