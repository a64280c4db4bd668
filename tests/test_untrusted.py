"""A project file is untrusted input: its ids, names and paths never steer where the app reads or writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from app import edits, sheet
from app.document import Document
from app.layout import PAGE_SIZES
from app.project import CharacterCard, Project
from tests.helpers_project import solid_png


def _doc_with_hostile_card(folder: Path, card_id: str, name: str) -> Document:
    folder.mkdir(parents=True, exist_ok=True)
    doc = Document(Project(), folder / "book.comic")
    edits.add_page(doc, PAGE_SIZES["A4"], "grid-2x2")
    card = edits.add_card(doc, "character", name, [solid_png((10, 200, 10))])
    doc.project.characters[0] = CharacterCard(card_id, name, references=doc.project.card(card).references)
    return doc


@pytest.mark.parametrize("card_id, name", [
    ("../../../outside/evil", "Mira"),
    ("/tmp/absolute", "../../x"),
    ("a/b\\c", "名前 with / slashes .."),
])
def test_lora_path_never_contains_project_strings(tmp_path, card_id, name):
    doc = _doc_with_hostile_card(tmp_path / "project", card_id, name)
    path = sheet.default_lora_path(doc, card_id)
    loras = (tmp_path / "project" / "loras").resolve()
    assert path.resolve().parent == loras
    assert "/" not in path.name and "\\" not in path.name and ".." not in path.name
    digest = hashlib.sha256(card_id.encode()).hexdigest()[:12]
    assert path.name.endswith(f"-{digest}.safetensors")
    request = sheet.card_training_request(doc, card_id, "base-model")
    assert Path(request.output).resolve().parent == loras
    assert Path(request.resolved("sd15").checkpoint_dir).resolve().parent == loras


# --- text that cannot be saved, absurd counts, the saver's own limits --------------------------------

from app import limits, project_io  # noqa: E402
from app.project import Page, Panel, ReadingOrder, Rect  # noqa: E402
from app.project_io import ProjectFileError, ProjectSaveError, load_project, save_project  # noqa: E402
from tests.helpers_project import rewrite_manifest  # noqa: E402


def _saved(tmp_path: Path) -> tuple[Document, Path]:
    doc = Document()
    page = edits.add_page(doc, PAGE_SIZES["A4"], "grid-2x2")
    edits.add_variant(doc, doc.project.page(page).panels[0].id, solid_png((200, 30, 30)), seed=7)
    edits.add_card(doc, "character", "Ann", [solid_png((10, 200, 10))])
    path = save_project(doc.project, tmp_path / "book.comic", thumbnail=False)
    return doc, path


@pytest.mark.parametrize("change", [
    lambda m: m.__setitem__("title", "bad \ud800 title"),
    lambda m: m["pages"][0]["panels"][0].__setitem__("prompt", "\udfff"),
    lambda m: m.__setitem__("settings", {"\ud83d": 1}),
    lambda m: m["pages"][0]["panels"][0]["variants"][0]["params"].__setitem__("note", ["x\udc80"]),
])
def test_lone_surrogate_is_refused_at_load_with_one_line(tmp_path, change):
    _, good = _saved(tmp_path)
    bad = rewrite_manifest(good, tmp_path / "bad.comic", change)
    with pytest.raises(ProjectFileError) as info:
        load_project(bad)
    message = str(info.value)
    assert "bad.comic" in message and "surrogate" in message and "\n" not in message


def test_saver_refuses_unsavable_text_before_writing(tmp_path):
    doc, path = _saved(tmp_path)
    before = path.read_bytes()
    doc.project.title = "x\ud800"
    with pytest.raises(ProjectSaveError, match="surrogate"):
        save_project(doc.project, path, thumbnail=False)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.comic"]


def _grid_panels(n: int, page: Page) -> list[dict]:
    side = int(n ** 0.5) + 1
    w, h = page.width_mm / side, page.height_mm / side
    return [{"id": f"p{i}", "points": Rect((i % side) * w, (i // side) * h, w * 0.9, h * 0.9).points()}
            for i in range(n)]


@pytest.mark.parametrize("what", ["panels", "pages", "variants", "cards", "references", "balloons"])
def test_absurd_counts_are_refused_at_load_with_one_line(tmp_path, what):
    _, good = _saved(tmp_path)

    def change(m: dict) -> None:
        page = m["pages"][0]
        if what == "panels":
            page["panels"] = _grid_panels(limits.MAX_PANELS_PER_PAGE + 1, Page("x", 210, 297))
        elif what == "pages":
            m["pages"] = [dict(page, id=f"page{i}", panels=[], balloons=[]) for i in range(limits.MAX_PAGES + 1)]
        elif what == "variants":
            panel = page["panels"][0]
            panel["variants"] = [dict(panel["variants"][0], id=f"v{i}") for i in range(limits.MAX_VARIANTS_PER_PANEL + 1)]
        elif what == "cards":
            card = m["characters"][0]
            m["characters"] = [dict(card, id=f"c{i}") for i in range(limits.MAX_CARDS + 1)]
        elif what == "references":
            card = m["characters"][0]
            card["references"] = card["references"] * (limits.MAX_REFERENCES_PER_CARD + 1)
        else:
            page["balloons"] = [{"id": f"b{i}", "rect": [10, 10, 20, 10], "text": "hi"}
                                for i in range(limits.MAX_BALLOONS_PER_PAGE + 1)]

    bad = rewrite_manifest(good, tmp_path / "big.comic", change)
    with pytest.raises(ProjectFileError, match="over a limit") as info:
        load_project(bad)
    assert "big.comic" in str(info.value) and len(str(info.value)) < 300


def _old_reading_order(page: Page) -> list[str]:
    """The order as it was defined before (quadratic), for comparison on small pages."""
    panels = sorted(page.panels, key=lambda p: p.bbox.y)
    rows: list[list[Panel]] = []
    for p in panels:
        if rows and p.bbox.y < max(q.bbox.y + q.bbox.h * 0.5 for q in rows[-1]):
            rows[-1].append(p)
        else:
            rows.append([p])
    out = []
    for row in rows:
        out += sorted(row, key=lambda p: p.bbox.x + p.bbox.w / 2, reverse=page.reading_order == ReadingOrder.RTL)
    return [p.id for p in out]


def test_reading_order_is_unchanged_and_fast():
    import random
    import time

    rng = random.Random(5)
    for trial in range(200):
        page = Page("p", 210, 297, reading_order=rng.choice(list(ReadingOrder)))
        for i in range(rng.randint(1, 12)):
            x, y = rng.uniform(0, 180), rng.uniform(0, 260)
            page.panels.append(Panel(f"p{i}", Rect(x, y, rng.uniform(1, 30), rng.uniform(1, 60)).points()))
        assert [p.id for p in page.panels_in_reading_order()] == _old_reading_order(page)
    page = Page("big", 210, 297)
    page.panels = [Panel(d["id"], d["points"]) for d in _grid_panels(3000, page)]
    start = time.perf_counter()
    ordered = page.panels_in_reading_order()
    assert time.perf_counter() - start < 1.0
    assert len(ordered) == 3000


def test_long_prompt_with_variants_saves_and_loads(tmp_path):
    doc, path = _saved(tmp_path)
    panel = doc.project.pages[0].panels[0].id
    prompt = ("a quiet harbour at dawn, fishing boats, gulls, " * 2700)[:126_000]
    for i in range(10):
        edits.add_variant(doc, panel, solid_png((i, 2 * i, 3 * i)), seed=i, prompt=prompt)
    save_project(doc.project, path, thumbnail=False)
    loaded = load_project(path)
    assert [v.prompt for v in loaded.pages[0].panels[0].variants][1:] == [prompt] * 10


def test_saver_refuses_a_project_over_a_limit_and_keeps_the_old_file(tmp_path):
    doc, path = _saved(tmp_path)
    before = path.read_bytes()
    page = doc.project.pages[0]
    page.panels = [Panel(d["id"], d["points"]) for d in _grid_panels(limits.MAX_PANELS_PER_PAGE + 1, page)]
    with pytest.raises(ProjectSaveError, match="over a limit"):
        save_project(doc.project, path, thumbnail=False)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.comic"]


def test_zip_bomb_is_still_refused(tmp_path):
    import zipfile

    bomb = tmp_path / "bomb.comic"
    with zipfile.ZipFile(bomb, "w") as zf:
        zf.writestr("mimetype", project_io.MIMETYPE)
        zf.writestr("images/" + "ab" * 16 + ".png", b"\0" * (limits.RATIO_MIN_BYTES + 1024),
                    compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(ProjectFileError, match="zip bomb"):
        load_project(bomb)


# --- paths a project names: only its folder and the models folder, unless the user consents -------------

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

from app import safe_paths  # noqa: E402
from app.cli import main as cli  # noqa: E402
from app.identity import conditions  # noqa: E402
from app.project_io import save_project as _save  # noqa: E402
from engine.prompt_flags import parse_prompt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def layout_dirs(tmp_path, monkeypatch):
    """A project folder, a models folder and an outside folder with a real image and LoRA in it."""
    project_dir, models, outside = tmp_path / "project", tmp_path / "models", tmp_path / "outside"
    for d in (project_dir, models / "loras", outside):
        d.mkdir(parents=True)
    Image.new("RGB", (32, 32), (9, 9, 9)).save(outside / "secret.png")
    (outside / "secret.safetensors").write_bytes(b"\0" * 16)
    Image.new("RGB", (32, 32), (9, 9, 9)).save(project_dir / "mine.png")
    Image.new("RGB", (32, 32), (9, 9, 9)).save(models / "shared.png")
    monkeypatch.setenv("PANELSMITH_MODELS", str(models))
    monkeypatch.setattr(safe_paths, "_CONSENTED", set())
    return project_dir, models, outside


@pytest.mark.parametrize("name", ["../outside/secret.png", "../outside/missing.png", "{outside}/secret.png",
                                  "{outside}/missing.png", "~/secret.png"])
def test_prompt_image_refs_outside_are_refused_alike(layout_dirs, name):
    project_dir, models, outside = layout_dirs
    name = name.format(outside=outside)
    flags = parse_prompt(f"a harbour --sref {name}")
    with pytest.raises(ValueError) as info:
        conditions.prompt_reference_conditions(flags, models, project_dir)
    assert str(info.value) == (f"the project names a file outside its folder and the models folder: {name!r}; "
                               f"allow it with --allow-outside-paths")


def test_prompt_image_refs_inside_are_read_and_consent_opens_the_rest(layout_dirs):
    project_dir, models, outside = layout_dirs
    flags = parse_prompt(f"a harbour --sref mine.png {models}/shared.png")
    found, _ = conditions.prompt_reference_conditions(flags, models, project_dir)
    assert len(found) == 1 and len(found[0].reference_images) == 2
    safe_paths.allow_outside(project_dir)
    found, _ = conditions.prompt_reference_conditions(parse_prompt(f"x --sref {outside}/secret.png"), models,
                                                      project_dir)
    assert len(found[0].reference_images) == 1


@pytest.mark.parametrize("lora", ["../outside/secret.safetensors", "{outside}/secret.safetensors",
                                  "{outside}/nothing.safetensors"])
def test_a_cards_lora_outside_is_refused(layout_dirs, lora):
    project_dir, models, outside = layout_dirs
    lora = lora.format(outside=outside)
    with pytest.raises(safe_paths.OutsidePathError, match="allow it with --allow-outside-paths"):
        conditions._lora(project_dir, lora, 0.8, models)
    assert conditions._lora(project_dir, "loras/x.safetensors", 0.8, models).path == project_dir / "loras/x.safetensors"
    (models / "loras" / "shared.safetensors").write_bytes(b"\0")
    assert conditions._lora(project_dir, "shared.safetensors", 0.8, models).path == models / "loras/shared.safetensors"
    safe_paths.allow_outside(project_dir)
    expected = Path(lora) if os.path.isabs(lora) else project_dir / lora
    assert conditions._lora(project_dir, lora, 0.8, models).path == expected


def test_the_projects_model_setting_outside_is_refused(layout_dirs):
    from app.generation.request import choose_model
    from engine.registry import ModelRegistry

    project_dir, models, outside = layout_dirs
    project = Project()
    project.settings["model"] = str(outside / "secret.safetensors")
    with pytest.raises(safe_paths.OutsidePathError):
        choose_model(project, ModelRegistry(models), None, project_dir)
    project.settings["model"] = "tiny-sd"  # a name is looked up in the models folder
    assert choose_model(project, ModelRegistry(models), None, project_dir) == "tiny-sd"


class _FakeEngine:
    def __init__(self, models) -> None:
        from engine.registry import ModelRegistry

        self.registry = ModelRegistry(models)

    def run(self, request, *args, **kwargs):
        raise ValueError(f"engine reached with {len(request.conditioning)} condition(s)")

    def close(self) -> None:
        pass


def test_generate_refuses_outside_paths_without_the_flag(layout_dirs, capsys, monkeypatch):
    from app.cli import generation

    project_dir, models, outside = layout_dirs
    doc = Document(Project(), project_dir / "book.comic")
    page = edits.add_page(doc, PAGE_SIZES["A4"], "grid-2x2")
    panel = doc.project.page(page).panels[0].id
    edits.set_panel_fields(doc, panel, prompt=f"a harbour --sref {outside}/secret.png")
    path = _save(doc.project, project_dir / "book.comic", thumbnail=False)
    monkeypatch.setattr(generation, "_engine", lambda args: _FakeEngine(models))
    argv = ["generate", path, "--panel", panel, "--models", models, "--model", "m", "--quiet"]
    assert cli.main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the project names a file outside its folder") and "secret.png" in err
    assert cli.main([str(a) for a in [*argv, "--allow-outside-paths"]]) == 2
    assert "engine reached with 1 condition(s)" in capsys.readouterr().err


# --- special files: only regular files are opened ---------------------------------------------------------

@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    yield path
    try:  # release a reader that a failing test left blocked
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass


def _within(seconds: float, fn):
    box: dict = {}

    def call():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked on a special file"
    return box


@pytest.mark.parametrize("argv", [
    ["info", "{fifo}"],
    ["card", "add", "{project}", "--character", "Ann", "--ref", "{fifo}"],
    ["faces", "{fifo}"],
    ["vary", "{project}", "--panel", "{panel}", "--mask", "{fifo}", "--prompt", "x"],
])
def test_special_files_are_refused_not_opened(tmp_path, capsys, fifo, argv):
    doc = Document()
    page = edits.add_page(doc, PAGE_SIZES["A4"], "grid-2x2")
    panel = doc.project.page(page).panels[0].id
    edits.add_variant(doc, panel, solid_png((1, 2, 3)))
    project = _save(doc.project, tmp_path / "book.comic", thumbnail=False)
    argv = [a.format(fifo=fifo, project=project, panel=panel) for a in argv]
    box = _within(20, lambda: cli.main(argv))
    assert box.get("value") == 2, box
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "regular file" in err


def test_special_files_named_by_a_project_are_refused(tmp_path, fifo):
    flags = parse_prompt(f"x --sref {fifo.name}")
    box = _within(20, lambda: conditions.prompt_reference_conditions(flags, None, tmp_path))
    assert isinstance(box.get("error"), ValueError) and "regular file" in str(box["error"])
    lora = tmp_path / "loras" / "pipe.safetensors"
    lora.parent.mkdir()
    os.mkfifo(lora)
    with pytest.raises(ValueError, match="regular file"):
        conditions._lora(tmp_path, "loras/pipe.safetensors", 0.8)
