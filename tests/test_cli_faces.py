"""faces / compare / swap and the identity scores in info, through the command line."""

import json

import numpy as np
import pytest
from PIL import Image, ImageOps
from skimage import data as skdata

from app import edits, layout
from app.cli import main as cli
from app.document import Document
from app.project import Project
from app.project_io import load_project, save_project
from tests.faces_tiny_models import squares_image, write_inswapper, write_pack


def run(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    astro = Image.fromarray(skdata.astronaut())
    astro.save(root / "astronaut.png")
    ImageOps.mirror(astro).resize((300, 300)).save(root / "astronaut_flip.png")
    Image.fromarray(skdata.camera()).convert("RGB").save(root / "cameraman.png")
    Image.new("RGB", (64, 64), "gray").save(root / "blank.png")
    return root


def test_faces_with_builtin_recognizer(photos, capsys):
    code, out, err = run(["faces", photos / "astronaut.png"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["status"] == "one_face" and report["backend"] and len(report["faces"][0]["kps"]) == 5
    assert report["faces"][0]["embedding_dim"] == 128
    code, out, _ = run(["faces", photos / "blank.png"], capsys)
    assert json.loads(out)["status"] == "no_face"


def test_faces_uses_insightface_pack_when_present(tmp_path, capsys):
    write_pack(tmp_path)
    Image.fromarray(squares_image([(3, 3), (12, 8)])).save(tmp_path / "two.png")
    code, out, err = run(["faces", tmp_path / "two.png", "--models", tmp_path], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["status"] == "several_faces" and report["faces"][0]["embedding_dim"] == 512


def test_compare_same_and_different_person(photos, capsys):
    code, out, _ = run(["compare", photos / "astronaut.png", photos / "astronaut_flip.png"], capsys)
    same = json.loads(out)
    code, out, _ = run(["compare", photos / "astronaut.png", photos / "cameraman.png"], capsys)
    other = json.loads(out)
    assert same["score"] > same["threshold"] > other["score"]
    code, _, err = run(["compare", photos / "astronaut.png", photos / "missing.png"], capsys)
    assert code == 2 and err.startswith("error: image") and err.count("\n") == 1


def test_info_reports_identity_per_panel(photos, tmp_path, capsys):
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "2-tier")
    card = edits.add_card(doc, "character", "Eileen", [Image.open(photos / "astronaut.png")])
    first, second = [p.id for p in doc.project.pages[0].panels]
    edits.bind_card(doc, first, card, 0)
    edits.add_variant(doc, first, Image.open(photos / "astronaut_flip.png"))
    edits.add_variant(doc, second, Image.open(photos / "cameraman.png"))  # no character bound
    path = tmp_path / "b.comic"
    save_project(doc.project, path)
    code, out, err = run(["info", path], capsys)
    assert code == 0, err
    panels = json.loads(out)["pages"][0]["panels"]
    [score] = panels[0]["identity"]
    assert score["card"] == card and score["score"] > 0.5
    assert "identity" not in panels[1]


def test_swap_puts_card_face_into_panel(tmp_path, capsys):
    models = tmp_path / "models"
    write_pack(models)
    write_inswapper(models / "inswapper_128.onnx")
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "splash")
    card = edits.add_card(doc, "character", "Square", [Image.fromarray(squares_image([(4, 4)], pattern_seed=1))])
    pid = doc.project.pages[0].panels[0].id
    target = squares_image([(10, 10)])
    edits.add_variant(doc, pid, Image.fromarray(target))
    path = tmp_path / "b.comic"
    save_project(doc.project, path)
    code, out, err = run(["swap", path, "--panel", pid, "--card", card, "--models", models, "--cpu"], capsys)
    assert code == 0, err
    project = load_project(path)
    panel = project.pages[0].panels[0]
    assert panel.current_variant().kind == "swap" and len(panel.variants) == 2
    from app.images import decode_png
    after = np.asarray(decode_png(project.images[panel.image]).convert("RGB")).astype(int)
    changed = np.abs(after - target).max(-1) > 0
    assert changed[320:352, 320:352].any() and not changed[:200, :200].any()
    # the card's face analysis is cached in the project for next time
    assert "insightface" in project.card(card).references[0].faces
    code, _, err = run(["swap", path, "--panel", pid, "--card", card, "--models", tmp_path / "empty", "--cpu"], capsys)
    assert code == 2 and "inswapper" in err and err.count("\n") == 1
