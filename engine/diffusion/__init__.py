"""Diffusers backend. Imports torch/diffusers: load it lazily (the engine does).

Importing it quiets diffusers' and transformers' own progress bars and warnings: the engine
reports progress itself, and their notices (such as the PIL image-processor fallback when
torchvision is absent) mean nothing to an illustrator.
"""
from diffusers.utils import logging as _diffusers_logging
from transformers.utils import logging as _transformers_logging

for _logging in (_diffusers_logging, _transformers_logging):
    _logging.set_verbosity_error()
    _logging.disable_progress_bar()
