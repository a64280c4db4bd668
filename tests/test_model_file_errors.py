"""Broken or hostile model files give one clear line, never a traceback or a silently bad image."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.api import Engine
from engine.device import DeviceOptions
from engine.jobs import EngineError, GenerationRequest, LoraConditioning, ModelLoadError
from engine.registry import ModelRegistry
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

FAST = dict(steps=2, scheduler="euler", guidance=5.0, width=64, height=64)


@pytest.fixture
def models(tmp_path, tiny_models_dir):
    """A models folder sharing the tiny checkpoints, with a loras/ folder of its own."""
    root = tmp_path / "models"
    root.mkdir()
    (root / "checkpoints").symlink_to(tiny_models_dir / "checkpoints", target_is_directory=True)
    (root / "loras").mkdir()
    return root


def _lora_with(models: Path, tiny_models_dir: Path, name: str, change) -> str:
    state = load_file(str(tiny_models_dir / "loras" / "tiny-lora.safetensors"))
    save_file({k: change(k, v).contiguous() for k, v in state.items()}, str(models / "loras" / f"{name}.safetensors"))
    return name


def _engine(models: Path):
    engine = Engine(models, DeviceOptions(device="cpu"))
    return engine


def test_lora_whose_shapes_do_not_fit_is_one_line_naming_the_file(models, tiny_models_dir):
    name = _lora_with(models, tiny_models_dir, "wrong-shapes",
                      lambda k, v: torch.randn(v.shape[0], v.shape[1] + 8) if "lora_A" in k or "lora.down" in k else v)
    engine = _engine(models)
    try:
        with pytest.raises(ModelLoadError) as info:
            engine.run(GenerationRequest(model="tiny-sd", seed=1, conditioning=[LoraConditioning(name, 1.0)], **FAST))
        text = str(info.value)
        assert "wrong-shapes.safetensors" in text and "\n" not in text and len(text) < 300
        # the base model still works afterwards, unchanged by the failed load
        base = engine.run(GenerationRequest(model="tiny-sd", seed=1, **FAST)).images[0]
        assert base.size == (64, 64)
    finally:
        engine.close()


def test_lora_full_of_nan_fails_the_job_instead_of_a_black_image(models, tiny_models_dir):
    name = _lora_with(models, tiny_models_dir, "nan-lora", lambda k, v: torch.full_like(v, float("nan")))
    engine = _engine(models)
    try:
        with pytest.raises(EngineError) as info:
            engine.run(GenerationRequest(model="tiny-sd", seed=1, conditioning=[LoraConditioning(name, 1.0)], **FAST))
        assert "NaN" in str(info.value) and "nan-lora" in str(info.value)
    finally:
        engine.close()


def test_safetensors_header_nested_very_deep_is_skipped_with_a_note(models):
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    deep = b'{"a": ' + deep + b"}"
    (models / "loras" / "deep.safetensors").write_bytes(struct.pack("<Q", len(deep)) + deep)
    registry = ModelRegistry(models)
    names = [m.name for m in registry.models()]
    assert "tiny-sd" in names and "deep" not in names
    assert any("deep.safetensors" in p and "nested" in p for p in registry.problems)


def test_malformed_tensor_table_is_refused_with_one_line(models):
    table = json.dumps({"w": ["not", "a", "dict"]}).encode()
    (models / "loras" / "odd.safetensors").write_bytes(struct.pack("<Q", len(table)) + table)
    registry = ModelRegistry(models)
    assert "odd" not in [m.name for m in registry.models()]
    assert any("odd.safetensors" in p for p in registry.problems)
