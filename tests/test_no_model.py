"""Generate with no image model installed: the window says what is missing and where to put it, offers
Preferences, and Preferences shows the model it will use, following the models folder as it changes."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app import layout
from app.document import Document
from app.generation.queue import JobState
from app.project import Project
from tests.helpers_window import isolate_engine_settings, open_window
from widgets.generation.preferences import PreferencesDialog

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def models(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("models")
    isolate_engine_settings(tmp_path_factory, monkeypatch, folder)
    return folder


@pytest.fixture
def win(qtbot, models):
    project = Project(title="No model")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2"))
    for panel in project.pages[0].panels:
        panel.prompt = "a lighthouse at night"
    window = open_window(qtbot, Document(project))
    yield window
    window.doc.undo_stack.setClean()
    window.close()


def add_pipeline(folder, name: str) -> None:
    """A folder the registry takes for a diffusers pipeline (its model_index.json is what it reads)."""
    (folder / name).mkdir(parents=True)
    (folder / name / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))


def test_generate_without_a_model_says_what_to_put_where_and_opens_preferences(win, qtbot, models):
    pid = win.doc.project.pages[0].panels_in_reading_order()[0].id
    win.view.page_scene.select_ids([pid])
    QTest.mouseClick(win.generate_button, LEFT)  # the Panel dock's Generate button
    bar = win.note_bar
    assert bar.isVisible()
    text = bar.label.text()
    assert str(models) in text and str(models / "checkpoints") in text
    assert "diffusers folder" in text and ".safetensors checkpoint" in text
    [job] = win.generation.queue.jobs.values()  # nothing ran: one failed job, nothing in the document
    assert job.state is JobState.FAILED and win.doc.undo_stack.count() == 0
    QTest.mouseClick(bar.close_button, LEFT)
    QTest.mouseClick(win.generate_button, LEFT)  # asked again: said again (not a once-per-run note)
    assert bar.isVisible() and bar.label.text() == text
    assert bar.action.text() == "Preferences…"
    QTest.mouseClick(bar.action, LEFT)
    [dialog] = [d for d in win.findChildren(PreferencesDialog) if d.isVisible()]
    try:
        assert dialog.found.count() == 0 and str(models) in dialog.missing.text()
        assert dialog.will_use.text().startswith("none")
        add_pipeline(models / "checkpoints", "night-ink")  # the user copies a model in: the list follows
        qtbot.waitUntil(lambda: dialog.found.count() == 1, timeout=5000)
        assert dialog.found.item(0).text().startswith("night-ink")
        assert dialog.will_use.text().startswith("night-ink (pipeline")
        assert not dialog.missing.isVisibleTo(dialog)
        add_pipeline(models, "day-ink")  # two models and none chosen: it says to choose
        qtbot.waitUntil(lambda: dialog.found.count() == 2, timeout=5000)
        assert "choose one" in dialog.will_use.text()
        dialog.model.setCurrentText("day-ink")
        assert dialog.will_use.text().startswith("day-ink (pipeline") and str(models / "day-ink") in dialog.will_use.text()
    finally:
        dialog.reject()
    assert win.generation.model_problem() == ""  # the queue's registry sees the new models too


def test_a_project_model_that_is_not_there_is_named_with_the_folder(win, models):
    add_pipeline(models / "checkpoints", "night-ink")
    win.doc.project.settings["model"] = "no-such-model"
    problem = win.generation.model_problem()
    assert "no-such-model" in problem and str(models) in problem and "\n" not in problem
    win.doc.project.settings["model"] = "night-ink"
    assert win.generation.model_problem() == ""
