"""Character sheet pages and "add tiles to card" (plain document logic, no torch)."""
from __future__ import annotations

import hashlib

from PIL import Image

from app import edits, sheet
from app.document import Document
from app.images import image_key, encode_png
from app.project import CharacterCard

import pytest


@pytest.fixture(autouse=True)
def _qt(qapp):
    """Documents hold a QUndoStack: keep a QApplication alive for them."""
    yield


def _doc_with_card() -> tuple[Document, str]:
    doc = Document()
    edits.add_page(doc)
    card_id = edits.add_card(doc, "character", "Mira", [Image.new("RGB", (32, 32), (200, 10, 10))],
                             description="a young woman with short red hair and a green coat", trigger="psmira")
    doc.undo_stack.clear()
    return doc, card_id


def test_sheet_page_has_one_tile_per_view_with_prompts_seeds_and_bindings():
    doc, card_id = _doc_with_card()
    page_id = sheet.create_sheet_page(doc, card_id, seed=1234)
    page = doc.project.page(page_id)
    assert len(doc.project.pages) == 2 and doc.project.pages[-1].id == page_id
    assert len(page.panels) == len(sheet.SHEET_VIEWS)
    by_view = sheet.sheet_panels(page)
    assert sorted(v.key for v in by_view.values()) == sorted(v.key for v in sheet.SHEET_VIEWS)
    seeds = set()
    for panel in page.panels:
        view = by_view[panel.id]
        assert panel.prompt.startswith("psmira, a young woman with short red hair")
        assert view.prompt in panel.prompt and "neutral" in panel.prompt and "background" in panel.prompt
        assert panel.seed == sheet.tile_seed(1234, view)
        assert panel.negative_prompt == sheet.SHEET_NEGATIVE
        assert [(b.card, b.weight) for b in panel.characters] == [(card_id, view.cw)]
        seeds.add(panel.seed)
        assert panel.bbox.x >= page.safe_rect.x - 1e-6 and panel.bbox.right <= page.safe_rect.right + 1e-6
    assert len(seeds) == len(page.panels)  # every tile its own seed
    keys = {v.key for v in sheet.SHEET_VIEWS}
    assert {"body-front", "body-three-quarter", "body-profile", "body-back"} <= keys
    assert {"expr-neutral", "expr-happy", "expr-angry", "expr-surprised"} <= keys
    # full-body tiles are portrait-shaped; expressions get a lower cw than turnarounds
    body = [p for p in page.panels if by_view[p.id].row == 0]
    assert all(p.bbox.h > p.bbox.w for p in body)
    cw = {v.key: v.cw for v in sheet.SHEET_VIEWS}
    assert cw["expr-happy"] < cw["head-front"] <= cw["body-front"]
    # no two tiles overlap
    rects = [p.bbox for p in page.panels]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a.right <= b.x + 1e-6 or b.right <= a.x + 1e-6 or a.bottom <= b.y + 1e-6 or b.bottom <= a.y + 1e-6


def test_sheet_is_one_undo_step():
    doc, card_id = _doc_with_card()
    before = [p.id for p in doc.project.pages]
    sheet.create_sheet_page(doc, card_id, size="B5", seed=1)
    assert doc.undo_stack.count() == 1
    assert doc.project.pages[-1].size_name == "B5"
    doc.undo_stack.undo()
    assert [p.id for p in doc.project.pages] == before
    doc.undo_stack.redo()
    assert len(doc.project.pages[-1].panels) == len(sheet.SHEET_VIEWS)


def test_sheet_needs_a_character_card():
    doc, _ = _doc_with_card()
    style = edits.add_card(doc, "style", "Ink")
    try:
        sheet.create_sheet_page(doc, style)
    except ValueError as exc:
        assert "character" in str(exc)
    else:
        raise AssertionError("a style card made a sheet")
    assert len(doc.project.pages) == 1


def test_add_tiles_to_card_adds_their_images_as_references_and_training_tags():
    doc, card_id = _doc_with_card()
    page_id = sheet.create_sheet_page(doc, card_id, seed=5)
    panels = doc.project.page(page_id).panels
    tiles = {}
    for i, panel in enumerate(panels[:3]):
        img = Image.new("RGB", (48, 64), (i * 60, 100, 200))
        edits.add_variant(doc, panel.id, img, seed=panel.seed, prompt=panel.prompt)
        tiles[panel.id] = image_key(encode_png(img))
    card = doc.project.card(card_id)
    assert isinstance(card, CharacterCard) and len(card.references) == 1
    depth = doc.undo_stack.count()
    added = sheet.add_tiles_to_card(doc, card_id, [panels[0].id, panels[2].id, panels[5].id])  # 5 has no image
    assert added == 2 and doc.undo_stack.count() == depth + 1
    refs = [r.image for r in doc.project.card(card_id).references]
    assert refs[1:] == [tiles[panels[0].id], tiles[panels[2].id]]
    assert sheet.add_tiles_to_card(doc, card_id, [panels[0].id]) == 0  # already a reference
    images, tags = sheet.training_set(doc, card_id)
    views = sheet.sheet_panels(doc.project.page(page_id))
    assert len(images) == 3 and images[1].size == (48, 64)
    assert tags == [(), views[panels[0].id].tags, views[panels[2].id].tags]
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert len(doc.project.card(card_id).references) == 1
    try:
        sheet.add_tiles_to_card(doc, card_id, [panels[6].id])
    except ValueError as exc:
        assert "generate" in str(exc)
    else:
        raise AssertionError("tiles without images were added")


def test_card_training_request_and_attach_lora(tmp_path):
    doc, card_id = _doc_with_card()
    page_id = sheet.create_sheet_page(doc, card_id, seed=9)
    panel = doc.project.page(page_id).panels[1]
    edits.add_variant(doc, panel.id, Image.new("RGB", (40, 40), (1, 2, 3)))
    sheet.add_tiles_to_card(doc, card_id, [panel.id])
    try:
        sheet.card_training_request(doc, card_id, "base")
    except ValueError as exc:
        assert "save the project" in str(exc)
    doc.path = tmp_path / "book.panelsmith"
    req = sheet.card_training_request(doc, card_id, "base-model", steps=50, rank=4)
    view = sheet.view_of(panel)
    assert len(req.images) == 2 and (req.steps, req.rank) == (50, 4)
    assert req.captions[0] == "psmira, a young woman with short red hair and a green coat"
    assert req.captions[1] == req.captions[0] + ", " + ", ".join(view.tags)
    lora_name = f"mira-{hashlib.sha256(card_id.encode()).hexdigest()[:12]}.safetensors"
    assert req.output == str(tmp_path / "loras" / lora_name)
    assert "usual count" in req.validate()[0]
    edits.attach_lora(doc, card_id, req.output, weight=0.7)
    card = doc.project.card(card_id)
    assert (card.lora, card.lora_weight) == (f"loras/{lora_name}", 0.7)
    doc.undo_stack.undo()
    assert doc.project.card(card_id).lora is None
