"""Two characters in one panel: binding regions (edit, save/load, masks), and identity strength."""

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from app import edits, layout
from app.identity import conditions
from app.document import Document
from app.generation.request import Overrides
from app.generation.run import prepare
from app.project import Project
from app.project_io import load_project, save_project
from engine.conditioning import CharacterCondition
from engine.jobs import JobKind
from tests.faces_tiny_models import squares_image, write_pack


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    write_pack(root / "insightface")
    return root


def _doc():
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "2-tier")
    pid = doc.project.pages[0].panels[0].id  # a wide panel
    a = edits.add_card(doc, "character", "Ann", [Image.fromarray(squares_image([(5, 5)], pattern_seed=2))])
    b = edits.add_card(doc, "character", "Bob", [Image.fromarray(squares_image([(9, 9)], pattern_seed=3))])
    edits.bind_card(doc, pid, a, 0)
    edits.bind_card(doc, pid, b, 0)
    return doc, pid, a, b


def _panel(doc, pid):
    return doc.project.find_panel(pid)[1]


def test_region_presets_are_undo_steps_and_round_trip(tmp_path):
    doc, pid, a, b = _doc()
    count = doc.undo_stack.count()
    edits.set_binding_region(doc, pid, a, conditions.REGION_PRESETS["Left half"])
    edits.set_binding_region(doc, pid, b, conditions.REGION_PRESETS["Right half"])
    assert doc.undo_stack.count() == count + 2
    assert [c.region for c in _panel(doc, pid).characters] == [[0, 0, 0.5, 1], [0.5, 0, 0.5, 1]]
    doc.undo_stack.undo()
    assert _panel(doc, pid).characters[1].region is None
    doc.undo_stack.redo()
    with pytest.raises(ValueError):
        edits.set_binding_region(doc, pid, a, [0.8, 0, 0.5, 1])
    path = save_project(doc.project, tmp_path / "two.comic")
    loaded = load_project(path)
    assert loaded == doc.project
    assert [c.region for c in loaded.find_panel(pid)[1].characters] == [[0, 0, 0.5, 1], [0.5, 0, 0.5, 1]]


def test_old_file_without_region_still_loads(tmp_path):
    doc, pid, a, _ = _doc()
    path = save_project(doc.project, tmp_path / "old.comic")
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    name = next(n for n in entries if n.endswith(".json") and b'"characters"' in entries[n])
    data = json.loads(entries[name])
    for page in data["pages"]:
        for panel in page["panels"]:
            for binding in panel["characters"]:
                assert binding.pop("region") is None
    entries[name] = json.dumps(data).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, blob in entries.items():
            z.writestr(n, blob)
    loaded = load_project(path)
    assert [c.region for c in loaded.find_panel(pid)[1].characters] == [None, None]


def test_regions_reach_character_conditions_without_overlap(pack_dir):
    doc, pid, a, b = _doc()
    # no regions: the two characters get the panel halves (wide panel: left/right)
    conds, notes = conditions.character_conditions(doc.project, _panel(doc, pid), pack_dir)
    assert notes == [] and len(conds) == 2
    m = [np.asarray(c.region) > 127 for c in conds]
    assert m[0].shape == (conditions.mask_size(_panel(doc, pid))[1], conditions.MASK_LONG_SIDE)
    assert not (m[0] & m[1]).any() and (m[0] | m[1]).all()
    assert m[0][:, 0].all() and m[1][:, -1].all()
    # top/bottom presets, with an overlap the engine's rule splits
    edits.set_binding_region(doc, pid, a, conditions.REGION_PRESETS["Top half"])
    edits.set_binding_region(doc, pid, b, [0.0, 0.4, 1.0, 0.6])
    conds, _ = conditions.character_conditions(doc.project, _panel(doc, pid), pack_dir, size=(200, 100))
    m = [np.asarray(c.region) > 127 for c in conds]
    assert m[0].shape == (100, 200) and not (m[0] & m[1]).any()
    assert m[0][0].all() and m[1][-1].all() and not m[0][-1].any()


def test_prepare_carries_regions_and_identity_strength(pack_dir):
    doc, pid, a, b = _doc()
    edits.set_binding_region(doc, pid, b, conditions.REGION_PRESETS["Right half"])
    prepared = prepare(doc, pid, Overrides.of(JobKind.GENERATE, {"model": "any", "identity_strength": 1.25, "seed": 5},
                                              models_dir=pack_dir))
    conds = [c for c in prepared.request.conditioning if isinstance(c, CharacterCondition)]
    assert [c.card_id for c in conds] == [a, b]
    assert all(c.identity_strength == 1.25 for c in conds)
    assert prepared.request.seed == 5 and not hasattr(prepared.request, "identity_strength")
    right = np.asarray(conds[1].region) > 127
    w = right.shape[1]
    assert right[:, w // 2 + 2:].all() and not right[:, : w // 2 - 2].any()
    plain = prepare(doc, pid, Overrides.of(JobKind.GENERATE, {"model": "any"}, models_dir=pack_dir))
    assert all(c.identity_strength == 1.0 for c in plain.request.conditioning if isinstance(c, CharacterCondition))
