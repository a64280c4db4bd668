"""A bound character card conditions generation through FaceID found in the models folder."""

import shutil

import numpy as np
import pytest
from PIL import Image

from app import edits, layout
from app.document import Document
from app.generation.request import Overrides
from app.generation.run import prepare, run_panel_job
from app.project import Project
from engine.api import Engine
from engine.conditioning import CharacterCondition
from engine.device import DeviceOptions
from engine.jobs import JobKind
from tests.faces_tiny_models import squares_image, write_pack
from tests.helpers_conditioning import write_faceid
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

FAST = {"model": "tiny-sd", "steps": 3, "scheduler": "euler", "seed": 11, "device": "cpu"}


@pytest.fixture(scope="module")
def identity_models(tiny_models_dir, tmp_path_factory):
    from diffusers import UNet2DConditionModel

    root = tmp_path_factory.mktemp("idmodels")
    (root / "checkpoints").mkdir()
    shutil.copytree(tiny_models_dir / "checkpoints" / "tiny-sd", root / "checkpoints" / "tiny-sd")
    unet = UNet2DConditionModel.from_pretrained(root / "checkpoints" / "tiny-sd" / "unet")
    (root / "ipadapter").mkdir()
    write_faceid(root / "ipadapter" / "ip-adapter-faceid_sd15.safetensors", unet)
    write_pack(root / "insightface")
    return root


def _doc(cw):
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "splash")
    pid = doc.project.pages[0].panels[0].id
    edits.set_panel_fields(doc, pid, prompt="a portrait")
    card = edits.add_card(doc, "character", "Square", [Image.fromarray(squares_image([(5, 5)], pattern_seed=2))])
    if cw is not None:
        edits.bind_card(doc, pid, card, cw)
    return doc, pid, card


def test_bound_card_conditions_generation_with_faceid(identity_models):
    engine = Engine(identity_models, DeviceOptions(device="cpu"))
    try:
        plain_doc, plain_pid, _ = _doc(None)
        plain = prepare(plain_doc, plain_pid, Overrides.of(JobKind.GENERATE, FAST, models_dir=identity_models))
        assert not plain.request.conditioning
        plain_result, _ = run_panel_job(plain_doc, plain_pid, engine, plain)

        doc, pid, card = _doc(0)
        prepared = prepare(doc, pid, Overrides.of(JobKind.GENERATE, FAST, models_dir=identity_models))
        [cond] = [c for c in prepared.request.conditioning if isinstance(c, CharacterCondition)]
        assert cond.card_id == card and cond.cw == 0 and cond.face_embedding.shape == (512,)
        result, ids = run_panel_job(doc, pid, engine, prepared)
        assert not np.array_equal(np.asarray(result.images[0]), np.asarray(plain_result.images[0]))
        # the card's face analysis was cached in the document (both recognizers)
        ref = doc.project.card(card).references[0]
        assert {"builtin", "insightface"} <= set(ref.faces)
        # the pipeline is back to its base state: the plain job again gives the same pixels
        again, _ = run_panel_job(plain_doc, plain_pid, engine,
                                 prepare(plain_doc, plain_pid, Overrides.of(JobKind.GENERATE, FAST, models_dir=identity_models)))
        assert np.array_equal(np.asarray(again.images[0]), np.asarray(plain_result.images[0]))
        assert engine.loads == 1
    finally:
        engine.close()


def test_card_without_face_pack_gets_a_clear_note(tiny_models_dir):
    doc, pid, card = _doc(50)
    prepared = prepare(doc, pid, Overrides.of(JobKind.GENERATE, FAST, models_dir=tiny_models_dir))
    assert not any(isinstance(c, CharacterCondition) for c in prepared.request.conditioning)
    assert any("no face model pack" in n and "insightface" in n for n in prepared.notes)


def test_prompt_flags_override_weights_and_add_references(identity_models, tmp_path):
    from engine.conditioning import StyleCondition

    doc, pid, card = _doc(80)
    style = edits.add_card(doc, "style", "Ink", [Image.new("RGB", (32, 32), "black")])
    edits.bind_card(doc, pid, style, 100)
    Image.fromarray(squares_image([(6, 6)], pattern_seed=4)).save(tmp_path / "hero.png")
    Image.new("RGB", (32, 32), "red").save(tmp_path / "look.png")
    edits.set_panel_fields(doc, pid, prompt=f"a portrait --cw 0 --sw 300 --sref {tmp_path / 'look.png'}::2 "
                                            f"--oref {tmp_path / 'hero.png'}")
    prepared = prepare(doc, pid, Overrides.of(JobKind.GENERATE, FAST, models_dir=identity_models))
    chars = [c for c in prepared.request.conditioning if isinstance(c, CharacterCondition)]
    styles = [c for c in prepared.request.conditioning if isinstance(c, StyleCondition)]
    assert sorted(c.card_id for c in chars) == sorted([card, "prompt-cref"]) and all(c.cw == 0 for c in chars)
    assert sorted((s.card_id, s.sw) for s in styles) == sorted([(style, 300), ("prompt-sref", 300)])
    assert prepared.request.prompt.startswith("a portrait") and "--" not in prepared.request.prompt
    # the document keeps the bound weights: the flags apply to this request only
    assert doc.project.pages[0].panels[0].characters[0].weight == 80
    edits.set_panel_fields(doc, pid, prompt="a portrait --sref https://example.org/x.png")
    with pytest.raises(ValueError, match="works offline"):
        prepare(doc, pid, Overrides.of(JobKind.GENERATE, FAST, models_dir=identity_models))
