"""Open the real main window for a test (shared by the widget test modules)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.document import Document

if TYPE_CHECKING:
    from widgets.main_window import MainWindow


def open_window(qtbot, doc: Document, width: int = 1400, height: int = 950) -> MainWindow:
    """A shown, exposed window on ``doc``, fitted to its page; closed by qtbot without the
    unsaved-changes question (so a failing test never leaves a modal box open)."""
    from widgets.main_window import MainWindow

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


def one_page_doc(title: str, template: str = "grid-2x2") -> Document:
    """A document with one A4 page laid out from ``template`` (nothing to undo)."""
    from app import layout
    from app.project import Project

    project = Project(title=title)
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], template))
    return Document(project)


def choose(qtbot, combo, text: str | None = None, data=None) -> None:
    """Pick an item of ``combo`` as a person does: open its popup and click the item (one ``activated``)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    index = combo.findText(text) if text is not None else combo.findData(data)
    assert index >= 0, f"{text or data!r} is not in the combo box"
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    model_index = view.model().index(index, combo.modelColumn(), view.rootIndex())
    view.scrollTo(model_index)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(model_index).center())
    qtbot.waitUntil(lambda: not view.isVisible())


def record_paints(widget, events: list) -> None:
    """Append ``"paint"`` to ``events`` whenever ``widget`` paints (for what must come after the first frame)."""
    from PySide6.QtCore import QEvent, QObject

    class PaintRecorder(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                events.append("paint")
            return False

    widget.installEventFilter(PaintRecorder(widget))


class PausedEngine:
    """Stands in for the engine in the worker thread: a job runs until it is cancelled."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def run(self, request, progress, cancel):
        from engine.jobs import JobCancelled

        cancel.wait(60)
        raise JobCancelled("cancelled")

    def close(self) -> None:
        pass
