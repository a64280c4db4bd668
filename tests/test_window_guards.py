"""Window tests that guard what they claim: each drives the real widget or the real job and fails
when the guarded code is removed (a cancelled job's late result, the template combo box)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from app import layout
from app.document import Document
from app.generation.queue import JobState
from app.project import Project
from tests.helpers_window import open_window
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

LEFT = Qt.MouseButton.LeftButton
FAST = {"model": "tiny-sd", "steps": 2, "scheduler": "euler"}


@pytest.fixture(autouse=True)
def temp_settings(tmp_path_factory, monkeypatch, tiny_models_dir):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path_factory.mktemp("settings")))
    monkeypatch.setenv("PANELSMITH_RECOVERY_DIR", str(tmp_path_factory.mktemp("recovery")))
    s = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Panelsmith", "Panelsmith")
    s.setValue("engine/modelsDir", str(tiny_models_dir))
    s.setValue("engine/device", "cpu")
    s.sync()
    yield


def make_doc(template: str = "grid-2x2") -> Document:
    project = Project(title="Guards")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], template))
    project.settings.update(FAST)
    for panel in project.pages[0].panels:
        panel.prompt = "a lighthouse at night"
    return Document(project)


@pytest.fixture
def win(qtbot):
    window = open_window(qtbot, make_doc(), width=1500)
    yield window
    window.doc.undo_stack.setClean()
    window.close()
    assert window.generation.queue._worker is None


def panels(win):
    return win.doc.project.pages[0].panels_in_reading_order()


def test_a_result_arriving_after_cancel_is_not_applied(win, qtbot):
    queue = win.generation.queue
    worker = queue._ensure_worker()
    held = []
    worker.result.disconnect(queue._on_result)  # hold the real result on its way to the queue
    worker.result.connect(held.append)
    pid = panels(win)[0].id
    index = win.doc.undo_stack.index()
    [job_id] = queue.submit_panels([pid], overrides={"seed": 3})
    qtbot.waitUntil(lambda: bool(held), timeout=60000)
    [result] = held
    assert result.job_id == job_id and result.images  # the engine finished: the result is in flight
    assert queue.jobs[job_id].state is JobState.RUNNING
    queue.cancel(job_id)
    assert queue.jobs[job_id].state is JobState.CANCELLED
    queue._on_result(result)  # ... and arrives after the cancel
    panel = win.doc.project.find_panel(pid)[1]
    assert panel.variants == [] and panel.current is None
    assert win.doc.undo_stack.index() == index and queue.jobs[job_id].state is JobState.CANCELLED


def _panel_items(win) -> set[str]:
    from widgets.canvas.panel_item import PanelItem

    return {i for i, item in win.view.page_scene.items_by_id.items() if isinstance(item, PanelItem)}


def test_template_combo_box_replaces_the_page_panels(win, qtbot):
    combo = win.template_combo
    page = win.doc.project.pages[0]
    assert len(page.panels) == 4 and combo.currentText() == "grid-2x2"
    # the mouse: open the popup and click the item in its list view
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    row = combo.findText("grid-3x3")
    rect = view.visualRect(view.model().index(row, 0))
    QTest.mouseClick(view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, rect.center())
    qtbot.waitUntil(lambda: not view.isVisible())
    page = win.doc.project.pages[0]
    assert page.template == "grid-3x3" and len(page.panels) == 9
    assert _panel_items(win) == {p.id for p in page.panels}  # the canvas shows the new panels
    assert combo.currentText() == "grid-3x3" and win.doc.undo_stack.count() == 1
    # the keyboard: the focused combo box steps to the template above
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    following = combo.itemText(combo.currentIndex() - 1)
    QTest.keyClick(combo, Qt.Key.Key_Up)
    page = win.doc.project.pages[0]
    assert page.template == following and combo.currentText() == following
    assert _panel_items(win) == {p.id for p in page.panels}
    win.doc.undo_stack.undo()
    win.doc.undo_stack.undo()
    page = win.doc.project.pages[0]
    assert page.template == "grid-2x2" and len(page.panels) == 4 and combo.currentText() == "grid-2x2"
