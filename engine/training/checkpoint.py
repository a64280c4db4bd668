"""Resumable training checkpoints: LoRA weights + optimizer state + step + loss history.

One ``step-NNNNNN.pt`` file per checkpoint, written with ``torch.save`` (tensors, numbers, strings
only) to a temporary name and renamed into place, and read back with ``weights_only=True`` so a
checkpoint can never run code.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Optional

import torch

from engine.jobs import EngineError

FORMAT = "panelsmith-lora-checkpoint/1"
_NAME = re.compile(r"^step-(\d{6,})\.pt$")


def checkpoint_path(folder: Path, step: int) -> Path:
    return Path(folder) / f"step-{step:06d}.pt"


def list_checkpoints(folder: Path) -> list[Path]:
    """Checkpoints in ``folder``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(folder: Path, step: int, lora: dict[str, torch.Tensor], optimizer: dict[str, Any],
                    loss_history: list[float], fingerprint: dict[str, Any], keep: int = 2) -> Path:
    """Write a checkpoint atomically; only the newest ``keep`` checkpoints are kept."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "step": int(step),
        "lora": {k: v.detach().to("cpu").clone() for k, v in lora.items()},
        "optimizer": _to_cpu(optimizer),
        "loss_history": torch.tensor(loss_history, dtype=torch.float64),
        "fingerprint": json.dumps(fingerprint, sort_keys=True),
    }
    target = checkpoint_path(folder, step)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=folder)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    for old in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return target


def load_checkpoint(path: Path, fingerprint: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Read a checkpoint (tensors only); raise EngineError if it belongs to a different setup."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a corrupt file is reported, whatever the cause
        raise EngineError(f"cannot read training checkpoint {Path(path).name}: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise EngineError(f"{Path(path).name} is not a Panelsmith training checkpoint")
    saved = json.loads(payload["fingerprint"])
    if fingerprint is not None:
        diff = sorted(k for k in fingerprint if saved.get(k) != fingerprint[k])
        if diff:
            raise EngineError(f"checkpoint {Path(path).name} was made with different settings ({', '.join(diff)}); "
                              "start a new training or use the same settings")
    payload["fingerprint"] = saved
    payload["loss_history"] = [float(x) for x in payload["loss_history"].tolist()]
    return payload


def resolve_resume(resume_from: Optional[str], folder: Path) -> Optional[Path]:
    """``"latest"`` → newest checkpoint in ``folder`` (None if there is none); else the given path."""
    if not resume_from:
        return None
    if resume_from == "latest":
        found = list_checkpoints(folder)
        return found[-1] if found else None
    path = Path(resume_from)
    if not path.is_file():
        raise EngineError(f"checkpoint {path} does not exist")
    return path


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").clone()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value
