"""Reference-edit families (FLUX.2 klein, FLUX.1 Kontext) end to end on tiny random-weight pipelines:
loaded through the registry, cards drive the references, edit by instruction, vary keeps pixels."""

import numpy as np
import pytest
from PIL import Image

from app import edits
from app.document import Document
from app.generation.request import pan_spec
from app.project_io import load_project, save_project
from engine.imageops import outpaint_canvas
from engine.registry import Arch, ModelRegistry
from tests.tiny_edit_models import write_edit_models
from tests.tiny_families import (FAST, add_card, bind_to_first_panel, card_lora_outputs,
                                 check_vary_keeps_pixels_beyond_the_feather_band, generate_first_panel, image_of, panel,
                                 project_path, run, solid, with_image)  # noqa: F401  (fixture)
from tests.tiny_models import write_diffusers_model


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("edit_models")
    write_edit_models(root)
    write_diffusers_model(root / "checkpoints" / "tiny-sd")
    return root


def test_registry_detects_families_and_licences(models_dir):
    registry = ModelRegistry(models_dir)
    klein, kontext = registry.resolve("tiny-flux2-klein"), registry.resolve("tiny-flux-kontext")
    assert klein.arch is Arch.FLUX2_KLEIN and klein.licence == "Apache-2.0"
    assert kontext.arch is Arch.FLUX_KONTEXT and "non-commercial" in kontext.licence


def test_folder_naming_unknown_code_is_not_a_family(tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / "model_index.json").write_text('{"_class_name": ["evil_module", "Flux2KleinPipeline"]}')
    info = ModelRegistry(tmp_path).models()[0]
    assert info.arch not in (Arch.FLUX2_KLEIN, Arch.QWEN_IMAGE_EDIT, Arch.FLUX_KONTEXT)


@pytest.mark.parametrize("model", ["tiny-flux2-klein", "tiny-flux-kontext"])
def test_bound_card_reference_changes_the_output(project_path, models_dir, model, capsys):
    card = add_card(project_path, "Mira", [solid((200, 40, 40))])
    outputs = [generate_first_panel(project_path, models_dir, model, 3, capsys)]
    bind_to_first_panel(project_path, card)
    outputs.append(generate_first_panel(project_path, models_dir, model, 3, capsys))
    doc = Document(load_project(project_path))  # another reference leads (cw 100: the highest-weighted full one)
    edits.add_references(doc, card, [solid((20, 200, 60))])
    doc.project.card(card).references[1].weight = 2.0
    save_project(doc.project, project_path)
    outputs.append(generate_first_panel(project_path, models_dir, model, 3, capsys))
    assert not np.array_equal(outputs[0], outputs[1])  # the card's reference changed the picture
    assert not np.array_equal(outputs[1], outputs[2])  # and a different reference changed it again


def test_edit_command_adds_one_variant(project_path, models_dir, capsys):
    pid = with_image(project_path)
    before = panel(project_path)
    code, out, err = run(["edit", project_path, "--panel", pid, "--prompt", "night, rain", "--models", models_dir,
                          "--model", "tiny-flux2-klein", "--steps", "2", "--seed", "4", "--device", "cpu", "--quiet",
                          "--resolution", "64"], capsys)
    assert code == 0, err
    after = panel(project_path)
    assert len(after.variants) == len(before.variants) + 1 and after.current_variant().kind == "edit"
    assert after.current_variant().seed == 4 and after.current_variant().prompt == "night, rain"
    assert image_of(project_path, after).shape == image_of(project_path, before).shape  # the panel image's size
    assert not np.array_equal(image_of(project_path, after), image_of(project_path, before))


def test_edit_is_one_undo_step(project_path, models_dir):
    from app.generation.request import Overrides
    from app.generation.run import prepare, run_panel_job
    from engine.api import Engine
    from engine.jobs import JobKind

    pid = with_image(project_path)
    doc = Document(load_project(project_path), project_path)
    image_before, count = doc.project.find_panel(pid)[1].image, doc.undo_stack.count()
    engine = Engine(models_dir)
    overrides = Overrides.of(JobKind.EDIT, {"model": "tiny-flux-kontext", "steps": 2, "seed": 1, "device": "cpu",
                                            "resolution": 64}, models_dir=models_dir, prompt="she wears a hat")
    run_panel_job(doc, pid, engine, prepare(doc, pid, overrides))
    assert doc.undo_stack.count() == count + 1 and doc.project.find_panel(pid)[1].image != image_before
    doc.undo_stack.undo()
    assert doc.project.find_panel(pid)[1].image == image_before


