"""Generation in the window: the generation controller (job queue and its actions), the extend-after-resize
offer, the Job Queue and Training docks, the Preferences and training dialogs."""

from .controller import GenerationController
from .extend_offer import ExtendOffer

__all__ = ["ExtendOffer", "GenerationController"]
