"""What Qwen-Image-Edit needs beyond ``from_pretrained``: its processor without torchvision, and the
reference area (how many pixels the pipeline reads each reference image at).

- transformers' ``Qwen2VLProcessor.from_pretrained`` also builds a video processor, which needs
  torchvision; Panelsmith does not install torchvision, so without it the processor is assembled from
  the folder's ``processor/`` files with the PIL image processor and no video processor (the edit
  pipelines never pass videos).
- ``QwenImageEditPlusPipeline`` resizes every reference to about 1024² pixels for its VAE and 384²
  for its vision encoder (module constants ``VAE_IMAGE_SIZE`` / ``CONDITION_IMAGE_SIZE``), and
  ``QwenImageEditInpaintPipeline`` works at about 1024². :func:`reference_area` lets the engine
  option ``DeviceOptions.reference_area`` (default None: exactly the pipeline's own sizes, what users
  get) scale those areas for one call; the tests set it small so that a tiny model runs in a second.
"""
from __future__ import annotations

import contextlib
import importlib.util
import sys
import threading
from pathlib import Path
from typing import Any, Iterator, Optional

#: The area (pixels) the Qwen-Image-Edit pipelines read a reference image at for their VAE.
PIPELINE_AREA = 1024 * 1024
_PATCH_LOCK = threading.Lock()


def has_torchvision() -> bool:
    return importlib.util.find_spec("torchvision") is not None


def _image_only_class() -> Any:
    from transformers import Qwen2VLProcessor

    class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
        """``Qwen2VLProcessor`` without a video processor (which needs torchvision)."""

        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument is None and argument_name == "video_processor":
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

    return ImageOnlyQwen2VLProcessor


def image_only_processor(folder: Path) -> Any:
    """The processor of a Qwen-Image-Edit diffusers folder (``processor/``: tokenizer files and
    ``preprocessor_config.json``), with transformers' PIL image processor and no video processor."""
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    where = str(folder / "processor")
    tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True)
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(where, local_files_only=True)
    return _image_only_class()(image_processor=image_processor, tokenizer=tokenizer, video_processor=None,
                               chat_template=getattr(tokenizer, "chat_template", None))


def load_overrides(arch: str, folder: Path, is_folder: bool) -> dict[str, Any]:
    """Components to pass to ``from_pretrained`` for ``arch``: the processor of a Qwen-Image-Edit folder
    when torchvision is missing, else nothing."""
    if arch != "qwen-image-edit" or not is_folder or has_torchvision() or not (folder / "processor").is_dir():
        return {}
    return {"processor": image_only_processor(folder)}


@contextlib.contextmanager
def reference_area(pipe: Any, area: Optional[int]) -> Iterator[None]:
    """For one call of a Qwen-Image-Edit pipeline, read references at ``area`` pixels instead of the
    pipeline's 1024² (its vision-encoder area scales by the same factor). None: change nothing."""
    module = sys.modules.get(type(pipe).__module__)
    if area is None or module is None or not hasattr(module, "calculate_dimensions"):
        yield
        return
    scale = area / PIPELINE_AREA
    original = module.calculate_dimensions

    def scaled(target_area: float, ratio: float) -> Any:
        return original(max(32 * 32, target_area * scale), ratio)

    with _PATCH_LOCK:
        module.calculate_dimensions = scaled
        try:
            yield
        finally:
            module.calculate_dimensions = original
