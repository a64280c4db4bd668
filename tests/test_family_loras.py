"""Card LoRAs on FLUX.1 Kontext and Qwen-Image-Edit, in the key layouts users download: a LoRA loads on the
tiny pipeline, changes the picture, and unloading it gives back the plain picture and weights bit for bit."""

import numpy as np
import pytest
import torch

from engine.device import REFERENCE_AREA_ENV, DeviceOptions
from engine.jobs import GenerationRequest, LoraConditioning
from tests.tiny_edit_models import (rename_lora_keys, write_flux_kontext, write_kohya_flux_lora, write_lora,
                                    write_qwen_image_edit)
from tests.tiny_families import card_lora_outputs, project_path  # noqa: F401  (fixture)

KONTEXT, QWEN = "tiny-flux-kontext", "tiny-qwen-image-edit"
#: model -> its LoRA files, one a key layout: diffusers/PEFT, then kohya (FLUX.1) or ComfyUI (Qwen-Image)
LORAS = {KONTEXT: ["kontext-diffusers", "kontext-kohya"], QWEN: ["qwen-diffusers", "qwen-comfyui"]}


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("lora_models")
    kontext = write_flux_kontext(root / "checkpoints" / KONTEXT)
    qwen = write_qwen_image_edit(root / "checkpoints" / QWEN)
    loras = root / "loras"
    write_lora(loras / "kontext-diffusers.safetensors", kontext, "FluxTransformer2DModel", "FluxKontextPipeline")
    write_kohya_flux_lora(loras / "kontext-kohya.safetensors", width=32)  # the tiny transformer: 2 heads x 16
    write_lora(loras / "qwen-diffusers.safetensors", qwen, "QwenImageTransformer2DModel", "QwenImageEditPlusPipeline")
    rename_lora_keys(write_lora(loras / "qwen-comfyui.safetensors", qwen, "QwenImageTransformer2DModel",
                                "QwenImageEditPlusPipeline", seed=25), "transformer.", "diffusion_model.")
    return root


@pytest.fixture(autouse=True)
def small_references(monkeypatch):
    monkeypatch.setenv(REFERENCE_AREA_ENV, str(64 * 64))


def _request(model: str, loras: list[str]) -> GenerationRequest:
    return GenerationRequest(model=model, prompt="a girl in a red coat", seed=3, steps=2, width=64, height=64,
                             device="cpu", conditioning=[LoraConditioning(name, 1.0) for name in loras])


@pytest.mark.parametrize("model", sorted(LORAS))
def test_loras_change_the_output_and_unloading_restores_it_bit_for_bit(models_dir, model):
    from engine.api import Engine

    engine = Engine(models_dir, DeviceOptions(device="cpu"))
    try:
        plain = np.asarray(engine.run(_request(model, [])).images[0])
        transformer = next(iter(engine.backend.cache._models.values())).base.transformer
        weights = {k: v.clone() for k, v in transformer.state_dict().items()}
        for lora in LORAS[model]:
            result = engine.run(_request(model, [lora]))
            assert result.metadata["loras"] == [(lora, 1.0)] and not result.metadata.get("warnings"), lora
            assert not np.array_equal(plain, np.asarray(result.images[0])), lora  # the LoRA changed the picture
            again = np.asarray(engine.run(_request(model, [])).images[0])
            assert np.array_equal(plain, again), lora  # unloaded: the plain picture, bit for bit
            after = transformer.state_dict()
            assert after.keys() == weights.keys() and all(torch.equal(after[k], weights[k]) for k in weights), lora
    finally:
        engine.close()


def test_card_lora_through_the_command_line(project_path, models_dir, capsys):
    """A card's kohya-layout LoRA on Kontext, from the project file (the card path is the same for every family)."""
    outputs = card_lora_outputs(project_path, models_dir, KONTEXT, models_dir / "loras" / "kontext-kohya.safetensors",
                                capsys)
    assert not np.array_equal(outputs[0], outputs[1])  # the card's LoRA changed the picture


def test_lora_files_are_in_the_layouts_users_download(models_dir):
    from safetensors import safe_open

    def keys(name):
        with safe_open(str(models_dir / "loras" / f"{name}.safetensors"), "pt") as f:
            return list(f.keys())

    assert all(k.startswith("transformer.") and (".lora_A." in k or ".lora_B." in k) for k in keys("kontext-diffusers"))
    assert all(k.startswith("lora_unet_double_blocks_0_") for k in keys("kontext-kohya"))
    assert any(k.endswith(".lora_down.weight") for k in keys("kontext-kohya"))
    assert all(k.startswith("diffusion_model.transformer_blocks.") for k in keys("qwen-comfyui"))
