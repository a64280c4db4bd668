"""Generation in the window: job queue dock, panel actions, mask brush controls, preferences, training."""

from .install import GenerationUI, install

__all__ = ["GenerationUI", "install"]
