"""Every number from the command line or a project file is range-checked with one clear line
(NaN and infinity included), and a bad scheduler is refused before any model loads."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from app import edits, layout
from app.cli import main as cli
from app.document import Document
from app.project import Project
from app.project_io import ProjectFileError, load_project, save_project
from engine.jobs import EngineError, GenerationRequest
from tests.helpers_project import rewrite_manifest


@pytest.fixture
def book(tmp_path):
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "2-tier")
    for panel in doc.project.pages[0].panels:
        edits.set_panel_fields(doc, panel.id, prompt="a lighthouse")
    edits.add_card(doc, "character", "Mira", [Image.new("RGB", (32, 32), (200, 100, 50))])
    path = tmp_path / "book.comic"
    save_project(doc.project, path)
    return path


def _run(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("option, value", [
    ("--guidance", "nan"), ("--guidance", "inf"), ("--guidance", "-1"), ("--guidance", "1e9"),
    ("--amount", "nan"), ("--zoom-out", "inf"), ("--steps", "0"), ("--seed", "-1"),
])
def test_out_of_range_numbers_are_refused_with_one_line(book, capsys, option, value):
    command = "pan" if option in ("--amount", "--zoom-out") else "generate"
    args = ["--direction", "left"] if option == "--amount" else []
    panel = load_project(book).pages[0].panels[0].id
    before = book.read_bytes()
    code, _, err = _run(capsys, command, book, "--panel", panel, *args, option, value)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:") and option in lines[0], err
    assert len(lines[0]) < 300
    assert book.read_bytes() == before


def test_lr_out_of_range_is_refused(book, capsys):
    card = load_project(book).characters[0].id
    code, _, err = _run(capsys, "train", book, "--card", card, "--lr", "nan")
    assert code == 2 and "--lr" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("field, value, fragment", [
    ("guidance", float("nan"), "guidance"), ("guidance", float("inf"), "guidance"), ("scheduler", "nope", "scheduler"),
    ("seed", -5, "seed"), ("feather_px", 10**9, "feather"), ("scale", float("nan"), "upscale factor"),
])
def test_requests_are_validated_before_any_model_loads(field, value, fragment):
    request = GenerationRequest(model="anything", **{field: value})
    with pytest.raises(EngineError) as info:
        request.validate()
    assert fragment in str(info.value)


def test_a_projects_unknown_scheduler_fails_fast_and_cleanly(book, capsys, tmp_path):
    path = rewrite_manifest(book, tmp_path / "sched.comic",
                            lambda m: m.setdefault("settings", {}).update(scheduler="nope", model="tiny-sd"))
    panel = load_project(path).pages[0].panels[0].id
    started = time.monotonic()
    code, _, err = _run(capsys, "generate", path, "--panel", panel, "--models", tmp_path / "no-models")
    assert code == 2 and "scheduler" in err and len(err.strip().splitlines()) == 1, err
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("change, fragment", [
    (lambda m: m["characters"][0]["references"][0].__setitem__("face_index", -3), "face index"),
    (lambda m: m["characters"][0]["references"][0].__setitem__("face_index", 10**9), "face index"),
    (lambda m: m["characters"][0]["references"][0].__setitem__("weight", -2.5), "weight"),
    (lambda m: m["characters"][0].__setitem__("lora_weight", 1e6), "LoRA weight"),
    (lambda m: m["characters"][0].__setitem__("lora_weight", float("nan")), "not valid JSON"),
])
def test_hostile_card_numbers_are_refused_at_load(book, tmp_path, change, fragment):
    path = rewrite_manifest(book, tmp_path / "hostile.comic", change)
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)
