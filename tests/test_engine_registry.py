import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from engine.jobs import ModelLoadError, ModelNotFoundError
from engine.registry import Arch, ModelKind, ModelRegistry, default_models_dir, read_safetensors_header
from tests.helpers_platform import SYSTEMS, pretend_os


def _st(path, tensors):
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: np.zeros(shape, np.float16) for k, shape in tensors.items()}, str(path))


@pytest.fixture
def models(tmp_path):
    root = tmp_path / "models"
    _st(root / "checkpoints" / "sd15-model.safetensors", {
        "model.diffusion_model.input_blocks.0.0.weight": (8, 4, 3, 3),
        "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": (4, 2)})
    _st(root / "checkpoints" / "sd15-inpaint.safetensors", {"model.diffusion_model.input_blocks.0.0.weight": (8, 9, 3, 3)})
    _st(root / "checkpoints" / "xl" / "sdxl-lightning.safetensors", {
        "model.diffusion_model.input_blocks.0.0.weight": (8, 4, 3, 3), "model.diffusion_model.label_emb.0.0.weight": (2, 2),
        "conditioner.embedders.1.model.ln_final.weight": (2,)})
    _st(root / "loras" / "lcm-lora-sdv1-5.safetensors", {"lora_unet_down_blocks_0.lora_down.weight": (2, 2)})
    _st(root / "ipadapter" / "ip-adapter-faceid_sd15.safetensors", {
        "image_proj.proj.0.weight": (2, 2), "ip_adapter.1.to_k_ip.weight": (2, 768)})
    _st(root / "ipadapter" / "ip-adapter_sdxl.safetensors", {
        "image_proj.proj.weight": (2, 2), "ip_adapter.1.to_k_ip.weight": (2, 2048)})
    _st(root / "instantid" / "ip-adapter.safetensors", {
        "image_proj.latents": (1, 2, 2), "image_proj.proj_in.weight": (2, 512), "ip_adapter.1.to_k_ip.weight": (2, 2048)})
    (root / "instantid" / "ip-adapter.bin").write_bytes(b"\x80\x04 not to be unpickled")
    cn = root / "controlnet" / "canny"
    cn.mkdir(parents=True)
    (cn / "config.json").write_text(json.dumps({"_class_name": "ControlNetModel"}))
    pack = root / "insightface" / "models" / "antelopev2"
    pack.mkdir(parents=True)
    for name in ("scrfd_10g_bnkps.onnx", "glintr100.onnx"):
        (pack / name).write_bytes(b"onnx")
    (root / "insightface" / "inswapper_128.onnx").write_bytes(b"onnx")
    (root / "upscale_models").mkdir()
    (root / "upscale_models" / "4x-UltraSharp.pth").write_bytes(b"pickle")
    (root / "checkpoints" / "broken.safetensors").write_bytes(b"\x00\x01garbage")
    (root / "notes.txt").write_text("not a model")
    return root


def test_classifies_every_kind(models):
    registry = ModelRegistry(models)
    found = {m.name: m for m in registry.models()}
    assert found["sd15-model"].kind is ModelKind.CHECKPOINT and found["sd15-model"].arch is Arch.SD15
    assert found["sd15-inpaint"].inpaint
    assert found["sdxl-lightning"].arch is Arch.SDXL and found["sdxl-lightning"].family == "lightning"
    assert found["lcm-lora-sdv1-5"].kind is ModelKind.LORA and found["lcm-lora-sdv1-5"].variant == "lcm"
    assert found["ip-adapter-faceid_sd15"].kind is ModelKind.IP_ADAPTER
    assert found["ip-adapter-faceid_sd15"].variant == "faceid" and found["ip-adapter-faceid_sd15"].arch is Arch.SD15
    assert found["ip-adapter_sdxl"].arch is Arch.SDXL
    instantid = [m for m in registry.models([ModelKind.INSTANTID])]
    assert {m.path.suffix for m in instantid} == {".safetensors", ".bin"}
    assert found["canny"].kind is ModelKind.CONTROLNET
    assert found["antelopev2"].kind is ModelKind.FACE_PACK and "glintr100.onnx" in found["antelopev2"].files
    assert found["inswapper_128"].kind is ModelKind.FACE_SWAPPER
    assert found["4x-UltraSharp"].kind is ModelKind.UPSCALER
    assert "notes" not in found and "broken" not in found
    assert any("broken.safetensors" in p for p in registry.problems)


def test_resolve_by_name_prefix_and_path(models):
    registry = ModelRegistry(models)
    assert registry.resolve("SD15-MODEL").name == "sd15-model"
    assert registry.resolve(str(models / "checkpoints" / "sd15-model.safetensors")).arch is Arch.SD15
    with pytest.raises(ModelNotFoundError, match="ambiguous"):
        registry.resolve("sd15")


def test_missing_model_says_what_and_where(models):
    registry = ModelRegistry(models)
    with pytest.raises(ModelNotFoundError) as info:
        registry.resolve("dreamshaper-8")
    message = str(info.value)
    assert "dreamshaper-8" in message and str(models) in message and "\n" not in message
    assert "checkpoints/" in info.value.detail and "insightface/" in info.value.detail
    with pytest.raises(ModelNotFoundError, match="lora, not a pipeline or checkpoint"):
        registry.resolve(str(models / "loras" / "lcm-lora-sdv1-5.safetensors"))


def test_corrupt_safetensors_is_a_load_error(models):
    with pytest.raises(ModelLoadError, match="broken.safetensors is not a valid .safetensors file"):
        read_safetensors_header(models / "checkpoints" / "broken.safetensors")
    with pytest.raises(ModelLoadError):
        ModelRegistry(models).resolve(str(models / "checkpoints" / "broken.safetensors"))


def test_default_models_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("PANELSMITH_MODELS", str(tmp_path))
    assert default_models_dir() == tmp_path
    monkeypatch.delenv("PANELSMITH_MODELS")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_models_dir() == tmp_path / "data" / "Panelsmith" / "models"


@pytest.mark.parametrize("system", SYSTEMS)
def test_default_models_dir_is_the_os_data_folder(monkeypatch, tmp_path, system):
    monkeypatch.delenv("PANELSMITH_MODELS", raising=False)
    data, _ = pretend_os(monkeypatch, system, tmp_path)
    assert default_models_dir() == data / "models"


def test_empty_or_missing_folder(tmp_path):
    registry = ModelRegistry(tmp_path / "nowhere")
    assert registry.models() == []
    with pytest.raises(ModelNotFoundError, match="no pipeline or checkpoint or transformer model named 'x'"):
        registry.resolve("x")


def test_light_imports():
    import subprocess
    import sys

    code = ("import sys, engine.jobs, engine.registry, engine.prompt_flags, engine.api, app.workers;"
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers', 'onnxruntime', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_model_added_after_scan_is_found(models):
    registry = ModelRegistry(models)
    assert len(registry.models()) > 0
    _st(models / "checkpoints" / "new-model.safetensors", {"model.diffusion_model.input_blocks.0.0.weight": (8, 4, 3, 3)})
    assert registry.resolve("new-model").kind is ModelKind.CHECKPOINT
