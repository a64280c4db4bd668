"""The window's generation workflow as a person uses it: keys, clicks and the real widgets
(pytest-qt, offscreen): redo keys, the queue dock, deleting a queued panel, Generate Page,
quitting with jobs, page setup."""

from __future__ import annotations

import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from app import edits, layout
from app.document import Document
from app.project import Project
from app.generation.queue import JobState
from tests.helpers_window import isolate_engine_settings, open_window
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

LEFT = Qt.MouseButton.LeftButton
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


FAST = {"model": "tiny-sd", "steps": 2, "scheduler": "euler"}


@pytest.fixture(autouse=True)
def temp_settings(tmp_path_factory, monkeypatch, tiny_models_dir):
    isolate_engine_settings(tmp_path_factory, monkeypatch, tiny_models_dir)
    yield


def make_doc() -> Document:
    project = Project(title="Workflow")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2"))
    project.settings.update(FAST)
    for panel in project.pages[0].panels:
        panel.prompt = "a lighthouse at night"
    return Document(project)


@pytest.fixture
def win(qtbot):
    window = open_window(qtbot, make_doc())
    yield window
    window.doc.undo_stack.setClean()
    window.generation.queue.cancel_all()  # no question left open by a failed test
    window.close()


def focus(qtbot, win) -> None:
    """Keys go to the canvas of the active window, as when a person clicked into it."""
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    win.view.setFocus()


def panels(win):
    return win.doc.project.pages[0].panels_in_reading_order()


