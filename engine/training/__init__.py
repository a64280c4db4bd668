"""LoRA training for character cards (issue 6).

``from engine.training import TrainingRequest`` is light (no torch); ``train_lora`` imports the
torch backend on first use, so the app and CLI can import this package freely.
"""
from __future__ import annotations

from typing import Any

from engine.training.captions import caption, captions_for, default_trigger
from engine.training.request import (DEFAULTS, MIN_IMAGES, TrainingDefaults, TrainingRequest,
                                     TrainingResult)

__all__ = ["DEFAULTS", "MIN_IMAGES", "TrainingDefaults", "TrainingRequest", "TrainingResult", "caption",
           "captions_for", "default_trigger", "train_lora"]


def train_lora(*args: Any, **kwargs: Any) -> TrainingResult:
    """See :func:`engine.training.trainer.train_lora` (imported lazily: it needs torch)."""
    from engine.training.trainer import train_lora as _train

    return _train(*args, **kwargs)
