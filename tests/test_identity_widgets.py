"""The identity side of the window, driven for real: card editor, style presets, character regions
on the canvas, and the Consistency dock with real faces (public-domain photos from scikit-image)."""

from __future__ import annotations

import pytest
from PIL import Image, ImageOps
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from skimage import data as skdata

from app import edits, layout
from app.identity import conditions, consistency, faces as face_cache
from app.document import Document
from app.project import IdentityMethod, Project, StyleCard
from engine.prompt_flags import STYLE_PRESETS, parse_prompt
from widgets.identity.consistency_dock import STRONGER_IDENTITY
from tests.helpers_window import choose, open_window
from widgets.main_window import MainWindow


LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.fromarray(skdata.astronaut())


@pytest.fixture(scope="module")
def cameraman() -> Image.Image:
    return Image.fromarray(skdata.camera()).convert("RGB")


@pytest.fixture(scope="module")
def two_people(astronaut, cameraman) -> Image.Image:
    """Two different people side by side (the astronaut is the larger face, so face 1)."""
    out = Image.new("RGB", (1024, 512))
    out.paste(astronaut, (0, 0))
    out.paste(cameraman.resize((512, 512)), (512, 0))
    return out.resize((512, 256))


def _window(qtbot, doc: Document) -> MainWindow:
    return open_window(qtbot, doc)


@pytest.fixture
def win(qtbot, astronaut):
    project = Project(title="Identity")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "2-tier"))
    doc = Document(project)
    edits.add_card(doc, "character", "Eileen Collins", [astronaut])
    edits.add_card(doc, "character", "Bob", [Image.new("RGB", (48, 48), "gray")])
    doc.undo_stack.clear()
    window = _window(qtbot, doc)
    yield window
    window.identity.wait()
    window.doc.undo_stack.setClean()
    window.close()


def _card(win, name):
    return next(c for c in win.doc.project.characters if c.name == name)


def _settle(qtbot, win, timeout=20000):
    """Wait until background face analysis and scoring are done and their results delivered."""
    qtbot.waitUntil(lambda: not win.identity.tasks.busy, timeout=timeout)


# --- card editor -----------------------------------------------------------------------------------

def test_card_editor_edits_are_undo_steps(win, qtbot):
    card = _card(win, "Eileen Collins")
    editor = win.identity.edit_card(card.id)
    stack = win.doc.undo_stack
    _settle(qtbot, win)
    assert editor.rows[0].status.text() == "1 face"
    assert stack.count() == 0  # analysis alone adds no undo step
    editor.name.setFocus()
    editor.name.selectAll()
    QTest.keyClicks(editor.name, "Eileen C.")
    assert _card(win, "Eileen C.").id == card.id
    assert stack.count() == 1  # typing merged into one step
    editor.trigger.setFocus()
    QTest.keyClicks(editor.trigger, "eileen_c")
    editor.lora_weight.setValue(0.6)
    editor.rows[0].weight.setValue(2.0)
    editor.rows[0].weight.setValue(2.5)  # same spin box: merged
    card = win.doc.project.card(card.id)
    assert (card.trigger, card.lora_weight, card.references[0].weight) == ("eileen_c", 0.6, 2.5)
    assert face_cache.BUILTIN in card.references[0].faces  # the session's analysis went in with the edit
    assert stack.count() == 4
    stack.undo()
    assert win.doc.project.card(card.id).references[0].weight == 1.0
    assert editor.rows[0].weight.value() == 1.0  # the editor follows undo
    while stack.canUndo():
        stack.undo()
    assert editor.name.text() == "Eileen Collins" and editor.trigger.text() == ""
    editor.close()


def test_card_editor_identity_method_by_keyboard(win, qtbot):
    card = _card(win, "Bob")
    editor = win.identity.edit_card(card.id)
    combo = editor.identity_method
    assert [combo.itemText(i) for i in range(combo.count())] == ["auto", "InstantID", "FaceID", "PhotoMaker"]
    assert combo.currentText() == "auto" and card.identity_method is IdentityMethod.AUTO
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_End)
    assert win.doc.project.card(card.id).identity_method is IdentityMethod.PHOTOMAKER
    assert win.doc.undo_stack.count() == 1 and "identity method" in win.doc.undo_stack.undoText()
    QTest.keyClick(combo, Qt.Key.Key_Up)
    assert win.doc.project.card(card.id).identity_method is IdentityMethod.FACEID
    win.doc.undo_stack.undo()
    win.doc.undo_stack.undo()
    assert win.doc.project.card(card.id).identity_method is IdentityMethod.AUTO
    assert combo.currentText() == "auto"  # the editor follows undo
    editor.close()