@pytest.mark.parametrize("key, mods", [(Qt.Key.Key_Z, CTRL | SHIFT), (Qt.Key.Key_Y, CTRL)])
@pytest.mark.parametrize("desktop", ["generic", "gnome"])
def test_redo_keys_redo(qtbot, monkeypatch, key, mods, desktop):
    """GNOME's and KDE's Redo binding is Ctrl+Shift+Z first: the key must still be bound once."""
    if desktop == "gnome":
        gnome = [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")]
        monkeypatch.setattr(QKeySequence, "keyBindings", lambda standard: list(gnome))
    win = open_window(qtbot, make_doc())
    keys = [k.toString() for k in win.act_redo.shortcuts()]
    assert len(keys) == len(set(keys)) and {"Ctrl+Shift+Z", "Ctrl+Y"} <= set(keys)
    pid = panels(win)[0].id
    win.view.page_scene.select_ids([pid])
    focus(qtbot, win)
    QTest.keyClick(win.view, Qt.Key.Key_Delete)
    assert len(panels(win)) == 3
    QTest.keyClick(win.view, Qt.Key.Key_Z, CTRL)
    assert len(panels(win)) == 4
    QTest.keyClick(win.view, key, mods)
    assert len(panels(win)) == 3, "redo key did nothing"
    win.doc.undo_stack.setClean()


def test_deleting_a_panel_cancels_its_running_and_queued_jobs_at_once(win, qtbot):
    first, second, third = [p.id for p in panels(win)[:3]]
    queue = win.generation.queue
    [running] = queue.submit_panels([first], overrides={"steps": 400})
    [queued] = queue.submit_panels([second], overrides={"steps": 400})
    [other] = queue.submit_panels([third], overrides={"steps": 400})
    qtbot.waitUntil(lambda: queue.jobs[running].step >= 1, timeout=60000)
    win.view.page_scene.select_ids([first, second])
    focus(qtbot, win)
    QTest.keyClick(win.view, Qt.Key.Key_Delete)
    assert queue.jobs[running].state is JobState.CANCELLED and queue.jobs[queued].state is JobState.CANCELLED
    assert "deleted" in queue.jobs[running].message
    assert win.jobs_dock.rows[running].state.text().startswith("cancelled")
    assert queue.jobs[other].state in (JobState.QUEUED, JobState.RUNNING)
    qtbot.waitUntil(lambda: queue.jobs[other].state is JobState.RUNNING, timeout=60000)  # the worker moved on
    queue.cancel_all()
    qtbot.waitUntil(lambda: queue._worker.pending() == 0, timeout=60000)


def press_generate_page(qtbot, win, answer: str | None) -> list[str]:
    """Ctrl+Shift+G; ``answer`` names the button to click in the question ("Only", "Replace",
    "Cancel") or None when no question may appear. Returns the panels newly queued."""
    queue = win.generation.queue
    before = set(queue.jobs)
    asked = []

    def click() -> None:
        box = win.generation.question
        asked.append(box is not None)
        if box is None:
            return
        [button] = [b for b in box.buttons() if b.text().replace("&", "").startswith(answer)]
        QTest.mouseClick(button, LEFT)

    focus(qtbot, win)
    if answer is not None:
        QTimer.singleShot(0, click)
    QTest.keyClick(win.view, Qt.Key.Key_G, CTRL | SHIFT)
    if answer is not None:
        qtbot.waitUntil(lambda: bool(asked))
        assert asked == [True]
    else:
        assert win.generation.question is None
    return [queue.jobs[j].panel_id for j in queue.jobs if j not in before]


def test_generate_page_fills_empty_panels_asks_before_art_and_never_queues_twice(win, qtbot):
    queue = win.generation.queue
    art, busy, empty1, empty2 = [p.id for p in panels(win)]
    edits.add_variant(win.doc, art, Image.new("RGB", (64, 64), "teal"))
    queue.submit_panels([busy], overrides={"steps": 400})
    assert press_generate_page(qtbot, win, "Only") == [empty1, empty2]
    assert press_generate_page(qtbot, win, "Cancel") == []
    assert press_generate_page(qtbot, win, "Replace") == [art]
    assert press_generate_page(qtbot, win, None) == []  # everything is queued already
    assert "already queued" in win.generation.last_message
    assert len([j for j in queue.jobs.values() if j.panel_id == busy]) == 1
    queue.cancel_all()
    qtbot.waitUntil(lambda: queue._worker.pending() == 0, timeout=60000)


def test_quitting_with_jobs_says_how_many_are_lost_and_closes_within_a_second(win, qtbot):
    import time

    queue = win.generation.queue
    first, second = [p.id for p in panels(win)[:2]]
    [running] = queue.submit_panels([first], overrides={"steps": 400})
    queue.submit_panels([second], overrides={"steps": 400})
    qtbot.waitUntil(lambda: queue.jobs[running].step >= 1, timeout=60000)
    seen, clicked_at = [], []

    def answer(text: str):
        def click() -> None:
            box = win.generation.question
            seen.append(box.text())
            [button] = [b for b in box.buttons() if b.text().replace("&", "").startswith(text)]
            clicked_at.append(time.monotonic())
            QTest.mouseClick(button, LEFT)
        return click

    focus(qtbot, win)
    QTimer.singleShot(0, answer("Cancel"))
    QTest.keyClick(win.view, Qt.Key.Key_Q, CTRL)
    assert win.isVisible() and "2 generation jobs (1 running, 1 queued) will be lost" in seen[-1]
    assert len(queue.active()) == 2
    hidden_at = []

    class Watch(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Hide and obj is win:
                hidden_at.append(time.monotonic())
            return False

    watch = Watch()
    win.installEventFilter(watch)
    focus(qtbot, win)
    QTimer.singleShot(0, answer("Quit"))
    QTest.keyClick(win.view, Qt.Key.Key_Q, CTRL)
    assert not win.isVisible() and queue._worker is None and not queue.active()
    elapsed = hidden_at[0] - clicked_at[-1]
    assert elapsed < 1.0, f"the window took {elapsed:.2f} s to go"


def test_an_image_without_a_face_gets_a_grey_no_face_badge(win, qtbot):
    from app.identity import consistency
    from widgets.identity.canvas import BAD, PENDING, ScoreBadgeItem

    card = edits.add_card(win.doc, "character", "Mara", [Image.new("RGB", (32, 32), "red")])
    pid = panels(win)[0].id
    edits.bind_card(win.doc, pid, card if isinstance(card, str) else card.id, 60)
    panel = win.doc.project.find_panel(pid)[1]
    scores = consistency.image_identity_scores(win.doc.project, panel, Image.new("RGB", (96, 96), "white"))
    assert scores and all(s["face"] is False and s["score"] == 0.0 for s in scores)
    badge = ScoreBadgeItem.__new__(ScoreBadgeItem)
    ScoreBadgeItem.__init__(badge, None)
    badge.set_score(scores, 0.5, {})
    assert badge.text == "no face" and badge.colour == PENDING
    badge.set_score([{"card": "c", "score": 0.1, "face": True}], 0.5, {})
    assert badge.text == "ID 0.10" and badge.colour == BAD


def test_zoom_out_shows_the_wider_picture_labelled_zoom_out(win, qtbot):
    import numpy as np

    from app.images import decode_png

    queue = win.generation.queue
    pid = panels(win)[0].id
    [gen] = queue.submit_panels([pid], overrides={"seed": 3})
    qtbot.waitUntil(lambda: queue.jobs[gen].finished, timeout=60000)
    panel = win.doc.project.find_panel(pid)[1]
    before = np.asarray(decode_png(win.doc.project.images[panel.image]).convert("RGB"))
    win.view.page_scene.select_ids([pid])
    index = win.doc.undo_stack.index()
    win.generation.act_zoom2.trigger()
    [job] = [j for j in queue.jobs.values() if not j.finished]
    qtbot.waitUntil(lambda: job.finished, timeout=60000)
    assert job.state is JobState.DONE, job.message
    panel = win.doc.project.find_panel(pid)[1]
    after = np.asarray(decode_png(win.doc.project.images[panel.image]).convert("RGB"))
    h, w = before.shape[:2]
    assert after.shape[0] > h and after.shape[1] > w
    y, x = (after.shape[0] - h) // 2, (after.shape[1] - w) // 2
    assert np.array_equal(after[y + 8:y + h - 8, x + 8:x + w - 8], before[8:-8, 8:-8])  # original pixels kept
    assert panel.current_variant().kind == "zoom out"
    assert (panel.placement.offset_x, panel.placement.offset_y, panel.placement.scale) == (0.0, 0.0, 1.0)
    assert win.doc.undo_stack.index() == index + 1
