"""A document's saves encode only the pages its edits replaced (``Document.page_encodings``), and what
they write is exactly what encoding the whole document would write."""

from __future__ import annotations

import json
import random

from app import edits, layout, manifest
from app.document import Document
from app.project import Balloon, BalloonKind, Page, Rect
from app.project_io import load_project, save_project, snapshot
from tests.helpers_project import random_op, solid_png


def _count_page_encodes(monkeypatch) -> list[str]:
    """The ids of the pages ``manifest.encode`` is asked to encode from now on."""
    seen: list[str] = []
    real = manifest.encode

    def counting(obj):
        if isinstance(obj, Page):
            seen.append(obj.id)
        return real(obj)
    monkeypatch.setattr(manifest, "encode", counting)
    return seen


def _book(pages: int = 6) -> Document:
    doc = Document()
    for page_id in edits.add_pages(doc, pages, layout.PAGE_SIZES["A4"], "grid-2x2"):
        page = doc.project.page(page_id)
        edits.add_variant(doc, page.panels[0].id, solid_png((10 * len(doc.project.images), 90, 30)))
        edits.add_balloon(doc, page_id, BalloonKind.SPEECH, Rect(20, 20, 40, 20), text="Hi!")
    return doc


def test_a_save_after_one_edit_encodes_only_the_page_it_changed(tmp_path, monkeypatch):
    doc = _book()
    path = tmp_path / "book.comic"
    save_project(doc.project, path, encodings=doc.page_encodings)
    seen = _count_page_encodes(monkeypatch)
    page = doc.project.pages[3]
    edits.move_items(doc, page.id, [page.balloons[0].id], 3.0, 2.0)
    snap = snapshot(doc.project, path, encodings=doc.page_encodings)
    assert seen == []  # taking the snapshot (the GUI thread's part) encodes no page
    snap.write()
    assert seen == [page.id]
    moved = doc.project.pages[3].balloons[0].rect
    assert load_project(path).pages[3].balloons[0].rect == moved

    seen.clear()
    doc.undo_stack.undo()  # the old page object comes back: encoded again, as it is now
    save_project(doc.project, path, encodings=doc.page_encodings)
    assert seen == [page.id]
    assert load_project(path).pages[3].balloons[0].rect == Rect(20, 20, 40, 20)


def test_saves_with_encodings_write_what_a_whole_encoding_writes(tmp_path):
    """Random edits, undos and redos between saves: every save's manifest equals the manifest
    of the whole document encoded afresh (no page is ever saved as it was before an edit)."""
    rng = random.Random(11)
    doc = _book(3)
    path = tmp_path / "book.comic"
    for step in range(40):
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.2 and doc.undo_stack.canUndo():
                doc.undo_stack.undo()
            elif rng.random() < 0.1 and doc.undo_stack.canRedo():
                doc.undo_stack.redo()
            else:
                random_op(doc, rng)
        snap = snapshot(doc.project, path, encodings=doc.page_encodings, thumbnail=step % 2 == 0)
        written = json.loads(snap.manifest)
        assert written == json.loads(json.dumps(manifest.project_to_manifest(doc.project))), step
        snap.write()
    assert manifest.project_to_manifest(load_project(path)) == manifest.project_to_manifest(doc.project)


def test_a_refused_page_is_refused_with_encodings_too(tmp_path):
    """The checks of a page that fails them are not skipped because other pages were encoded."""
    doc = _book(2)
    path = tmp_path / "book.comic"
    save_project(doc.project, path, encodings=doc.page_encodings)
    doc.project.pages = [*doc.project.pages]
    bad = doc.project.pages[1]
    doc.project.pages[1] = Page(id=bad.id, width_mm=bad.width_mm, height_mm=bad.height_mm, panels=bad.panels,
                                balloons=[Balloon(id="b2", kind=BalloonKind.SPEECH, rect=Rect(20, 20, 40, 20),
                                                  font_size=900)])
    snap = snapshot(doc.project, path, encodings=doc.page_encodings)
    try:
        snap.write()
    except Exception as exc:  # noqa: BLE001 - the type is checked below
        assert type(exc).__name__ == "ProjectSaveError" and "font_size" in str(exc)
    else:
        raise AssertionError("a page with an out-of-range font size was saved")
