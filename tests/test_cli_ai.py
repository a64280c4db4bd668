"""generate / vary / pan / upscale through the command line on tiny local models."""

import numpy as np
import pytest
from PIL import Image

from app import edits, layout
from app.document import Document
from app.images import decode_png
from app.placement import image_frame
from app.project import Project
from app.project_io import load_project, save_project
from tests import bands
from tests.tiny_families import image_of, new_project, panel, run
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

FAST = ["--steps", "2", "--scheduler", "euler", "--device", "cpu", "--quiet"]


@pytest.fixture
def project_path(tmp_path):
    return new_project(tmp_path, "a lighthouse at night --no text")


def test_generate_panel_with_variants_and_seeds(project_path, tiny_models_dir, capsys):
    pid = panel(project_path).id
    code, out, err = run(["generate", project_path, "--panel", pid, "--models", tiny_models_dir, "--model", "tiny-sd",
                          "--seed", "5", "--variants", "2", *FAST], capsys)
    assert code == 0, err
    p = panel(project_path)
    assert [v.seed for v in p.variants] == [5, 6] and p.current == p.variants[0].id
    assert p.variants[0].params["negative_prompt"] == "text"
    w, h = decode_png(load_project(project_path).images[p.image]).size
    assert w > h  # the 2-tier panel is wide: generated at its aspect ratio
    assert pid in out and "seeds 5, 6" in out
    # the other panel was untouched
    assert panel(project_path, 1).variants == []


def test_generate_stage_only_keeps_current(project_path, tiny_models_dir, capsys):
    pid = panel(project_path).id
    code, _, err = run(["generate", project_path, "--panel", pid, "--models", tiny_models_dir, "--model", "tiny-sd",
                        "--stage-only", *FAST], capsys)
    assert code == 0, err
    p = panel(project_path)
    assert len(p.variants) == 1 and p.current is None


def test_vary_changes_only_the_masked_region(project_path, tiny_models_dir, tmp_path, capsys):
    pid = panel(project_path).id
    assert run(["generate", project_path, "--panel", pid, "--models", tiny_models_dir, "--model", "tiny-sd",
                "--seed", "1", *FAST], capsys)[0] == 0
    before = image_of(project_path, panel(project_path))
    mask = Image.new("L", (100, 50), 0)
    mask.paste(255, (10, 10, 40, 40))  # any size: scaled to the panel image
    mask.save(tmp_path / "mask.png")
    code, _, err = run(["vary", project_path, "--panel", pid, "--mask", tmp_path / "mask.png", "--prompt", "a boat",
                        "--feather", "4", "--models", tiny_models_dir, "--model", "tiny-sd", *FAST], capsys)
    assert code == 0, err
    p = panel(project_path)
    after = image_of(project_path, p)
    assert p.current_variant().kind == "vary" and len(p.variants) == 2
    scaled = mask.resize((before.shape[1], before.shape[0]), Image.Resampling.BILINEAR).point(lambda v: 255 if v >= 128 else 0)
    inside = bands.inside(scaled)
    far = bands.beyond(inside, 4)
    assert np.array_equal(after[far], before[far])
    assert not np.array_equal(after[inside], before[inside])


def test_pan_left_keeps_original_pixels_and_placement(project_path, tiny_models_dir, capsys):
    pid = panel(project_path).id
    assert run(["generate", project_path, "--panel", pid, "--models", tiny_models_dir, "--model", "tiny-sd",
                "--seed", "2", *FAST], capsys)[0] == 0
    before = image_of(project_path, panel(project_path))
    old = panel(project_path)
    shown = image_frame(old.bbox, (before.shape[1], before.shape[0]), old.placement)
    code, _, err = run(["pan", project_path, "--panel", pid, "--direction", "left", "--amount", "0.5",
                        "--models", tiny_models_dir, "--model", "tiny-sd", *FAST], capsys)
    assert code == 0, err
    p = panel(project_path)
    after = image_of(project_path, p)
    h, w = before.shape[:2]
    assert after.shape[0] == h and after.shape[1] > w
    offset = after.shape[1] - w
    # beyond the feather band (8 px) the old pixels are byte-identical in their new place
    assert np.array_equal(after[:, offset + 8:], before[:, 8:])
    # the image grew to the left and slid right so that the new strip is in the frame, at the same scale
    now = image_frame(p.bbox, (after.shape[1], after.shape[0]), p.placement)
    assert now.mm_per_px == pytest.approx(shown.mm_per_px)
    assert now.rect.x == pytest.approx(p.bbox.x) and now.rect.right >= p.bbox.right


def test_missing_model_and_corrupt_weights_are_one_line_errors(project_path, tiny_models_dir, tmp_path, capsys):
    pid = panel(project_path).id
    code, out, err = run(["generate", project_path, "--panel", pid, "--models", tiny_models_dir,
                          "--model", "no-such-model", *FAST], capsys)
    assert code == 2 and err.startswith("error: no ") and "no-such-model" in err and err.count("\n") == 1
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    code, out, err = run(["generate", project_path, "--panel", pid, "--models", tiny_models_dir,
                          "--model", bad, *FAST], capsys)
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err and err.count("\n") == 1
    assert panel(project_path).variants == []  # nothing changed


def test_vary_needs_an_image_and_a_painted_mask(project_path, tiny_models_dir, tmp_path, capsys):
    pid = panel(project_path).id
    Image.new("L", (10, 10), 0).save(tmp_path / "black.png")
    code, _, err = run(["vary", project_path, "--panel", pid, "--mask", tmp_path / "black.png", "--prompt", "x",
                        "--models", tiny_models_dir, *FAST], capsys)
    assert code == 2 and "no image yet" in err


def test_upscale_to_print_resolution_with_lanczos(project_path, tiny_models_dir, capsys):
    pid = panel(project_path).id
    assert run(["generate", project_path, "--panel", pid, "--models", tiny_models_dir, "--model", "tiny-sd",
                *FAST], capsys)[0] == 0
    code, out, err = run(["upscale", project_path, "--panel", pid, "--dpi", "150", "--models", tiny_models_dir], capsys)
    assert code == 0, err
    p = panel(project_path)
    w, _ = decode_png(load_project(project_path).images[p.image]).size
    assert w == round(p.bbox.w / 25.4 * 150) and p.current_variant().kind == "upscale"


def test_upscale_with_tiled_refine(tmp_path, tiny_models_dir, capsys):
    doc = Document(Project())
    edits.add_page(doc, layout.PageSize("small", 40, 30, 0, 2, 2), "splash")  # a small page: few tiles
    pid = doc.project.pages[0].panels[0].id
    edits.set_panel_fields(doc, pid, prompt="a lighthouse")
    path = tmp_path / "small.comic"
    save_project(doc.project, path)
    assert run(["generate", path, "--panel", pid, "--models", tiny_models_dir, "--model", "tiny-sd", *FAST],
               capsys)[0] == 0
    code, out, err = run(["upscale", path, "--panel", pid, "--dpi", "72", "--models", tiny_models_dir,
                          "--refine", "0.5", "--refine-model", "tiny-sd", "--steps", "2", "--seed", "1",
                          "--device", "cpu", "--quiet"], capsys)
    assert code == 0, err
    assert "lanczos+refine" in out and "tiles" in out
    p = panel(path)
    size = decode_png(load_project(path).images[p.image]).size
    assert size[0] == round(p.bbox.w / 25.4 * 72) and p.current_variant().kind == "upscale"
    code, _, err = run(["upscale", path, "--panel", pid, "--refine", "2", "--models", tiny_models_dir], capsys)
    assert code == 2 and "--refine must be in (0, 1]" in err