def test_reference_with_two_faces_lets_the_user_pick(win, qtbot, two_people, tmp_path):
    card = _card(win, "Bob")
    editor = win.identity.edit_card(card.id)
    path = tmp_path / "pair.png"
    two_people.save(path)
    editor.add_images([str(path)])
    assert len(win.doc.project.card(card.id).references) == 2
    _settle(qtbot, win)
    grey, pair = editor.rows
    assert grey.status.text() == "no face"
    assert pair.status.text() == "2 faces — pick one" and pair.face_combo.isVisible()
    assert "Reference 2 shows 2 faces" in editor.notes.text()
    count = win.doc.undo_stack.count()
    picker = pair.picture
    assert len(picker.boxes) == 2 and picker.index == 0
    QTest.mouseClick(picker, LEFT, NOMOD, picker.box_rect(1).center().toPoint())
    ref = win.doc.project.card(card.id).references[1]
    assert ref.face_index == 1 and ref.faces[face_cache.BUILTIN]["count"] == 2
    assert win.doc.undo_stack.count() == count + 1
    assert pair.picture.index == 1 and pair.face_combo.currentIndex() == 1
    # the pick is what the identity uses: the second face's embedding
    embs, _, found = face_cache.card_embeddings(win.doc.project, win.doc.project.card(card.id), face_cache.BUILTIN)
    assert found[0]["bbox"] == ref.faces[face_cache.BUILTIN]["faces"][1]["bbox"]
    win.doc.undo_stack.undo()
    assert win.doc.project.card(card.id).references[1].face_index == 0 and pair.picture.index == 0
    pair.remove.click()
    assert len(win.doc.project.card(card.id).references) == 1
    editor.close()


def test_style_card_editor_and_presets(win, qtbot):
    assert {"anime", "raw", "manga-ink", "western"} <= set(STYLE_PRESETS)
    assert parse_prompt("x --niji").style == "anime" and parse_prompt("x --style raw").style == "raw"
    menu = win.cards_dock.preset_menu
    assert menu.isEmpty()  # the presets are listed when the menu first opens (no prompt flags at window start)
    menu.popup(QPoint(0, 0))
    action = next(a for a in menu.actions() if "Manga Ink" in a.text())
    action.trigger()
    menu.hide()
    card = win.doc.project.styles[-1]
    assert isinstance(card, StyleCard) and card.preset == "manga-ink" and card.references == []
    assert win.cards_dock.lists["style"].count() == 1
    item = win.cards_dock.lists["style"].item(0)
    opened = []
    win.cards_dock.editRequested.connect(opened.append)
    win.cards_dock.lists["style"].itemDoubleClicked.emit(item)
    assert opened == [card.id]
    editor = win.identity.editors[card.id]
    assert editor.preset.currentData() == "manga-ink"
    editor.prompt_suffix.setFocus()
    QTest.keyClicks(editor.prompt_suffix, "heavy blacks")
    choose(qtbot, editor.preset, data="western")
    card = win.doc.project.card(card.id)
    assert (card.prompt_suffix, card.preset) == ("heavy blacks", "western")
    win.doc.undo_stack.undo()
    assert editor.preset.currentData() == "manga-ink"
    edits.remove_card(win.doc, card.id)
    assert not editor.isVisible()  # a removed card closes its editor


# --- regions on the canvas ------------------------------------------------------------------------------

def _badge_point(win, panel_id, index):
    """Viewport point on the ``index``-th badge of a panel (left of its ×)."""
    item = win.view.page_scene.items_by_id[panel_id]
    strip = item.badges
    rect = strip._rects[index]
    device = strip.deviceTransform(win.view.viewportTransform())  # the strip ignores the zoom
    return device.map(QPointF(rect.x() + 6, rect.center().y())).toPoint()


