"""Qwen-Image-Edit Plus end to end on a tiny random-weight folder: loaded through the registry without
torchvision, a bound card's reference changes the picture, vary keeps pixels beyond the feather band.

The pipeline reads references at about 1024² pixels; these tests set the engine option
``reference_area`` (``$PANELSMITH_REFERENCE_AREA``) to 64², which users leave unset."""

import numpy as np
import pytest

from engine.device import REFERENCE_AREA_ENV
from engine.registry import Arch, ModelRegistry
from tests.tiny_edit_models import write_qwen_image_edit
from tests.tiny_families import (add_card, bind_to_first_panel, check_vary_keeps_pixels_beyond_the_feather_band,
                                 generate_first_panel, project_path, solid)  # noqa: F401  (fixture)

MODEL = "tiny-qwen-image-edit"


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("qwen_models")
    write_qwen_image_edit(root / "checkpoints" / MODEL)
    return root


@pytest.fixture(autouse=True)
def small_references(monkeypatch):
    monkeypatch.setenv(REFERENCE_AREA_ENV, str(64 * 64))


def test_registry_detects_qwen_image_edit(models_dir):
    info = ModelRegistry(models_dir).resolve(MODEL)
    assert info.arch is Arch.QWEN_IMAGE_EDIT and info.licence == "Apache-2.0"


def test_reference_area_scales_the_pipeline_sizes_for_one_call_only():
    from diffusers.pipelines.qwenimage import pipeline_qwenimage_edit_plus as plus

    from engine.diffusion.qwen_parts import reference_area

    pipe = object.__new__(plus.QwenImageEditPlusPipeline)
    with reference_area(pipe, None):
        assert plus.calculate_dimensions(plus.VAE_IMAGE_SIZE, 1.0) == (1024, 1024)  # users: the pipeline's own
    with reference_area(pipe, 64 * 64):
        assert plus.calculate_dimensions(plus.VAE_IMAGE_SIZE, 1.0) == (64, 64)
        assert plus.calculate_dimensions(plus.CONDITION_IMAGE_SIZE, 1.0) == (32, 32)
    assert plus.calculate_dimensions(plus.VAE_IMAGE_SIZE, 1.0) == (1024, 1024)


def test_bound_card_reference_changes_the_output(project_path, models_dir, capsys):
    card = add_card(project_path, "Mira", [solid((200, 40, 40))])
    outputs = [generate_first_panel(project_path, models_dir, MODEL, 3, capsys)]
    bind_to_first_panel(project_path, card)
    outputs.append(generate_first_panel(project_path, models_dir, MODEL, 3, capsys))
    assert not np.array_equal(outputs[0], outputs[1])  # the card's reference changed the picture


def test_vary_keeps_pixels_beyond_the_feather_band(project_path, models_dir, tmp_path, capsys):
    check_vary_keeps_pixels_beyond_the_feather_band(project_path, models_dir, MODEL, tmp_path, capsys)
