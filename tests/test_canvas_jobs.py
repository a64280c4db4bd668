"""The canvas shows queued and generating panels and the live preview inside the panel frame,
driven through the real window, job queue and engine worker (whose engine waits, paused, until
its job is cancelled)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QRectF, Qt
from PySide6.QtTest import QTest

from app import layout
from app.document import Document
from app.generation.queue import JobState
from app.project import Project
from engine.jobs import JobProgress
from tests.helpers_pixmap import pixmap_array
from tests.helpers_window import PausedEngine, isolate_engine_settings, open_window
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def win(qtbot, tmp_path_factory, monkeypatch, tiny_models_dir):  # noqa: F811
    isolate_engine_settings(tmp_path_factory, monkeypatch, tiny_models_dir)
    monkeypatch.setattr("engine.api.Engine", PausedEngine)  # the queue imports it on the first job
    project = Project(title="Jobs")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2"))
    project.settings.update({"model": "tiny-sd", "steps": 2, "scheduler": "euler"})
    window = open_window(qtbot, Document(project), width=1400)
    yield window
    window.doc.undo_stack.setClean()
    window.close()
    assert window.generation.queue._worker is None


def inner_pixels(win, panel_id: str) -> np.ndarray:
    """The viewport's pixels inside a panel's frame (a margin in from its border)."""
    view = win.view
    item = view.page_scene.items_by_id[panel_id]
    box = item.box
    rect = view.mapFromScene(QRectF(box.x, box.y, box.w, box.h)).boundingRect().adjusted(12, 40, -12, -30)
    pixels = pixmap_array(view.viewport().grab())
    return pixels[rect.top():rect.bottom(), rect.left():rect.right()].astype(float)


def test_queued_and_generating_panels_and_live_preview_on_the_canvas(win, qtbot):
    view, queue = win.view, win.generation.queue
    first, second = (p.id for p in win.doc.project.pages[0].panels_in_reading_order()[:2])
    empty_first, empty_second = inner_pixels(win, first).mean(), inner_pixels(win, second).mean()
    items = view.page_scene.items_by_id
    assert items[first].jobs is None and items[second].jobs is None

    view.page_scene.select_ids([first])
    win.generation.repeat.setValue(2)
    QTest.mouseClick(win.generate_button, LEFT)  # two jobs on the first panel
    view.page_scene.select_ids([second])
    win.generation.repeat.setValue(1)
    QTest.mouseClick(win.generate_button, LEFT)  # one on the second, behind them
    running = [j for j in queue.jobs.values() if j.panel_id == first]
    qtbot.waitUntil(lambda: running[0].state is JobState.RUNNING, timeout=20000)
    assert items[first].jobs.running and items[first].jobs.queued == 1
    assert items[first].jobs.label == "generating · queued 1"
    assert not items[second].jobs.running and items[second].jobs.queued == 1
    assert items[second].jobs.label == "queued 1"
    assert inner_pixels(win, second).mean() < empty_second - 30  # dimmed while it waits

    preview = Image.new("RGB", (64, 64), (230, 20, 20))
    queue._worker.progress.emit(JobProgress(running[0].id, 1, 2, preview))  # as the engine worker reports
    assert items[first].jobs.step == 1 and items[first].jobs.total == 2
    inside = inner_pixels(win, first)
    red = (inside[..., 0] > 180) & (inside[..., 1] < 80) & (inside[..., 2] < 80)
    assert red.mean() > 0.8  # the preview fills the frame
    frame = items[first].box
    outside = view.mapFromScene(QRectF(frame.right + 1.0, frame.y + frame.h / 2, 0.1, 0.1)).boundingRect()
    gap = pixmap_array(view.viewport().grab())[outside.top(), outside.left()]
    assert not (gap[0] > 180 and gap[1] < 80)  # clipped to the frame: the gutter stays clear

    shots = os.environ.get("PANELSMITH_SCREENSHOT_DIR")
    if shots:
        win.grab().save(str(Path(shots) / "canvas-generating.png"))

    for row in list(win.jobs_dock.rows.values()):
        if row.cancel.isEnabled():
            QTest.mouseClick(row.cancel, LEFT)
    assert all(job.state is JobState.CANCELLED for job in queue.jobs.values())
    assert items[first].jobs is None and items[second].jobs is None
    assert abs(inner_pixels(win, first).mean() - empty_first) < 3  # the preview is gone
    assert abs(inner_pixels(win, second).mean() - empty_second) < 3  # no longer dimmed
    qtbot.waitUntil(lambda: queue._worker.pending() == 0, timeout=20000)