def test_region_presets_from_badge_menu_with_overlay(win, qtbot, tmp_path):
    doc = win.doc
    panel = doc.project.pages[0].panels[0]
    a, b = _card(win, "Eileen Collins").id, _card(win, "Bob").id
    edits.bind_card(doc, panel.id, a, 50)
    edits.bind_card(doc, panel.id, b, 50)
    canvas = win.identity.canvas
    menu = canvas.badge_menu(panel.id, a)
    labels = [act.text() for act in menu.actions() if act.isCheckable()]
    assert labels == list(conditions.REGION_PRESETS)
    next(act for act in menu.actions() if act.text() == "Left half").trigger()
    count = doc.undo_stack.count()
    canvas.badge_menu(panel.id, b).actions()[identity_index("Right half")].trigger()
    assert doc.undo_stack.count() == count + 1
    panel = doc.project.find_panel(panel.id)[1]
    assert [c.region for c in panel.characters] == [[0, 0, 0.5, 1], [0.5, 0, 0.5, 1]]
    qtbot.waitUntil(lambda: canvas.overlay is not None)
    assert [r[1:] for r in canvas.overlay.regions] == [([0, 0, 0.5, 1], False), ([0.5, 0, 0.5, 1], True)]
    # clicking elsewhere hides the overlay; clicking a character badge shows that binding
    win.view.page_scene.clearSelection()
    qtbot.waitUntil(lambda: canvas.overlay is None)
    QTest.mouseClick(win.view.viewport(), LEFT, NOMOD, _badge_point(win, panel.id, 0))
    qtbot.waitUntil(lambda: canvas.overlay is not None)
    assert canvas.active == (panel.id, a) and canvas.overlay.regions[0][2]
    assert doc.project.find_panel(panel.id)[1].characters  # not unbound by the click
    doc.undo_stack.undo()
    assert doc.project.find_panel(panel.id)[1].characters[1].region is None
    # saved and reopened, the region is still there
    doc.undo_stack.redo()
    from app.project_io import load_project, save_project

    loaded = load_project(save_project(doc.project, tmp_path / "regions.comic"))
    assert [c.region for c in loaded.find_panel(panel.id)[1].characters] == [[0, 0, 0.5, 1], [0.5, 0, 0.5, 1]]


def identity_index(label: str) -> int:
    """Index of a region preset's action in the badge menu (after the section header)."""
    return list(conditions.REGION_PRESETS).index(label) + 1


# --- consistency -----------------------------------------------------------------------------------------

def test_consistency_dock_scores_flags_and_regenerates(win, qtbot, astronaut, cameraman):
    doc = win.doc
    top, bottom = doc.project.pages[0].panels_in_reading_order()[:2]
    eileen = _card(win, "Eileen Collins").id
    for panel, image in ((top, ImageOps.mirror(astronaut).resize((384, 384))), (bottom, cameraman)):
        edits.bind_card(doc, panel.id, eileen, 30)
        edits.add_variant(doc, panel.id, image, seed=1)
    dock = win.identity.dock
    dock.show()
    qtbot.waitUntil(lambda: len(dock.rows) == 2 and all(r["score"] is not None for r in dock.rows), timeout=30000)
    high, low = dock.rows
    assert (high["number"], high["panel"], low["number"], low["panel"]) == (1, top.id, 2, bottom.id)
    assert high["score"] >= consistency.IDENTITY_THRESHOLD > low["score"]
    assert not high["flagged"] and low["flagged"]
    assert dock.table.item(1, 3).text() == "flagged" and dock.table.cellWidget(0, 4) is None
    assert "1 flagged" in dock.summary.text()
    badges = win.identity.canvas.badges
    assert badges[top.id].colour.name() == "#2e7d32" and badges[bottom.id].colour.name() == "#c62828"
    assert badges[top.id].isVisible() and badges[top.id].text == f"ID {high['score']:.2f}"
    # one click asks the generation controller for a stronger identity and a new seed
    with qtbot.waitSignal(win.identity.regenerateRequested) as blocker:
        dock.table.cellWidget(1, 4).click()
    panel_id, overrides = blocker.args
    assert panel_id == bottom.id and overrides["identity_strength"] == STRONGER_IDENTITY
    assert isinstance(overrides["seed"], int)
    # ... and the window queued that job for the flagged panel (it fails here: no model installed)
    [job] = [j for j in win.generation.queue.jobs.values() if j.panel_id == bottom.id]
    assert job.seed == overrides["seed"] or job.state.value == "failed"
    # threshold spin box: 0 flags nothing
    dock.threshold.setValue(0.0)
    assert not any(r["flagged"] for r in dock.rows)
    assert badges[bottom.id].colour.name() == "#2e7d32" or qtbot.waitUntil(
        lambda: badges[bottom.id].colour.name() == "#2e7d32") is None
    dock.threshold.setValue(consistency.IDENTITY_THRESHOLD)
    # a new variant (the regenerated image) updates the table
    edits.add_variant(doc, bottom.id, astronaut.resize((320, 320)), seed=2)
    qtbot.waitUntil(lambda: len(dock.rows) == 2 and all(r["score"] is not None for r in dock.rows)
                    and not dock.rows[1]["flagged"], timeout=30000)
    assert "all consistent" in dock.summary.text()
    # scores are cached per variant: undo back to the cameraman needs no new computation
    doc.undo_stack.undo()
    dock.refresh()
    assert dock.rows[1]["flagged"] and not win.identity.tasks.busy
