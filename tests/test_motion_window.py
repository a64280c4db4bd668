"""Motion panels in the window, driven as a person does: Panel ▸ Animate… (its shortcut on the canvas,
the menu, the Panel dock's button) queues a loop job with progress and cancel; a loop plays on the
canvas while its panel is selected or hovered; History shows loops with their badge, previews them,
picks them and makes another frame the still. One real tiny AnimateDiff run goes through the window."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from app import edits, layout
from app.document import Document
from app.generation.queue import JobState
from app.project import Project
from engine.jobs import JobKind
from tests.helpers_pixmap import pixmap_array
from tests.helpers_window import PausedEngine, isolate_engine_settings, open_window

LEFT = Qt.MouseButton.LeftButton
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
COLOURS = [(220, 30, 30), (30, 200, 40), (30, 60, 220), (240, 220, 20)]
FPS = 25


@pytest.fixture(scope="module")
def motion_models(tmp_path_factory):
    from tests.tiny_motion import write_motion_models

    return write_motion_models(tmp_path_factory.mktemp("motion-models"))


def _project(loop: bool) -> Document:
    """A 2-tier page; with ``loop``, its first panel (in reading order) shows a 4-frame loop of solid
    colours larger than it shows on screen, and its second panel a still."""
    project = Project(title="Motion")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "2-tier"))
    project.settings.update({"model": "tiny-motion-sd", "steps": 1, "scheduler": "euler"})
    doc = Document(project)
    first, second = (p.id for p in doc.project.pages[0].panels_in_reading_order()[:2])
    for pid in (first, second):
        edits.set_panel_fields(doc, pid, prompt="waves on a beach")
    if loop:
        edits.add_variants(doc, first, [(Image.new("RGB", (1200, 600), (128, 128, 128)), 1)], kind="import",
                           prompt="")
        frames = [Image.new("RGB", (1200, 600), c) for c in COLOURS]
        edits.add_loop(doc, first, frames, seed=7, fps=FPS, prompt="waves on a beach")
        edits.add_variants(doc, second, [(Image.new("RGB", (1200, 600), (250, 250, 250)), 2)], kind="import",
                           prompt="")
    doc.undo_stack.setClean()
    return doc


@pytest.fixture
def window(qtbot, tmp_path_factory, monkeypatch, motion_models):
    opened = []

    def make(loop: bool = True, models=motion_models, engine=PausedEngine):
        isolate_engine_settings(tmp_path_factory, monkeypatch, models)
        if engine is not None:
            monkeypatch.setattr("engine.api.Engine", engine)  # the queue imports it on the first job
        win = open_window(qtbot, _project(loop))
        queue = win.generation.queue
        monkeypatch.setattr(win.generation, "confirm_quit", lambda: queue.cancel_all() or True)  # never a modal
        opened.append(win)
        return win

    yield make
    for win in opened:  # qtbot has closed it
        assert win.generation.queue._worker is None


def panels(win) -> tuple[str, str]:
    first, second = win.doc.project.pages[0].panels_in_reading_order()[:2]
    return first.id, second.id


def centre(win, panel_id: str) -> QPoint:
    box = win.view.page_scene.items_by_id[panel_id].box
    return win.view.mapFromScene(QPointF(box.x + box.w / 2, box.y + box.h / 2))


def click_panel(win, panel_id: str) -> None:
    QTest.mouseClick(win.view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, centre(win, panel_id))


def shown_colour(win, panel_id: str) -> tuple[int, int, int]:
    p = centre(win, panel_id)
    return tuple(int(v) for v in pixmap_array(win.view.viewport().grab())[p.y(), p.x()][:3])


def near(colour, target, tol: int = 12) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(colour, target))


def screenshot(widget, name: str) -> None:
    shots = os.environ.get("PANELSMITH_SCREENSHOT_DIR")
    if shots:
        widget.grab().save(str(Path(shots) / name))


# --- the action ------------------------------------------------------------------------------------

def test_animate_shortcut_is_unique_listed_and_fires_from_the_canvas(window, qtbot):
    win = window()
    gen, queue = win.generation, win.generation.queue
    key = QKeySequence("Ctrl+Shift+M")
    owners = [a for a in win.findChildren(type(gen.act_animate)) if key in a.shortcuts()]
    assert owners == [gen.act_animate]  # no clash: one action holds the key
    from widgets.help_menu import shortcuts_html

    assert "Animate" in shortcuts_html(win) and key.toString(QKeySequence.SequenceFormat.NativeText) in shortcuts_html(win)
    assert gen.act_animate in win.panel_menu.actions() and gen.act_animate in win.main_toolbar.actions()
    assert gen.act_animate in win.view.panel_actions  # the canvas context menu

    first, _ = panels(win)
    click_panel(win, first)
    assert win.view.page_scene.selected_panel_ids() == [first]
    win.activateWindow()
    assert QTest.qWaitForWindowActive(win)
    win.view.setFocus()
    QTest.keyClick(win.view.viewport(), Qt.Key.Key_M, CTRL_SHIFT)
    qtbot.waitUntil(lambda: gen.animate_dialog is not None and gen.animate_dialog.isVisible(), timeout=5000)
    dialog = gen.animate_dialog
    assert (dialog.frames.value(), dialog.fps.value(), dialog.seed.text()) == (16, 8, "random")
    assert dialog.continuity.isEnabled()  # the panel has an image to continue from
    screenshot(dialog, "animate-dialog.png")
    dialog.frames.selectAll()
    QTest.keyClicks(dialog.frames, "12")
    dialog.fps.setValue(6)
    dialog.continuity.setChecked(True)
    QTest.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), LEFT)
    qtbot.waitUntil(lambda: len(queue.jobs) == 1, timeout=5000)
    job = next(iter(queue.jobs.values()))
    assert job.kind is JobKind.ANIMATE and job.panel_id == first and job.label == "Animate p1·1"
    assert job.id in win.jobs_dock.rows
    qtbot.waitUntil(lambda: job.state is JobState.RUNNING, timeout=20000)
    assert gen.animate_options.frames == 12 and gen.animate_options.fps == 6 and gen.animate_options.continuity
    QTest.mouseClick(win.jobs_dock.rows[job.id].cancel, LEFT)
    assert job.state is JobState.CANCELLED


def test_menu_item_starts_a_job_and_cancel_leaves_the_document_unchanged(window, qtbot):
    win = window()
    gen, queue, doc = win.generation, win.generation.queue, win.doc
    first, second = panels(win)
    click_panel(win, second)
    before = (doc.undo_stack.count(), [list(p.variants) for p in doc.project.pages[0].panels])
    menu = win.panel_menu
    menu.popup(win.mapToGlobal(QPoint(40, 40)))
    qtbot.waitUntil(menu.isVisible, timeout=5000)
    QTest.mouseClick(menu, LEFT, Qt.KeyboardModifier.NoModifier, menu.actionGeometry(gen.act_animate).center())
    qtbot.waitUntil(lambda: gen.animate_dialog is not None and gen.animate_dialog.isVisible(), timeout=5000)
    QTest.keyClick(gen.animate_dialog, Qt.Key.Key_Return)  # Animate is the default button
    qtbot.waitUntil(lambda: len(queue.jobs) == 1, timeout=5000)
    job = next(iter(queue.jobs.values()))
    assert job.kind is JobKind.ANIMATE and job.panel_id == second
    qtbot.waitUntil(lambda: job.state is JobState.RUNNING, timeout=20000)
    assert win.view.page_scene.items_by_id[second].jobs.running  # "generating" on the canvas
    QTest.mouseClick(win.jobs_dock.cancel_all, LEFT)
    assert job.state is JobState.CANCELLED
    qtbot.waitUntil(lambda: queue._worker.pending() == 0, timeout=20000)
    assert (doc.undo_stack.count(), [list(p.variants) for p in doc.project.pages[0].panels]) == before
    assert doc.undo_stack.isClean()


def test_no_motion_adapter_is_one_line_in_the_note_bar_and_nothing_is_queued(window, qtbot, tmp_path, motion_models):
    models = tmp_path / "models"
    shutil.copytree(motion_models / "checkpoints", models / "checkpoints")
    win = window(models=models)
    gen = win.generation
    first, _ = panels(win)
    click_panel(win, first)
    QTest.mouseClick(win.animate_button, LEFT)  # the Panel dock's button
    qtbot.waitUntil(lambda: gen.animate_dialog is not None and gen.animate_dialog.isVisible(), timeout=5000)
    QTest.mouseClick(gen.animate_dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), LEFT)
    qtbot.waitUntil(win.note_bar.isVisible, timeout=5000)
    text = win.note_bar.label.text()
    assert "motion adapter" in text and str(models / "motion_adapters") in text and "\n" not in text
    assert gen.queue.jobs == {} and win.doc.undo_stack.isClean()


# --- playback on the canvas --------------------------------------------------------------------------

def test_a_loop_plays_while_selected_and_stops_when_deselected(window, qtbot):
    win = window()
    scene = win.view.page_scene
    player = scene.loop_player
    first, second = panels(win)
    item = scene.items_by_id[first]
    assert [b.label for b in item.badges.badges] == ["▶ 4"]  # the loop badge
    assert scene.items_by_id[second].badges.badges == []
    assert near(shown_colour(win, first), COLOURS[0])  # at rest: the still (frame 1)
    assert player.playing == set()

    click_panel(win, first)
    assert player.playing == {first}
    seen = set()

    def all_frames_seen() -> bool:
        colour = shown_colour(win, first)
        seen.update(i for i, c in enumerate(COLOURS) if near(colour, c))
        return seen == {0, 1, 2, 3}

    qtbot.waitUntil(all_frames_seen, timeout=20000)
    assert item.painted_size == item.target_size  # frames are blitted from copies pre-scaled to screen size
    assert item.target_size[0] < 1200

    click_panel(win, second)  # another panel selected: the loop stops on its still
    assert player.playing == set() and item.frame_key is None
    qtbot.waitUntil(lambda: near(shown_colour(win, first), COLOURS[0]), timeout=5000)


def test_a_loop_shown_magnified_plays_from_sources_decoded_off_the_gui_thread(window, qtbot, monkeypatch):
    """Zoomed in past the frames' own size, a loop plays from their sources, decoded on the scaling
    threads: each frame appears once it is ready, never an empty panel, never a decode on the GUI thread."""
    import threading

    from widgets.canvas import pixmaps

    on_gui: list[str] = []
    real_get = pixmaps.PixmapCache.get
    monkeypatch.setattr(pixmaps.PixmapCache, "get", lambda self, *a, **k: (
        on_gui.append("get") if threading.current_thread() is threading.main_thread() else None) or real_get(self, *a, **k))
    win = window()
    from app import image_previews

    image_previews.SHELF.clear()  # frames without previews (a book from before them): the sources only
    scene, first = win.view.page_scene, panels(win)[0]
    item = scene.items_by_id[first]
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    for _ in range(12):  # Ctrl+=, as a person zooms in, until the 600 px high frames are magnified
        if item.box.h * win.view.px_per_mm() > 700:
            break
        QTest.keyClick(win, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    box = item.box
    win.view.centerOn(box.x + box.w / 2, box.y + box.h / 2)
    gate = threading.Event()  # the scaling threads held: no frame's source can be decoded yet
    for _ in range(2):
        item.pixmaps._pool.submit(gate.wait)
    try:
        click_panel(win, first)
        assert scene.loop_player.playing == {first}
        qtbot.wait(400)  # three ticks of the loop's 8 fps
        assert item.frame_key is None  # the still stays until the next frame's source is ready
    finally:
        gate.set()
    seen, empty = set(), []

    def all_frames_seen() -> bool:
        colour = shown_colour(win, first)
        seen.update(i for i, c in enumerate(COLOURS) if near(colour, c))
        if not any(near(colour, c) for c in COLOURS):
            empty.append(colour)
        return seen == {0, 1, 2, 3}

    qtbot.waitUntil(all_frames_seen, timeout=20000)
    assert item.target_size is None  # drawn magnified, from the sources
    assert empty == [] and on_gui == []


def test_a_loop_plays_while_hovered(window, qtbot):
    win = window()
    scene = win.view.page_scene
    first, second = panels(win)
    viewport = win.view.viewport()
    QTest.mouseMove(viewport, centre(win, second))
    qtbot.waitUntil(lambda: scene.items_by_id[second].hovered, timeout=5000)
    assert scene.loop_player.playing == set()  # a still panel plays nothing
    QTest.mouseMove(viewport, centre(win, first))
    qtbot.waitUntil(lambda: scene.loop_player.playing == {first}, timeout=5000)
    frames = []
    scene.loop_player.frameShown.connect(lambda pid, i: frames.append(i))
    qtbot.waitUntil(lambda: len(set(frames)) >= 3, timeout=20000)
    QTest.mouseMove(viewport, centre(win, second))
    qtbot.waitUntil(lambda: scene.loop_player.playing == set(), timeout=5000)
    assert scene.items_by_id[first].frame_key is None


# --- History -----------------------------------------------------------------------------------------

def test_history_shows_previews_picks_loops_and_sets_the_still(window, qtbot):
    win = window()
    doc, dock = win.doc, win.variants_dock
    first, second = panels(win)
    click_panel(win, first)
    strip = dock.strip
    qtbot.waitUntil(lambda: strip.count() == 2, timeout=5000)
    still_item, loop_item = strip.item(0), strip.item(1)
    loop = doc.project.find_panel(first)[1].motion
    assert loop_item.text() == "animate · 4f" and still_item.text() == "import"
    assert f"4 frames at {FPS} fps" in loop_item.toolTip()
    assert strip.currentItem() is loop_item and dock.use_still.isVisible()

    shown = []
    dock.preview.frameShown.connect(lambda vid, i: shown.append(i))
    qtbot.waitUntil(lambda: len(set(shown)) >= 3, timeout=20000)  # the selected loop plays in its icon
    screenshot(win, "history-loop.png")

    steps = doc.undo_stack.count()
    QTest.mouseClick(strip.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, strip.visualItemRect(still_item).center())
    panel = doc.project.find_panel(first)[1]
    assert panel.motion is None and doc.undo_stack.count() == steps + 1
    assert dock.preview.item is None  # a still plays nothing
    loop_item = strip.item(1)
    QTest.mouseMove(strip.viewport(), strip.visualItemRect(loop_item).center())
    qtbot.waitUntil(lambda: dock.preview.item is loop_item, timeout=5000)  # hovering a loop previews it
    QTest.mouseClick(strip.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, strip.visualItemRect(loop_item).center())
    panel = doc.project.find_panel(first)[1]
    assert panel.motion is not None and doc.undo_stack.count() == steps + 2

    dock.still_frame.setValue(3)
    QTest.mouseClick(dock.use_still, LEFT)
    panel = doc.project.find_panel(first)[1]
    assert panel.motion.still == 2 and panel.image == loop.frames[2] and doc.undo_stack.count() == steps + 3
    assert doc.undo_stack.undoText() == "Use Frame 3 as Still"
    click_panel(win, second)  # the loop's panel deselected: the canvas shows the new still
    qtbot.waitUntil(lambda: near(shown_colour(win, first), COLOURS[2]), timeout=5000)
    doc.undo_stack.undo()
    panel = doc.project.find_panel(first)[1]
    assert panel.motion.still == 0 and panel.image == loop.frames[0]


# --- one real loop through the window -----------------------------------------------------------------

def test_a_real_tiny_loop_through_the_window_is_one_undo_step_and_plays(window, qtbot):
    win = window(loop=False, engine=None)  # the real engine on the tiny SD 1.5 and motion adapter
    gen, queue, doc = win.generation, win.generation.queue, win.doc
    first, _ = panels(win)
    click_panel(win, first)
    QTest.mouseClick(win.animate_button, LEFT)
    qtbot.waitUntil(lambda: gen.animate_dialog is not None and gen.animate_dialog.isVisible(), timeout=5000)
    dialog = gen.animate_dialog
    assert not dialog.continuity.isEnabled()  # nothing to continue from yet
    dialog.frames.setValue(2)
    dialog.fps.setValue(10)
    dialog.seed.setValue(3)
    steps = doc.undo_stack.count()
    QTest.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), LEFT)
    job = next(iter(queue.jobs.values()))
    qtbot.waitUntil(lambda: job.finished, timeout=180000)
    assert job.state is JobState.DONE, job.message
    panel = doc.project.find_panel(first)[1]
    assert panel.motion is not None and len(panel.motion.frames) == 2 and panel.motion.fps == 10
    assert panel.current_variant().seed == 3 and panel.current_variant().kind == "animate"
    assert doc.undo_stack.count() == steps + 1 and doc.undo_stack.undoText() == "Animate"
    qtbot.waitUntil(lambda: win.view.page_scene.loop_player.playing == {first}, timeout=5000)  # selected: plays
    assert win.variants_dock.strip.item(0).text() == "animate · 2f"
    doc.undo_stack.undo()
    assert doc.project.find_panel(first)[1].variants == []
