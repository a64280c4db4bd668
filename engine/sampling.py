"""Scheduler names and the fast/quality presets per model family (pure Python).

Families: standard SD, LCM (and LCM-LoRA), SDXL Lightning (trailing timesteps) and
Turbo (guidance 0). `sampling_for(...)` fills the steps, guidance and scheduler that a
request leaves open.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from engine.families import FLOW_SAMPLING, FLOW_SCHEDULER
from engine.jobs import EngineError, Preset

SCHEDULERS = ("euler", "euler_a", "dpm++", "dpm++_karras", "ddim", "lcm", "lightning", "turbo")
_ALIASES = {"dpmpp": "dpm++", "dpm++_2m": "dpm++", "dpmpp_2m": "dpm++", "dpm++_2m_karras": "dpm++_karras",
            "dpmpp_2m_karras": "dpm++_karras", "euler_ancestral": "euler_a", "euler-a": "euler_a"}


@dataclass(frozen=True)
class Sampling:
    scheduler: str
    steps: int
    guidance: float


PRESETS: dict[tuple[str, Preset], Sampling] = {
    ("standard", Preset.FAST): Sampling("dpm++_karras", 14, 6.0),
    ("standard", Preset.QUALITY): Sampling("dpm++_karras", 30, 7.0),
    ("lcm", Preset.FAST): Sampling("lcm", 4, 1.0),
    ("lcm", Preset.QUALITY): Sampling("lcm", 8, 1.5),
    ("lightning", Preset.FAST): Sampling("lightning", 4, 0.0),
    ("lightning", Preset.QUALITY): Sampling("lightning", 8, 0.0),
    ("turbo", Preset.FAST): Sampling("turbo", 1, 0.0),
    ("turbo", Preset.QUALITY): Sampling("turbo", 4, 0.0),
    **{(arch, Preset(preset)): Sampling(FLOW_SCHEDULER, steps, guidance)
       for arch, presets in FLOW_SAMPLING.items() for preset, (steps, guidance) in presets.items()},
}


def scheduler_key(name: str) -> str:
    """``name`` as a key of :data:`SCHEDULERS` when it is one or one of its aliases (any case,
    spaces for underscores); otherwise ``name`` folded the same way (not a key)."""
    key = name.strip().lower().replace(" ", "_")
    return _ALIASES.get(key, key)


def normalise_scheduler(name: str) -> str:
    """The :data:`SCHEDULERS` key of ``name``; EngineError when it names none."""
    key = scheduler_key(name)
    if key not in SCHEDULERS:
        raise EngineError(f"unknown scheduler {name!r} (known: {', '.join(SCHEDULERS)})")
    return key


def sampling_for(family: str, preset: Preset, scheduler: Optional[str], steps: Optional[int],
                 guidance: Optional[float]) -> Sampling:
    """Preset values for the family, overridden by whatever the request sets explicitly."""
    base = PRESETS.get((family, preset)) or PRESETS[("standard", preset)]
    flow = base.scheduler == FLOW_SCHEDULER  # flow-matching families keep their pipeline's own scheduler
    return Sampling(
        normalise_scheduler(scheduler) if scheduler and not flow else base.scheduler,
        steps if steps is not None else base.steps,
        guidance if guidance is not None else base.guidance,
    )
