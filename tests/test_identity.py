"""Character cards: cached face analysis and the consistency score on real public-domain photos."""

import copy

import pytest
from PIL import Image, ImageOps
from skimage import data as skdata

from app import edits, layout
from app.identity import consistency, faces as face_cache
from app.document import Document
from app.project import Project


@pytest.fixture(scope="module")
def astronaut():
    return Image.fromarray(skdata.astronaut())


@pytest.fixture
def doc(astronaut):
    d = Document(Project())
    edits.add_page(d, layout.PAGE_SIZES["A4"], "2-tier")
    card = edits.add_card(d, "character", "Eileen", [astronaut])
    d.card_id = card
    return d


def _panel(doc):
    return doc.project.pages[0].panels[0]


def test_reference_faces_cached_once_without_an_undo_step(doc):
    count = doc.undo_stack.count()
    notes = face_cache.cache_card_faces(doc, doc.card_id)
    assert notes == []
    assert doc.undo_stack.count() == count  # derived data: never an undo step of its own
    ref = doc.project.card(doc.card_id).references[0]
    cache = ref.faces[face_cache.BUILTIN]
    assert cache["count"] == 1 and len(cache["faces"][0]["embedding"]) == 128
    count = doc.undo_stack.count()
    face_cache.cache_card_faces(doc, doc.card_id)  # already cached: no new undo step
    assert doc.undo_stack.count() == count


def test_same_person_scores_high_other_person_low(doc, astronaut):
    panel_id = _panel(doc).id
    edits.bind_card(doc, panel_id, doc.card_id, 30)
    face_cache.cache_card_faces(doc, doc.card_id)
    same = ImageOps.mirror(astronaut).resize((384, 384))
    edits.add_variant(doc, panel_id, same, seed=1)
    [score] = consistency.panel_identity_scores(doc.project, _panel(doc))
    assert score["card"] == doc.card_id and score["score"] >= consistency.IDENTITY_THRESHOLD
    other = Image.fromarray(skdata.camera()).convert("RGB")
    edits.add_variant(doc, panel_id, other, seed=2)
    [score] = consistency.panel_identity_scores(doc.project, _panel(doc))
    assert score["score"] < consistency.IDENTITY_THRESHOLD
    assert consistency.flagged([score]) == [doc.card_id]


def test_reference_without_face_is_reported(doc):
    edits.add_references(doc, doc.card_id, [Image.new("RGB", (128, 128), "gray")])
    notes = face_cache.cache_card_faces(doc, doc.card_id)
    assert notes == ["Eileen: reference 2 shows no face"]


def test_panel_without_characters_has_no_scores(doc):
    edits.add_variant(doc, _panel(doc).id, Image.new("RGB", (64, 64), "white"))
    assert consistency.panel_identity_scores(doc.project, _panel(doc)) == []


def test_cached_analysis_marks_a_saved_document_modified(doc):
    seen = []
    doc.mark_saved()
    doc.modifiedChanged.connect(seen.append)
    doc.cardsChanged.connect(lambda: seen.append("cards"))
    key = doc.project.card(doc.card_id).references[0].image
    assert doc.cache_face_analysis({face_cache.BUILTIN: {key: {"count": 0, "faces": []}}})
    assert doc.modified and seen == [True, "cards"]
    assert not doc.cache_face_analysis({face_cache.BUILTIN: {key: {"count": 1, "faces": []}}})  # kept as it was
    assert doc.project.card(doc.card_id).references[0].faces[face_cache.BUILTIN]["count"] == 0
