"""The Job Queue dock at its default size: every cancel button in sight, the newest job scrolled into
view, and the dock keeps its width when jobs arrive (real window, real queue on the tiny models)."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtTest import QTest

from app import layout
from app.document import Document
from app.generation.queue import JobState
from app.project import Project
from tests.helpers_window import isolate_engine_settings, open_window
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

JOBS = 9


@pytest.fixture(autouse=True)
def temp_settings(tmp_path_factory, monkeypatch, tiny_models_dir):  # noqa: F811
    isolate_engine_settings(tmp_path_factory, monkeypatch, tiny_models_dir)


def _doc() -> Document:
    project = Project(title="Queue")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2"))
    project.settings.update({"model": "tiny-sd", "steps": 400, "scheduler": "euler"})
    for panel in project.pages[0].panels:
        panel.prompt = "a lighthouse at night, seen from a small boat in a storm"
    return Document(project)


def _in_viewport(dock, widget) -> bool:
    """``widget`` lies wholly inside the scroll area's visible viewport (not under a scrollbar)."""
    viewport = dock.scroll.viewport()
    top_left = widget.mapTo(viewport, QPoint(0, 0))
    return viewport.rect().contains(QRect(top_left, widget.size()))


def test_cancel_buttons_visible_newest_job_in_view_dock_keeps_width(qtbot):
    window = open_window(qtbot, _doc())
    dock, queue = window.jobs_dock, window.generation.queue
    dock.show()
    dock.raise_()
    qtbot.waitExposed(dock)
    width, canvas_width = dock.width(), window.view.width()
    pid = window.doc.project.pages[0].panels[0].id
    ids = queue.submit_panels([pid], repeat=JOBS)
    qtbot.waitUntil(lambda: queue.jobs[ids[0]].state is JobState.RUNNING, timeout=60000)
    QTest.qWait(50)  # layout and scroll requests settle through the event loop
    if os.environ.get("PANELSMITH_SCREENSHOTS"):
        window.grab().save(os.path.join(os.environ["PANELSMITH_SCREENSHOTS"], "queue-dock.png"))
    try:
        assert dock.width() == width and window.view.width() == canvas_width  # the canvas is not squeezed
        assert dock.scroll.verticalScrollBar().isVisible()  # more jobs than fit: the case that clipped
        assert not dock.scroll.horizontalScrollBar().isVisible()
        newest = dock.rows[ids[-1]]
        assert _in_viewport(dock, newest)  # the newest job scrolled into view
        bar = dock.scroll.horizontalScrollBar()
        for job_id in ids:
            row = dock.rows[job_id]
            dock.scroll.ensureWidgetVisible(row)
            assert bar.value() == 0 and _in_viewport(dock, row.cancel), job_id
        # the button works where it is: a click on the running job's cancel cancels it
        dock.scroll.ensureWidgetVisible(dock.rows[ids[0]])
        QTest.mouseClick(dock.rows[ids[0]].cancel, Qt.MouseButton.LeftButton)
        assert queue.jobs[ids[0]].state is JobState.CANCELLED
    finally:
        queue.cancel_all()
        qtbot.waitUntil(lambda: queue._worker is None or queue._worker.pending() == 0, timeout=60000)
