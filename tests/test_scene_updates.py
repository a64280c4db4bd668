"""The canvas after an edit: only the items the edit changed are touched; the others stay as they are."""

from __future__ import annotations

import copy

from PIL import Image

from app import edits
from app.document import Document
from app.layout import PAGE_SIZES
from app.project import Project, Rect
from widgets.canvas.balloon_item import BalloonItem
from widgets.canvas.panel_item import PanelItem
from widgets.canvas.scene import PageScene


def _scene(qtbot) -> tuple[Document, PageScene]:
    doc = Document()
    page = edits.add_page(doc, PAGE_SIZES["A4"], "grid-2x2")
    for n, panel in enumerate(doc.project.page(page).panels):
        edits.add_variant(doc, panel.id, Image.new("RGB", (64, 48), (40 * n, 90, 200)))
    edits.add_balloon(doc, page, "speech", Rect(20, 20, 40, 20), "Hello")
    scene = PageScene(doc)
    scene.set_page(page)
    return doc, scene


def _items(scene: PageScene) -> dict[str, object]:
    return dict(scene.items_by_id)


def _repainted(scene: PageScene, monkeypatch) -> list[str]:
    """Ids of the items whose model was set again (their cached picture is redrawn)."""
    calls: list[str] = []
    for cls, name in ((PanelItem, "set_panel"), (BalloonItem, "set_balloon")):
        real = getattr(cls, name)

        def spy(self, *a, _real=real, **k):
            calls.append(self.item_id)
            return _real(self, *a, **k)
        monkeypatch.setattr(cls, name, spy)
    return calls


def test_a_balloon_added_or_removed_leaves_the_panel_items(qtbot, monkeypatch):
    doc, scene = _scene(qtbot)
    page = doc.project.pages[0]
    before = _items(scene)
    page_item = scene.page_item
    touched = _repainted(scene, monkeypatch)
    new = edits.add_balloon(doc, page.id, "speech", Rect(60, 60, 40, 20), "Again")  # the page's item set changes
    after = _items(scene)
    assert all(after[i] is before[i] for i in before) and isinstance(after[new], BalloonItem)
    assert scene.page_item is page_item and touched == [new]  # only the new balloon was drawn
    assert len([i for i in scene.items() if isinstance(i, BalloonItem)]) == 2
    doc.undo_stack.undo()
    assert _items(scene) == before and all(_items(scene)[i] is before[i] for i in before)
    assert new not in scene.items_by_id and len([i for i in scene.items() if isinstance(i, BalloonItem)]) == 1


def test_one_panel_changed_touches_only_that_item(qtbot, monkeypatch):
    doc, scene = _scene(qtbot)
    page = doc.project.pages[0]
    before = _items(scene)
    touched = _repainted(scene, monkeypatch)
    panel = page.panels[2]
    edits.add_variant(doc, panel.id, Image.new("RGB", (64, 48), "red"))
    assert touched == [panel.id]
    balloon = doc.project.pages[0].balloons[0]
    touched.clear()
    edits.move_items(doc, page.id, [balloon.id], 3.0, 2.0)
    assert touched == [balloon.id]
    touched.clear()
    edits.delete_items(doc, page.id, [page.panels[0].id])  # the page's item set changes
    after = _items(scene)
    assert page.panels[0].id not in after and touched == []
    assert all(after[i] is before[i] for i in after)


def test_a_new_document_rebuilds_the_scene(qtbot):
    doc, scene = _scene(qtbot)
    before = _items(scene)
    project = Project(pages=[copy.deepcopy(p) for p in doc.project.pages], images=dict(doc.project.images))
    doc.reset(project)
    after = _items(scene)
    assert set(after) == set(before) and not any(after[i] is before[i] for i in after)
    assert all(item.project is project for item in after.values() if isinstance(item, PanelItem))
