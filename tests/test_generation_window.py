"""Generation from the real main window: job queue, mask brush + Vary Region, pan, failures,
character sheet and LoRA training, on tiny local models (pytest-qt, offscreen, CPU)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtTest import QTest

from app import edits, layout
from app.identity import consistency, faces as face_cache
from app.document import Document
from app.images import decode_png
from app.generation.queue import ANALYSING, SCORING, JobState
from app.placement import image_frame
from app.project import Placement, Project
from engine import faces as face_api
from tests import bands
from tests.helpers_pixmap import assert_pixmap_shows
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)
from tests.helpers_window import isolate_engine_settings, open_window as open_shared_window
from widgets.canvas import Tool
from widgets.main_window import MainWindow

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier
FAST = {"model": "tiny-sd", "steps": 2, "scheduler": "euler"}


@pytest.fixture(autouse=True)
def temp_settings(tmp_path_factory, monkeypatch, tiny_models_dir):
    isolate_engine_settings(tmp_path_factory, monkeypatch, tiny_models_dir)
    yield


def make_doc(settings: dict | None = None) -> Document:
    project = Project(title="Gen")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2"))
    project.settings.update(FAST if settings is None else settings)
    for panel in project.pages[0].panels:
        panel.prompt = "a lighthouse at night"
    return Document(project)


def open_window(qtbot, doc: Document) -> MainWindow:
    return open_shared_window(qtbot, doc, width=1500)


@pytest.fixture
def win(qtbot):
    window = open_window(qtbot, make_doc())
    yield window
    window.doc.undo_stack.setClean()
    window.close()
    assert window.generation.queue._worker is None and not window.characters.trainer.running


def panels(win):
    return win.doc.project.pages[0].panels_in_reading_order()


def wait_jobs(qtbot, win, ids, timeout=60000):
    queue = win.generation.queue
    qtbot.waitUntil(lambda: all(queue.jobs[i].finished for i in ids), timeout=timeout)
    return [queue.jobs[i] for i in ids]


def image_of(win, panel_id):
    panel = win.doc.project.find_panel(panel_id)[1]
    return np.asarray(decode_png(win.doc.project.images[panel.image]).convert("RGB"))


def generate(qtbot, win, pid, **overrides):
    ids = win.generation.queue.submit_panels([pid], overrides={"seed": 3, **overrides})
    [job] = wait_jobs(qtbot, win, ids)
    assert job.state is JobState.DONE, job.message
    return job


def test_generate_button_runs_in_worker_and_is_one_undo_step(win, qtbot):
    pid = panels(win)[0].id
    win.view.page_scene.select_ids([pid])
    stack, before = win.doc.undo_stack, win.doc.undo_stack.count()
    progress = []
    win.generation.queue.jobChanged.connect(lambda i: progress.append(win.generation.queue.jobs[i].step))
    QTest.mouseClick(win.generate_button, LEFT)
    queue = win.generation.queue
    assert len(queue.jobs) == 1 and win.jobs_dock.rows  # queued at once, the GUI did not wait
    [job] = wait_jobs(qtbot, win, list(queue.jobs))
    assert job.state is JobState.DONE and job.step == job.total == 2 and max(progress) >= 1
    assert job.preview is not None
    assert_pixmap_shows(win.jobs_dock.rows[job.id].preview.pixmap(), job.preview)
    panel = win.doc.project.find_panel(pid)[1]
    assert len(panel.variants) == 1 and panel.current == panel.variants[0].id
    assert stack.count() == before + 1
    stack.undo()
    assert win.doc.project.find_panel(pid)[1].variants == []


def test_staged_results_appear_in_history(win, qtbot):
    pid = panels(win)[1].id
    win.view.page_scene.select_ids([pid])
    win.generation.act_auto_pick.setChecked(False)
    win.generation.repeat.setValue(2)
    ids = win.generation.generate_selected()
    jobs = wait_jobs(qtbot, win, ids)
    assert [j.state for j in jobs] == [JobState.DONE] * 2
    assert jobs[1].seed == jobs[0].seed + 1  # repeat ×N: incrementing seeds
    panel = win.doc.project.find_panel(pid)[1]
    assert panel.current is None and len(panel.variants) == 2
    assert win.variants_dock.strip.count() == 2


def test_cancel_running_job_changes_nothing(win, qtbot):
    pid = panels(win)[0].id
    queue = win.generation.queue
    index = win.doc.undo_stack.index()
    [job_id] = queue.submit_panels([pid], overrides={"steps": 400})
    qtbot.waitUntil(lambda: queue.jobs[job_id].step >= 1, timeout=60000)
    QTest.mouseClick(win.jobs_dock.rows[job_id].cancel, LEFT)
    assert queue.jobs[job_id].state is JobState.CANCELLED
    qtbot.waitUntil(lambda: queue._worker.pending() == 0, timeout=60000)
    assert win.doc.project.find_panel(pid)[1].variants == [] and win.doc.undo_stack.index() == index


def test_generate_page_queues_reading_order_and_cancel_all(win, qtbot):
    queue = win.generation.queue
    ids = win.generation.generate_page()
    assert [queue.jobs[i].panel_id for i in ids] == [p.id for p in panels(win)]
    assert win.jobs_dock.summary.text().endswith("queued")
    QTest.mouseClick(win.jobs_dock.cancel_all, LEFT)
    assert all(queue.jobs[i].state is JobState.CANCELLED for i in ids)
    qtbot.waitUntil(lambda: queue._worker.pending() == 0, timeout=60000)
    assert all(p.variants == [] for p in panels(win)) and win.doc.undo_stack.count() == 0
    assert win.jobs_dock.summary.text() == "Idle"


def test_mask_brush_then_vary_region_changes_only_masked_pixels(win, qtbot):
    pid = panels(win)[0].id
    generate(qtbot, win, pid)
    before = image_of(win, pid)
    win.view.page_scene.select_ids([pid])
    win.generation.act_mask_tool.trigger()
    assert win.view.tool == Tool.MASK
    win.generation.brush_size.setValue(5)
    win.generation.feather.setValue(4)
    box = win.doc.project.find_panel(pid)[1].bbox
    viewport = win.view.viewport()
    a = win.view.mapFromScene(QPointF(box.x + box.w * 0.4, box.y + box.h * 0.5))
    b = win.view.mapFromScene(QPointF(box.x + box.w * 0.6, box.y + box.h * 0.5))
    QTest.mousePress(viewport, LEFT, NOMOD, a)
    for i in range(1, 7):
        QTest.mouseMove(viewport, a + (b - a) * (i / 6))
    QTest.mouseRelease(viewport, LEFT, NOMOD, b)
    layer = win.view.mask_layer
    mask = layer.mask_image()
    assert mask.size == (before.shape[1], before.shape[0]) and mask.getbbox() is not None
    assert win.doc.undo_stack.count() == 1  # painting a mask is not an edit
    assert win.generation.act_vary.isEnabled()
    win.generation.region_prompt.setText("a red boat")
    win.generation.act_vary.trigger()
    [job_id] = [j for j in win.generation.queue.jobs if not win.generation.queue.jobs[j].finished]
    [job] = wait_jobs(qtbot, win, [job_id])
    assert job.state is JobState.DONE, job.message
    panel = win.doc.project.find_panel(pid)[1]
    assert panel.current_variant().kind == "vary" and panel.current_variant().prompt.endswith("a red boat")
    after = image_of(win, pid)
    inside = bands.inside(mask)
    far = bands.beyond(inside, 4)
    assert np.array_equal(after[far], before[far])
    assert not np.array_equal(after[inside], before[inside])
    assert win.view.mask_layer is None  # the panel shows the new image: the mask was used up


def test_pan_left_button_widens_image_and_keeps_pixels_in_place(win, qtbot):
    pid = panels(win)[0].id
    generate(qtbot, win, pid)
    before = image_of(win, pid)
    panel = win.doc.project.find_panel(pid)[1]
    shown = image_frame(panel.bbox, (before.shape[1], before.shape[0]), panel.placement)
    win.view.page_scene.select_ids([pid])
    assert win.pan_buttons["left"].isEnabled()
    win.generation.pan_amount.setValue(0.5)
    QTest.mouseClick(win.pan_buttons["left"], LEFT)
    [job_id] = [j for j, job in win.generation.queue.jobs.items() if not job.finished]
    wait_jobs(qtbot, win, [job_id])
    after = image_of(win, pid)
    h, w = before.shape[:2]
    assert after.shape[0] == h and after.shape[1] > w
    offset = after.shape[1] - w
    assert np.array_equal(after[:, offset + 8:], before[:, 8:])
    # the view slid toward the new strip: the image's left edge meets the frame's, at the same scale
    panel = win.doc.project.find_panel(pid)[1]
    now = image_frame(panel.bbox, (after.shape[1], after.shape[0]), panel.placement)
    assert now.mm_per_px == pytest.approx(shown.mm_per_px)
    assert now.rect.x == pytest.approx(panel.bbox.x) and now.rect.right >= panel.bbox.right
    assert panel.current_variant().kind == "pan"


def test_upscale_to_print_adds_an_upscale_variant_of_print_size(win, qtbot):
    from app.generation.request import print_size

    pid = panels(win)[0].id
    generate(qtbot, win, pid)
    before = image_of(win, pid)
    win.doc.project.dpi = 24  # a small print size: few refine tiles on the CPU
    win.view.page_scene.select_ids([pid])
    assert win.generation.act_upscale.isEnabled()
    win.generation.refine_strength.setValue(0.5)
    win.generation.act_upscale.trigger()
    [job_id] = [j for j, job in win.generation.queue.jobs.items() if not job.finished]
    [job] = wait_jobs(qtbot, win, [job_id])
    assert job.state is JobState.DONE, job.message
    panel = win.doc.project.find_panel(pid)[1]
    want = print_size(panel, (before.shape[1], before.shape[0]), 24)
    after = image_of(win, pid)
    assert (after.shape[1], after.shape[0]) == want and want[0] > before.shape[1]
    assert panel.current_variant().kind == "upscale"
    assert job.total > 1  # progress came per refine tile step


def test_missing_model_fails_with_one_line_and_changes_nothing(qtbot):
    win = open_window(qtbot, make_doc({"model": "no-such-model", "steps": 2}))
    try:
        pid = panels(win)[0].id
        win.view.page_scene.select_ids([pid])
        index = win.doc.undo_stack.index()
        win.generation.act_generate.trigger()
        [job] = wait_jobs(qtbot, win, list(win.generation.queue.jobs))
        assert job.state is JobState.FAILED and "no-such-model" in job.message
        message = win.generation.last_message
        assert "no-such-model" in message and "\n" not in message
        assert "no-such-model" in win.statusBar().currentMessage()
        assert win.doc.project.find_panel(pid)[1].variants == [] and win.doc.undo_stack.index() == index
    finally:
        win.doc.undo_stack.setClean()
        win.close()


def test_vary_without_image_is_a_failed_job_not_a_crash(win, qtbot):
    pid = panels(win)[2].id
    ids = win.generation.extend(direction="left", panel_id=pid)
    job = win.generation.queue.jobs[ids[0]]
    assert job.state is JobState.FAILED and "no image" in job.message


def test_resized_panel_offers_to_extend_the_missing_side(win, qtbot):
    pid = panels(win)[0].id
    edits.add_variant(win.doc, pid, Image.new("RGB", (64, 64), "teal"))
    win.view.page_scene.select_ids([pid])
    assert not win.extend_offer.button.isVisible()
    edits.set_placement(win.doc, pid, Placement(offset_x=-80.0, offset_y=0.0, scale=1.0))
    assert win.extend_offer.button.isVisible() and "right" in win.extend_offer.button.text()
    ids = win.extend_offer.accept()
    job = win.generation.queue.jobs[ids[0]]
    assert job.kind.value == "outpaint" and not win.extend_offer.button.isVisible()
    win.generation.queue.cancel_all()


def test_preferences_list_models_and_store_settings(win, qtbot, tmp_path):
    dialog = win.generation.preferences()
    names = [dialog.found.item(i).text() for i in range(dialog.found.count())]
    assert any(n.startswith("tiny-sd ") for n in names) and not dialog.missing.isVisibleTo(dialog)
    dialog.folder.setText(str(tmp_path))
    dialog.rescan()
    assert dialog.found.count() == 0 and "No image model" in dialog.missing.text()
    dialog.folder.setText(str(win.generation.queue.models_dir))
    dialog.rescan()
    dialog.model.setCurrentText("tiny-sd-inpaint")
    dialog.steps.setValue(3)
    count = win.doc.undo_stack.count()
    dialog.accept()
    assert win.doc.project.settings["model"] == "tiny-sd-inpaint" and win.doc.project.settings["steps"] == 3
    assert win.doc.undo_stack.count() == count + 1
    stored = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Panelsmith", "Panelsmith")
    assert stored.value("engine/device") == "cpu"


def test_preferences_memory_choice_by_keyboard(win, qtbot):
    from widgets.generation.preferences import load_engine_settings

    dialog = win.generation.preferences()
    combo = dialog.memory
    assert combo.currentData() == "auto" and combo.count() == 4
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)
    QTest.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentText().startswith("Model CPU offload")
    dialog.accept()
    assert win.generation.queue.settings.memory == "model_offload"
    stored = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Panelsmith", "Panelsmith")
    assert stored.value("engine/memory") == "model_offload" and load_engine_settings(stored).memory == "model_offload"
    again = win.generation.preferences()
    assert again.memory.currentData() == "model_offload"
    again.reject()


def test_character_sheet_tiles_and_lora_training(win, qtbot, tmp_path):
    from app.project_io import save_project
    from tests.helpers_training import training_images

    doc = win.doc
    card_id = edits.add_card(doc, "character", "Mira", training_images(3, 64))
    path = tmp_path / "book.comic"
    save_project(doc.project, path)
    doc.mark_saved(path)
    win.cards_dock.lists["character"].setCurrentRow(0)
    assert win.characters.current_card().id == card_id
    pages = len(doc.project.pages)
    page_id = win.characters.create_sheet()
    assert len(doc.project.pages) == pages + 1 and win.view.page_id == page_id
    tile = doc.project.page(page_id).panels[0].id
    edits.add_variant(doc, tile, Image.new("RGB", (64, 64), "orange"))
    win.view.page_scene.select_ids([tile])
    assert win.characters.add_tiles() == 1 and len(doc.project.card(card_id).references) == 4

    losses = []
    win.characters.trainer.stepped.connect(lambda s, t, loss: losses.append((s, t, loss)))
    with qtbot.waitSignal(win.characters.trainer.finished, timeout=90000):
        assert win.characters.train({"steps": 3, "rank": 4, "resolution": 64, "checkpoint_every": 0,
                                     "learning_rate": 1e-3})
        assert win.characters.trainer.running and not win.characters.act_train.isEnabled()
    assert [s for s, _, _ in losses] == [1, 2, 3] and all(np.isfinite(loss) for _, _, loss in losses)
    card = doc.project.card(card_id)
    assert card.lora and card.lora.endswith(".safetensors") and (tmp_path / card.lora).exists()
    assert win.training_dock.plot.values == [loss for _, _, loss in losses]
    doc.undo_stack.undo()
    assert not doc.project.card(card_id).lora


def test_training_cancel_leaves_card_unchanged(win, qtbot, tmp_path):
    from app.project_io import save_project
    from tests.helpers_training import training_images

    doc = win.doc
    card_id = edits.add_card(doc, "character", "Kai", training_images(2, 64))
    save_project(doc.project, tmp_path / "b.comic")
    doc.mark_saved(tmp_path / "b.comic")
    win.cards_dock.lists["character"].setCurrentRow(0)
    trainer = win.characters.trainer
    trainer.stepped.connect(lambda *_: trainer.cancel())
    with qtbot.waitSignal(trainer.cancelled, timeout=90000):
        win.characters.train({"steps": 50, "rank": 4, "resolution": 64, "checkpoint_every": 1})
    assert not doc.project.card(card_id).lora and not trainer.running
    assert trainer.checkpoint_exists(card_id)  # a resumable checkpoint was kept


# --- bound characters: face analysis and consistency scores run in the helper process ----------------

def bind_character(win) -> tuple[str, str]:
    from skimage import data as skdata

    pid = panels(win)[0].id
    card_id = edits.add_card(win.doc, "character", "Eileen", [Image.fromarray(skdata.astronaut()).resize((256, 256))])
    edits.bind_card(win.doc, pid, card_id, 30)
    return pid, card_id


def test_character_panel_analyses_and_scores_off_the_gui_thread(win, qtbot, monkeypatch):
    pid, card_id = bind_character(win)

    def not_here(*args, **kwargs):
        raise AssertionError("face analysis on the GUI thread")

    monkeypatch.setattr(face_api, "analyze", not_here)  # this process only: the helper process is unpatched
    queue = win.generation.queue
    seen: list[str] = []
    queue.jobChanged.connect(lambda job_id: seen.append(queue.jobs[job_id].message))
    [job_id] = queue.submit_panels([pid], overrides={"seed": 3})
    job = queue.jobs[job_id]
    assert job.state is JobState.QUEUED and job.message == ANALYSING
    assert face_cache.BUILTIN not in win.doc.project.card(card_id).references[0].faces
    [job] = wait_jobs(qtbot, win, [job_id])
    assert job.state is JobState.DONE, job.message
    assert SCORING in seen
    assert face_cache.BUILTIN in win.doc.project.card(card_id).references[0].faces  # cached by the queue
    variant = win.doc.project.find_panel(pid)[1].current_variant()
    [score] = variant.params["identity"]
    assert score["card"] == card_id and isinstance(score["score"], float)


def test_generate_with_unanalysed_references_is_one_undo_step(win, qtbot):
    pid, card_id = bind_character(win)
    stack = win.doc.undo_stack
    steps = stack.count()
    [job] = wait_jobs(qtbot, win, win.generation.queue.submit_panels([pid], overrides={"seed": 3}))
    assert job.state is JobState.DONE, job.message
    assert stack.count() == steps + 1  # the result only: the face analysis is derived data
    assert face_cache.BUILTIN in win.doc.project.card(card_id).references[0].faces and win.doc.modified
    stack.undo()
    assert win.doc.project.find_panel(pid)[1].variants == []
    assert face_cache.BUILTIN in win.doc.project.card(card_id).references[0].faces  # the analysis stays


def test_an_invalid_request_fails_in_the_engine_as_its_job(win, qtbot, monkeypatch):
    from engine.jobs import GenerationRequest

    calls = []
    validate = GenerationRequest.validate
    monkeypatch.setattr(GenerationRequest, "validate", lambda request: (calls.append(request.job_id), validate(request))[1])
    queue = win.generation.queue
    [job_id] = queue.submit_panels([panels(win)[0].id], overrides={"variants": 0})
    assert queue.jobs[job_id].state is JobState.QUEUED  # built and queued: the engine checks it
    [job] = wait_jobs(qtbot, win, [job_id])
    assert job.state is JobState.FAILED and "variants must be between 1 and 64" in job.message
    assert calls == [job_id] and win.doc.undo_stack.count() == 0


def test_cancel_while_scoring_adds_nothing_and_a_failed_score_keeps_the_result(win, qtbot, monkeypatch):
    pid, card_id = bind_character(win)
    queue = win.generation.queue

    def cancel_when_scoring(job_id: str) -> None:
        if queue.jobs[job_id].message == SCORING:
            queue.cancel(job_id)

    queue.jobChanged.connect(cancel_when_scoring)
    [job] = wait_jobs(qtbot, win, queue.submit_panels([pid], overrides={"seed": 3}))
    assert job.state is JobState.CANCELLED
    steps = win.doc.undo_stack.count()
    qtbot.waitUntil(lambda: not win.tasks.busy, timeout=20000)  # the score arrives, and is dropped
    assert win.doc.project.find_panel(pid)[1].variants == [] and win.doc.undo_stack.count() == steps
    queue.jobChanged.disconnect(cancel_when_scoring)
    # a scoring task that fails in the helper (a local function cannot be pickled) loses nothing
    monkeypatch.setattr(consistency, "score_images", lambda *args: [])
    with qtbot.waitSignal(queue.message, check_params_cb=lambda text: "consistency score failed" in text,
                          timeout=60000):
        ids = queue.submit_panels([pid], overrides={"seed": 3})
    [job] = wait_jobs(qtbot, win, ids)
    assert job.state is JobState.DONE, job.message
    variant = win.doc.project.find_panel(pid)[1].current_variant()
    assert variant is not None and "identity" not in variant.params
