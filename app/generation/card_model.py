"""Which model a card's panels will be generated with, and that model's weight licence (for the card
editor: a non-commercial licence is always named)."""
from __future__ import annotations

from pathlib import Path

from engine.errors import one_line
from engine.jobs import EngineError
from engine.families import family_of
from engine.registry import GENERATORS, ModelRegistry

from ..project import CharacterCard, Project, StyleCard
from ..safe_paths import looks_like_path, resolve_model_setting
from .request import choose_model


def card_model_line(project: Project, card: CharacterCard | StyleCard, models_dir: str | Path | None,
                    project_dir: Path | None = None) -> str:
    """One line: "Model: NAME (family) — licence: …"; a style card's preferred model wins over the
    project's; what is missing is said instead (never an exception)."""
    registry = ModelRegistry(models_dir)
    try:
        if isinstance(card, StyleCard) and card.model:
            name = card.model
            if looks_like_path(name):
                name = resolve_model_setting(name, project_dir, registry.models_dir)
        else:
            name = choose_model(project, registry, None, project_dir)
        info = registry.resolve(name)
    except (EngineError, OSError, ValueError) as exc:
        return f"Model: not chosen yet ({one_line(exc, 160)})"
    known = family_of(info.arch.value) if info.kind in GENERATORS else None
    family = f" ({known.label})" if known else ""
    licence = info.licence or "unknown: check the model's own terms"
    return f"Model: {info.name}{family} — licence: {licence}"
