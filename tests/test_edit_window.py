"""The window's Edit field (beside Vary Region) driven by the keyboard, on a tiny FLUX.2 klein model."""

from __future__ import annotations

import dataclasses

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app import edits, layout
from app.document import Document
from app.generation.queue import JobState
from app.project import Project
from engine import families
from tests.helpers_window import isolate_engine_settings, open_window
from tests.tiny_edit_models import write_flux2_klein


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("edit_window_models")
    write_flux2_klein(root / "checkpoints" / "tiny-flux2-klein")
    return root


@pytest.fixture(autouse=True)
def settings(tmp_path_factory, monkeypatch, models_dir):
    isolate_engine_settings(tmp_path_factory, monkeypatch, models_dir)
    # The tiny model's native size, so that the job runs at 64 px instead of FLUX.2's 1024.
    monkeypatch.setitem(families.FAMILIES, families.FLUX2_KLEIN.arch,
                        dataclasses.replace(families.FLUX2_KLEIN, native_size=(64, 64)))


def test_edit_field_by_keyboard_adds_one_edit_variant(qtbot):
    project = Project(title="Edit")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2"))
    project.settings.update({"model": "tiny-flux2-klein", "steps": 2})
    doc = Document(project)
    pid = project.pages[0].panels[0].id
    edits.add_variant(doc, pid, Image.new("RGB", (64, 64), (40, 90, 200)), kind="import")
    win = open_window(qtbot, doc, width=1500)
    win.view.page_scene.select_ids([pid])
    assert win.generation.act_edit.isEnabled()
    field = win.generation.edit_prompt
    mask_button = win.main_toolbar.widgetForAction(win.generation.act_mask_tool)
    QTest.mouseClick(mask_button, Qt.MouseButton.LeftButton)  # the Mask tool's options: Vary Region, then Edit
    qtbot.waitUntil(field.isVisible, timeout=2000)  # the bar lays out on the next turn of the event loop
    assert win.mask_toolbar.isAncestorOf(field)
    QTest.mouseClick(field, Qt.MouseButton.LeftButton)
    QTest.keyClicks(field, "night, rain")
    count, image_before = doc.undo_stack.count(), doc.project.find_panel(pid)[1].image
    QTest.keyClick(field, Qt.Key.Key_Return)
    queue = win.generation.queue
    [job_id] = list(queue.jobs)
    qtbot.waitUntil(lambda: queue.jobs[job_id].finished, timeout=120000)
    assert queue.jobs[job_id].state is JobState.DONE, queue.jobs[job_id].message
    panel = doc.project.find_panel(pid)[1]
    assert panel.current_variant().kind == "edit" and panel.current_variant().prompt == "night, rain"
    assert doc.undo_stack.count() == count + 1 and panel.image != image_before
    doc.undo_stack.undo()
    assert doc.project.find_panel(pid)[1].image == image_before
