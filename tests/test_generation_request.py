"""build_request is pure: it reads cached face analysis and analyses nothing; needed_analysis says what is missing."""

import pytest
from PIL import Image

from app import edits, layout
from app.document import Document
from app.generation.request import Overrides, build_request, choose_model, needed_analysis, with_analysis
from app.identity import faces as face_cache
from app.project import Project
from engine import faces as face_api
from engine.conditioning import CharacterCondition
from engine.jobs import EngineError, JobKind
from tests.faces_tiny_models import squares_image, write_pack


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    write_pack(root / "insightface")
    return root


def _no_analysis(*args, **kwargs):
    raise AssertionError("face analysis while building a request")


def test_build_request_analyses_nothing_and_asks_for_what_is_missing(pack_dir, tmp_path, monkeypatch):
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "splash")
    pid = doc.project.pages[0].panels[0].id
    card = edits.add_card(doc, "character", "Ann", [Image.fromarray(squares_image([(5, 5)], pattern_seed=2))])
    edits.bind_card(doc, pid, card, 50)
    Image.fromarray(squares_image([(6, 6)], pattern_seed=4)).save(tmp_path / "hero.png")
    edits.set_panel_fields(doc, pid, prompt="a portrait --cref hero.png")
    overrides = Overrides.of(JobKind.GENERATE, {"model": "any"}, models_dir=pack_dir, project_dir=tmp_path)
    panel = doc.project.find_panel(pid)[1]
    [key] = [r.image for r in doc.project.card(card).references]

    monkeypatch.setattr(face_api, "analyze", _no_analysis)
    needed = needed_analysis(doc.project, panel, overrides)
    assert set(needed[face_cache.INSIGHTFACE]) == {key, "hero.png"} and set(needed[face_cache.BUILTIN]) == {key}
    with pytest.raises(EngineError, match="not analysed"):
        build_request(doc.project, panel, overrides)

    monkeypatch.undo()
    found = face_cache.analyze_backends(needed, pack_dir)
    steps = doc.undo_stack.count()
    assert doc.cache_face_analysis(found)
    assert doc.undo_stack.count() == steps and doc.modified  # derived data: no undo step, but saved
    monkeypatch.setattr(face_api, "analyze", _no_analysis)
    panel = doc.project.find_panel(pid)[1]
    with pytest.raises(EngineError, match="--cref image hero.png has not been analysed"):
        build_request(doc.project, panel, overrides)  # the card is analysed now, the --cref image is not
    analysed = with_analysis(overrides, found)
    assert needed_analysis(doc.project, panel, analysed) == {}
    prepared = build_request(doc.project, panel, analysed)
    chars = [c for c in prepared.request.conditioning if isinstance(c, CharacterCondition)]
    assert sorted(c.card_id for c in chars) == sorted([card, "prompt-cref"])
    assert not hasattr(prepared.request, "panel_id")


def test_one_model_choice_error_for_window_and_command_line():
    from types import SimpleNamespace

    registry = SimpleNamespace(models=lambda kinds: [SimpleNamespace(name="b", path="b"),
                                                     SimpleNamespace(name="a", path="a")])
    with pytest.raises(EngineError, match=r"several models are installed \(a, b\): choose one with --model NAME "
                                          r"or in Edit ▸ Preferences"):
        choose_model(Project(), registry, None)
    assert choose_model(Project(settings={"model": "m"}), registry, None) == "m"
    assert choose_model(Project(settings={"model": "m"}), registry, "x") == "x"
