"""Undo at book scale: steps keep only what changed, unchanged items are shared, the history is bounded."""

from __future__ import annotations

import copy
import gc
import subprocess
import sys
import tracemalloc
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QSettings

from app import edits, layout
from app.document import Document, ItemsCommand
from app.images import encode_png
from app.project import Placement, Rect

ROOT = Path(__file__).resolve().parent.parent


def _book_page(variants: int) -> tuple[Document, str, list[str]]:
    doc = Document()
    page_id = edits.add_page(doc, layout.PAGE_SIZES["A4"], "grid-2x3")
    png = encode_png(Image.new("RGB", (16, 16), (10, 20, 30)))
    ids = [p.id for p in doc.project.page(page_id).panels]
    for n, pid in enumerate(ids):
        edits.add_variants(doc, pid, [(png, n * 100 + k) for k in range(variants)], kind="generate",
                           prompt="a long prompt " * 20, params={"steps": 30})
    doc.undo_stack.clear()
    return doc, page_id, ids


def _bytes_per_move(variants: int, moves: int = 30) -> float:
    doc, page_id, ids = _book_page(variants)
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for i in range(moves):
            edits.move_items(doc, page_id, ids, 0.5 if i % 2 == 0 else -0.25, 0.25)
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert doc.undo_stack.count() == moves
    return (end - start) / moves


def test_move_step_is_small_and_independent_of_variant_history():
    few = _bytes_per_move(4)
    many = _bytes_per_move(40)
    assert few < 10 * 1024, few
    assert many < 1.25 * few + 512, (few, many)


def test_move_shares_unchanged_items_and_variant_history():
    doc, page_id, ids = _book_page(3)
    before = doc.project.page(page_id)
    snapshot = copy.deepcopy(before)
    edits.move_items(doc, page_id, ids[:2], 1.0, 2.0)
    after = doc.project.page(page_id)
    assert after is not before
    assert before == snapshot  # the old page was not changed in place
    assert all(a is b for a, b in zip(after.panels[2:], before.panels[2:]))
    assert after.panels[0] is not before.panels[0]
    assert after.panels[0].variants is before.panels[0].variants or \
        all(a is b for a, b in zip(after.panels[0].variants, before.panels[0].variants))
    assert after.panels[0].points == [(x + 1.0, y + 2.0) for x, y in before.panels[0].points]
    command = doc.undo_stack.command(doc.undo_stack.count() - 1)
    assert isinstance(command, ItemsCommand)
    assert set(command.after) == set(ids[:2])
    doc.undo_stack.undo()
    assert doc.project.page(page_id) == snapshot
    doc.undo_stack.redo()
    assert doc.project.page(page_id).panels[0].points == after.panels[0].points


def test_property_edits_are_item_commands_and_never_touch_the_old_objects():
    doc, page_id, ids = _book_page(2)
    bid = edits.add_balloon(doc, page_id, "speech", Rect(20, 20, 30, 15), text="Hi")
    card = edits.add_card(doc, "character", "Ann")
    start = copy.deepcopy(doc.project)
    old_page = doc.project.page(page_id)
    variant = old_page.panels[0].variants[0].id
    steps = [
        lambda: edits.set_geometry(doc, page_id, {ids[0]: Rect(15, 15, 40, 40), bid: Rect(30, 30, 20, 10)}),
        lambda: edits.update_balloon(doc, page_id, bid, text="Oh"),
        lambda: edits.set_panel_fields(doc, ids[1], prompt="rain"),
        lambda: edits.set_placement(doc, ids[1], Placement(1, 2, 1.5)),
        lambda: edits.bind_card(doc, ids[2], card, 40),
        lambda: edits.set_binding_region(doc, ids[2], card, [0, 0, 0.5, 1]),
        lambda: edits.bind_card(doc, ids[2], card, 60),
        lambda: edits.set_favourite(doc, ids[0], variant, True),
        lambda: edits.pick_variant(doc, ids[0], variant),
        lambda: edits.discard_variant(doc, ids[3], doc.project.page(page_id).panels[3].variants[0].id),
        lambda: edits.set_z_order(doc, page_id, ids[0], "front"),
        lambda: edits.unbind_card(doc, ids[2], card),
    ]
    base = doc.undo_stack.count()
    for step in steps:
        step()
        assert isinstance(doc.undo_stack.command(doc.undo_stack.count() - 1), ItemsCommand)
    assert doc.undo_stack.count() == base + len(steps)
    assert old_page == start.page(page_id)  # shared objects were never changed in place
    while doc.undo_stack.index() > base:
        doc.undo_stack.undo()
    assert doc.project == start


