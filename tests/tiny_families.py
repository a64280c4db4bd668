"""Set-up shared by the command-line tests on tiny models (SD, FLUX.2 klein, FLUX.1 Kontext, Qwen-Image-Edit):
a two-panel project, the command line run in this process, a panel's image, and the vary check (pixels beyond
the feather band are byte-identical)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app import edits, layout
from app.cli import main as cli
from app.document import Document
from app.images import decode_png
from app.project import Project
from app.project_io import load_project, save_project
from tests import bands

#: command-line options for a fast run of a reference-edit family
FAST = ["--steps", "2", "--device", "cpu", "--quiet", "--resolution", "64"]


def new_project(folder: Path, prompt: str) -> Path:
    """A one-page, two-panel (2-tier) project whose panels have `prompt`, saved as folder/book.comic."""
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "2-tier")
    for p in doc.project.pages[0].panels:
        edits.set_panel_fields(doc, p.id, prompt=prompt)
    path = folder / "book.comic"
    save_project(doc.project, path)
    return path


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    return new_project(tmp_path, "a girl in a red coat")


def run(args: list, capsys) -> tuple[int, str, str]:
    """The command line with `args` (any objects, as strings): exit code, stdout, stderr."""
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def panel(path: Path, index: int = 0):
    return load_project(path).pages[0].panels[index]


def image_of(path: Path, p) -> np.ndarray:
    return np.asarray(decode_png(load_project(path).images[p.image]).convert("RGB"))


def solid(color: tuple[int, int, int], size: tuple[int, int] = (64, 64)) -> Image.Image:
    """A reference image: `color` with a square of its complement in the middle."""
    image = Image.new("RGB", size, color)
    image.paste(tuple(255 - c for c in color), (16, 16, 48, 48))
    return image


def with_image(path: Path) -> str:
    """Give the first panel an image without running a model; returns its id."""
    doc = Document(load_project(path))
    pid = doc.project.pages[0].panels[0].id
    image = Image.new("RGB", (96, 64), (30, 60, 200))
    image.paste((240, 200, 40), (20, 10, 70, 50))
    edits.add_variant(doc, pid, image, kind="import")
    save_project(doc.project, path)
    return pid


def check_vary_keeps_pixels_beyond_the_feather_band(project_path: Path, models_dir: Path, model: str,
                                                    folder: Path, capsys) -> None:
    """`vary` with a 4 px feather on a panel with an image: the pixels beyond the band are the old ones and
    the masked ones changed."""
    pid = with_image(project_path)
    before = image_of(project_path, panel(project_path))
    mask = Image.new("L", (100, 50), 0)
    mask.paste(255, (10, 10, 40, 40))
    mask.save(folder / "mask.png")
    code, _, err = run(["vary", project_path, "--panel", pid, "--mask", folder / "mask.png", "--prompt", "a hat",
                        "--feather", "4", "--models", models_dir, "--model", model, *FAST], capsys)
    assert code == 0, err
    after = image_of(project_path, panel(project_path))
    scaled = mask.resize((before.shape[1], before.shape[0]), Image.Resampling.BILINEAR).point(
        lambda v: 255 if v >= 128 else 0)
    inside = bands.inside(scaled)
    far = bands.beyond(inside, 4)
    assert np.array_equal(after[far], before[far])
    assert not np.array_equal(after[inside], before[inside])


def generate_first_panel(project_path: Path, models_dir: Path, model: str, seed: int, capsys) -> np.ndarray:
    """`generate` the first panel with `model` and `seed` (FAST); its new picture. No warning about a LoRA."""
    pid = panel(project_path).id
    code, _, err = run(["generate", project_path, "--panel", pid, "--models", models_dir, "--model", model,
                        "--seed", seed, *FAST], capsys)
    assert code == 0 and "LoRA" not in err, err
    return image_of(project_path, panel(project_path))


def bind_to_first_panel(project_path: Path, card: str, cw: int = 100) -> None:
    doc = Document(load_project(project_path))
    edits.bind_card(doc, doc.project.pages[0].panels[0].id, card, cw)
    save_project(doc.project, project_path)


def add_card(project_path: Path, name: str, references: list[Image.Image] = (), lora: Path | None = None) -> str:
    """A character card saved in the project (with `lora` attached and no trigger word); its id."""
    doc = Document(load_project(project_path))
    card = edits.add_card(doc, "character", name, list(references))
    if lora is not None:
        edits.attach_lora(doc, card, str(lora), 1.0)
        edits.update_card(doc, card, trigger="")
    save_project(doc.project, project_path)
    return card


def card_lora_outputs(project_path: Path, models_dir: Path, model: str, lora: Path, capsys) -> list[np.ndarray]:
    """The first panel generated with `model` before and after binding a card that has the LoRA file `lora`
    (no trigger word, no reference images): the two pictures."""
    card = add_card(project_path, "Aki", lora=lora)
    before = generate_first_panel(project_path, models_dir, model, 5, capsys)
    bind_to_first_panel(project_path, card)
    return [before, generate_first_panel(project_path, models_dir, model, 5, capsys)]
