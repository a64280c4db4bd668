"""Every loader that reads a non-safetensors file reads tensors only: a malicious pickle runs no code."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from engine.conditioning.weights import load_ip_adapter_state_dict
from engine.jobs import EngineError
from engine.training.checkpoint import load_checkpoint


class _Payload:
    """Unpickling this calls ``Path.touch(marker)``: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _malicious(path: Path, marker: Path) -> Path:
    torch.save({"image_proj": _Payload(marker), "ip_adapter": {"1.to_k_ip.weight": torch.zeros(2, 2)}}, path,
               pickle_protocol=pickle.DEFAULT_PROTOCOL)
    return path


@pytest.mark.parametrize("suffix", [".bin", ".pt", ".pth"])
def test_adapter_bin_with_code_is_refused_and_runs_nothing(tmp_path, suffix):
    marker = tmp_path / "pwned"
    path = _malicious(tmp_path / f"ip-adapter{suffix}", marker)
    with pytest.raises(EngineError) as info:
        load_ip_adapter_state_dict(path)
    assert path.name in str(info.value)
    assert not marker.exists(), "loading the adapter ran code from the file"


def test_training_checkpoint_with_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = _malicious(tmp_path / "step-000010.pt", marker)
    with pytest.raises(EngineError):
        load_checkpoint(path)
    assert not marker.exists(), "loading the checkpoint ran code from the file"


def test_the_payload_really_runs_code_when_unpickled(tmp_path):
    """The probe is live: a plain (unsafe) load would have run it."""
    marker = tmp_path / "pwned"
    path = _malicious(tmp_path / "x.bin", marker)
    torch.load(path, weights_only=False)
    assert marker.exists()
