"""Window tests that guard what they claim: each drives the real widget or the real job and fails
when the guarded code is removed (a cancelled job's late result, the template combo box)."""

from __future__ import annotations

import numpy as np
from PIL import Image
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app import layout
from app.document import Document
from app.generation.queue import JobState
from app.project import Project
from tests.helpers_window import isolate_engine_settings, open_window
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

LEFT = Qt.MouseButton.LeftButton
FAST = {"model": "tiny-sd", "steps": 2, "scheduler": "euler"}


@pytest.fixture(autouse=True)
def temp_settings(tmp_path_factory, monkeypatch, tiny_models_dir):
    isolate_engine_settings(tmp_path_factory, monkeypatch, tiny_models_dir)
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


def test_template_combo_box_replaces_the_page_panels(win, qtbot, monkeypatch):
    import widgets.confirm

    asked = []  # the page has prompts: the window asks before dropping them; the user says yes
    monkeypatch.setattr(widgets.confirm, "ask", lambda *args: asked.append(args[1]) or True)
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


def test_consistency_dock_regenerates_a_flagged_panel_with_stronger_identity(qtbot, monkeypatch):
    from PIL import ImageOps
    from skimage import data as skdata

    from app import edits
    from app.identity import consistency
    from app.identity import conditions
    from app.workers import EngineWorker
    from widgets.identity.consistency_dock import STRONGER_IDENTITY

    project = Project(title="Identity")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "2-tier"))
    project.settings.update(FAST)
    for panel in project.pages[0].panels:
        panel.prompt = "an astronaut"
    doc = Document(project)
    astronaut = Image.fromarray(skdata.astronaut())
    card_id = edits.add_card(doc, "character", "Eileen Collins", [astronaut])
    top, bottom = doc.project.pages[0].panels_in_reading_order()[:2]
    for panel, image in ((top, ImageOps.mirror(astronaut).resize((384, 384))),
                         (bottom, Image.fromarray(skdata.camera()).convert("RGB"))):
        edits.bind_card(doc, panel.id, card_id, 30)
        edits.add_variant(doc, panel.id, image, seed=1)
    doc.undo_stack.clear()
    win = open_window(qtbot, doc)
    try:
        dock = win.identity.dock
        dock.show()
        qtbot.waitUntil(lambda: len(dock.rows) == 2 and all(r["score"] is not None for r in dock.rows), timeout=60000)
        assert [r["flagged"] for r in dock.rows] == [False, True]
        queue = win.generation.queue
        ran, asked_strength = [], []
        submit = EngineWorker.submit
        monkeypatch.setattr(EngineWorker, "submit", lambda worker, request: (ran.append(request), submit(worker, request))[1])
        character_conditions = conditions.character_conditions

        def record(*args, **kwargs):
            asked_strength.append((kwargs.get("overrides") or {}).get("identity_strength"))
            return character_conditions(*args, **kwargs)

        monkeypatch.setattr(conditions, "character_conditions", record)
        with qtbot.waitSignal(win.identity.regenerateRequested) as asked:
            dock.table.cellWidget(1, 4).click()
        panel_id, overrides = asked.args
        [job] = [j for j in queue.jobs.values() if j.panel_id == bottom.id]
        qtbot.waitUntil(lambda: job.finished, timeout=120000)
        assert job.state is JobState.DONE, job.message
        assert panel_id == bottom.id and job.seed == overrides["seed"]
        [request] = ran  # the request the engine ran
        assert request.job_id == job.id
        # the bound character's conditions were built with the stronger identity (the tiny models
        # have no face pack, so the engine gets the card's LoRA/trigger word only, with a note)
        assert asked_strength == [STRONGER_IDENTITY]
        panel = win.doc.project.find_panel(bottom.id)[1]
        assert len(panel.variants) == 2 and panel.current == panel.variants[-1].id
        variant = panel.current_variant()
        assert variant.seed == overrides["seed"] and variant.kind == "generate"
        [score] = variant.params["identity"]  # scored by the queue, kept with the new variant
        assert score["card"] == card_id and 0.0 <= score["score"] <= 1.0 + 1e-6
        assert win.doc.undo_stack.count() == 1  # the regenerated result: one undo step
        # the dock shows the new variant's score
        qtbot.waitUntil(lambda: len(dock.rows) == 2 and dock.rows[1]["score"] is not None
                        and abs(dock.rows[1]["score"] - score["score"]) < 1e-6, timeout=60000)
        # a result with no face is shown as "no face", never flagged (issue 12 item 9)
        assert dock.rows[1]["flagged"] == (score.get("face", True) and score["score"] < consistency.IDENTITY_THRESHOLD)
    finally:
        win.identity.wait()
        win.doc.undo_stack.setClean()
        win.close()
