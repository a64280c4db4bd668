"""Build diffusers schedulers from Panelsmith's scheduler names."""
from __future__ import annotations

from typing import Any

from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    LCMScheduler,
)


def make_scheduler(name: str, base_config: Any) -> Any:
    """A fresh scheduler `name` (see engine.sampling.SCHEDULERS) from the model's own config."""
    if name == "euler":
        return EulerDiscreteScheduler.from_config(base_config)
    if name == "euler_a":
        return EulerAncestralDiscreteScheduler.from_config(base_config)
    if name == "dpm++":
        return DPMSolverMultistepScheduler.from_config(base_config, algorithm_type="dpmsolver++", solver_order=2)
    if name == "dpm++_karras":
        return DPMSolverMultistepScheduler.from_config(
            base_config, algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=True
        )
    if name == "ddim":
        return DDIMScheduler.from_config(base_config)
    if name == "lcm":
        return LCMScheduler.from_config(base_config)
    if name == "lightning":  # SDXL Lightning: Euler with trailing timesteps
        return EulerDiscreteScheduler.from_config(base_config, timestep_spacing="trailing")
    if name == "turbo":  # SD/SDXL Turbo: ancestral Euler, trailing timesteps, guidance 0
        return EulerAncestralDiscreteScheduler.from_config(base_config, timestep_spacing="trailing")
    raise ValueError(f"unknown scheduler {name}")