def test_edit_with_a_model_that_cannot_edit_is_one_error_line(project_path, models_dir, capsys):
    pid = with_image(project_path)
    before = project_path.read_bytes()
    code, out, err = run(["edit", project_path, "--panel", pid, "--prompt", "night", "--models", models_dir,
                          "--model", "tiny-sd", "--device", "cpu", "--quiet"], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "cannot edit" in lines[0]
    assert str(project_path) in lines[0] and len(lines[0]) < 300
    assert project_path.read_bytes() == before


@pytest.mark.parametrize("model", ["tiny-flux2-klein", "tiny-flux-kontext"])
def test_vary_keeps_pixels_beyond_the_feather_band(project_path, models_dir, model, tmp_path, capsys):
    check_vary_keeps_pixels_beyond_the_feather_band(project_path, models_dir, model, tmp_path, capsys)


@pytest.mark.parametrize("model", ["tiny-flux2-klein", "tiny-flux-kontext"])
def test_pan_keeps_pixels_beyond_the_feather_band(project_path, models_dir, model, capsys):
    pid = with_image(project_path)
    before = image_of(project_path, panel(project_path))
    code, _, err = run(["pan", project_path, "--panel", pid, "--direction", "left", "--amount", "0.5",
                        "--models", models_dir, "--model", model, *FAST], capsys)
    assert code == 0, err
    after = image_of(project_path, panel(project_path))
    h, w = before.shape[:2]
    assert after.shape[0] == h and after.shape[1] > w
    offset = after.shape[1] - w
    assert np.array_equal(after[:, offset + 8:], before[:, 8:])  # beyond the 8 px band: the old pixels
    prefill = np.asarray(outpaint_canvas(Image.fromarray(before), pan_spec("left", 0.5, None))[0])
    assert not np.array_equal(after[:, :offset], prefill[:, :offset])  # the model drew the new strip


@pytest.mark.parametrize("model", ["tiny-flux2-klein", "tiny-flux-kontext"])
def test_zoom_out_keeps_pixels_beyond_the_feather_band(project_path, models_dir, model, capsys):
    pid = with_image(project_path)
    before = image_of(project_path, panel(project_path))
    code, _, err = run(["pan", project_path, "--panel", pid, "--zoom-out", "2", "--models", models_dir,
                        "--model", model, *FAST], capsys)
    assert code == 0, err
    p = panel(project_path)
    after = image_of(project_path, p)
    h, w = before.shape[:2]
    assert after.shape[:2] == (2 * h, 2 * w) and p.current_variant().kind == "zoom out"
    y, x = (after.shape[0] - h) // 2, (after.shape[1] - w) // 2
    assert np.array_equal(after[y + 8:y + h - 8, x + 8:x + w - 8], before[8:-8, 8:-8])
    prefill = np.asarray(outpaint_canvas(Image.fromarray(before), pan_spec(None, None, 2.0))[0])
    assert not np.array_equal(after[:y], prefill[:y])  # the model drew the wider picture around it


def test_edit_on_a_comfyui_server_is_one_error_line(project_path, capsys):
    pid = with_image(project_path)
    before = project_path.read_bytes()
    code, out, err = run(["edit", project_path, "--panel", pid, "--prompt", "night", "--comfyui",
                          "http://127.0.0.1:9", "--model", "flux1-kontext-dev.safetensors", "--quiet"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:") and len(lines[0]) < 300
    assert "not supported on a ComfyUI server" in lines[0] and "without --comfyui" in lines[0]
    assert project_path.read_bytes() == before


def test_card_lora_is_applied_to_a_reference_family(project_path, models_dir, tmp_path, capsys):
    from safetensors import safe_open

    from tests.tiny_edit_models import write_flux2_lora

    lora = write_flux2_lora(tmp_path / "loras" / "klein-style.safetensors",
                            models_dir / "checkpoints" / "tiny-flux2-klein")
    with safe_open(str(lora), "pt") as f:
        assert all(k.startswith("transformer.") and ".lora_" in k for k in f.keys())
    outputs = card_lora_outputs(project_path, models_dir, "tiny-flux2-klein", lora, capsys)
    assert not np.array_equal(outputs[0], outputs[1])  # the card's LoRA changed the picture
    assert panel(project_path).current_variant().prompt == "a girl in a red coat"  # no trigger word: the LoRA alone