def test_merged_typing_keeps_the_first_old_value():
    doc, page_id, ids = _book_page(1)
    start = copy.deepcopy(doc.project)
    for text in ("a", "ab", "abc"):
        edits.set_panel_fields(doc, ids[0], merge=True, prompt=text)
    assert doc.undo_stack.count() == 1
    assert doc.project.page(page_id).panels[0].prompt == "abc"
    doc.undo_stack.undo()
    assert doc.project == start


def test_undo_limit_drops_the_oldest_steps():
    doc = Document(undo_limit=5)
    page_id = edits.add_page(doc, layout.PAGE_SIZES["A4"], "grid-2x2")
    panel = doc.project.page(page_id).panels[0].id
    for i in range(12):
        edits.set_panel_fields(doc, panel, prompt=f"p{i}")
    assert doc.undo_stack.count() == 5
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.project.page(page_id).panels[0].prompt == "p6"
    assert doc.modified  # the saved state fell off the history


def test_undo_limit_applies_on_reset_and_is_unlimited_by_default():
    doc = Document()
    assert doc.undo_stack.undoLimit() == 0
    edits.add_page(doc)
    doc.set_undo_limit(3)  # not applicable to a non-empty history ...
    assert doc.undo_stack.undoLimit() == 0
    doc.reset(doc.project)  # ... but to the next one
    assert doc.undo_stack.undoLimit() == 3


def test_undo_limit_setting(tmp_path):
    from widgets.settings import DEFAULT_UNDO_LIMIT, UNDO_LIMIT_KEY, undo_limit

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert undo_limit(settings) == DEFAULT_UNDO_LIMIT == 200
    settings.setValue(UNDO_LIMIT_KEY, 50)
    assert undo_limit(settings) == 50
    settings.setValue(UNDO_LIMIT_KEY, "lots")
    assert undo_limit(settings) == DEFAULT_UNDO_LIMIT


def test_add_pages_is_one_step_and_shares_existing_pages():
    doc = Document()
    first = edits.add_pages(doc, 3, layout.PAGE_SIZES["B5"], "grid-2x2")
    pages = list(doc.project.pages)
    more = edits.add_pages(doc, 200, template="grid-2x3")
    assert doc.undo_stack.count() == 2
    assert len(doc.project.pages) == 203 and len(set(first + more)) == 203
    assert all(a is b for a, b in zip(doc.project.pages, pages))  # not copied
    assert all(len(p.panels) == 6 and p.size_name == pages[-1].size_name for p in doc.project.pages[3:])
    doc.undo_stack.undo()
    assert doc.project.pages == pages


def test_dropping_a_document_with_a_long_history_does_not_crash():
    # Commands used to hold the document strongly; collecting that cycle crashed PySide6.
    script = (
        "import gc\n"
        "from app import edits, layout\n"
        "from app.document import Document\n"
        "for _ in range(3):\n"
        "    doc = Document()\n"
        "    page = edits.add_page(doc, layout.PAGE_SIZES['A4'], 'grid-2x3')\n"
        "    ids = [p.id for p in doc.project.page(page).panels]\n"
        "    for i in range(60):\n"
        "        edits.move_items(doc, page, ids, 0.5, 0.5)\n"
        "        edits.set_page_props(doc, page, stroke_mm=0.3 + i % 3 * 0.1)\n"
        "    doc = None\n"
        "    gc.collect()\n"
        "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0 and result.stdout.strip() == "ok", (result.returncode, result.stderr[-2000:])
