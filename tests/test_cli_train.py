"""sheet and train through the command line: a sheet page, then a LoRA the card uses when bound."""

import json

import pytest
from PIL import Image
from skimage import data as skdata

from app import edits, layout
from app.cli import main as cli
from app.document import Document
from app.project import Project
from app.project_io import load_project, save_project
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)


def run(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path):
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "splash")
    refs = [Image.fromarray(skdata.astronaut()).resize((64, 64)), Image.fromarray(skdata.chelsea()).resize((64, 64))]
    card = edits.add_card(doc, "character", "Mira Vale", refs, description="a woman in an orange suit")
    style = edits.add_card(doc, "style", "Ink", [Image.new("RGB", (16, 16))])
    path = tmp_path / "book.comic"
    save_project(doc.project, path)
    return path, card, style


def test_sheet_adds_a_page_of_views(project, capsys):
    path, card, style = project
    code, out, err = run(["sheet", path, "--card", card, "--seed", "3"], capsys)
    assert code == 0, err
    result = json.loads(out)
    loaded = load_project(path)
    page = loaded.pages[result["number"] - 1]
    assert len(loaded.pages) == 2 and page.id == result["page"]
    views = [t["view"] for t in result["tiles"]]
    assert "body-front" in views and "head-profile" in views and len(views) == len(page.panels) >= 8
    assert all(any(b.card == card for b in p.characters) for p in page.panels)
    code, _, err = run(["sheet", path, "--card", style], capsys)
    assert code == 2 and "style card" in err


def test_train_writes_lora_beside_project_and_card_uses_it(project, tiny_models_dir, capsys):
    path, card, _ = project
    code, out, err = run(["train", path, "--card", card, "--steps", "3", "--rank", "4", "--resolution", "64",
                          "--models", tiny_models_dir, "--model", "tiny-sd", "--device", "cpu", "--quiet"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["steps"] == 3 and "fewer than 8" in " ".join(result["warnings"] + [err])
    loaded = load_project(path)
    c = loaded.card(card)
    assert c.lora and (path.parent / c.lora).is_file() and c.trigger
    # a bound card's LoRA and trigger word go into the generation request
    from app.generation.request import Overrides
    from app.generation.run import prepare
    from engine.jobs import JobKind, LoraConditioning
    doc = Document(loaded, path)
    pid = loaded.pages[0].panels[0].id
    edits.bind_card(doc, pid, card, 50)
    prepared = prepare(doc, pid, Overrides.of(JobKind.GENERATE, {"model": "tiny-sd"}, models_dir=tiny_models_dir))
    assert c.trigger in prepared.request.prompt
    assert any(isinstance(x, LoraConditioning) and x.model.endswith(".safetensors") for x in prepared.request.conditioning)
