"""Load a diffusion transformer kept as one file (.safetensors or GGUF-quantized .gguf) with the text
encoders, VAE and scheduler of a diffusers folder of the same family, as ComfyUI users keep them
(``diffusion_models/x.gguf`` beside the rest).

The transformer loads through diffusers' ``from_single_file`` with the family folder's transformer
config (offline), quantized files through its GGUF support (the ``gguf`` package); the weights stay
quantized and are dequantized layer by layer at the compute dtype.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import diffusers

from engine.diffusion.flux_keys import flux_to_diffusers
from engine.errors import one_line
from engine.jobs import ModelLoadError
from engine.registry import TRANSFORMER_CLASSES, TRANSFORMER_LABELS, ModelInfo

#: Pipelines a family folder may name; the folder's other class names are never imported.
FAMILY_PIPELINES = {
    "FluxTransformer2DModel": ("FluxPipeline", "FluxKontextPipeline", "FluxImg2ImgPipeline", "FluxInpaintPipeline",
                               "FluxKontextInpaintPipeline"),
    "Flux2Transformer2DModel": ("Flux2Pipeline", "Flux2KleinPipeline", "Flux2KleinInpaintPipeline"),
    "QwenImageTransformer2DModel": ("QwenImagePipeline", "QwenImageEditPipeline", "QwenImageEditPlusPipeline",
                                    "QwenImageEditInpaintPipeline", "QwenImageInpaintPipeline"),
}


def read_weights(path: Path) -> dict[str, Any]:
    """A weights file's tensors: GGUF ones stay quantized (diffusers' GGUF parameters)."""
    if path.suffix.lower() == ".gguf":
        from diffusers.models.model_loading_utils import load_gguf_checkpoint

        return load_gguf_checkpoint(str(path))
    from safetensors.torch import load_file

    return load_file(str(path))


def load_transformer_pipeline(info: ModelInfo, dtype: Any) -> Any:
    """The family folder's pipeline with `info`'s transformer in place of its own (which is not read)."""
    label = TRANSFORMER_LABELS.get(info.variant, info.variant)
    transformer_class = TRANSFORMER_CLASSES[info.variant]
    if info.companion is None:
        raise ModelLoadError(
            f"{info.path.name} is a {label} transformer without text encoders or VAE: put a diffusers folder of "
            f"the {label} family (model_index.json, text_encoder*/, tokenizer*/, vae/) in checkpoints/")
    folder = info.companion
    index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    pipeline_name = str(index.get("_class_name", ""))
    if pipeline_name not in FAMILY_PIPELINES.get(transformer_class, ()):
        raise ModelLoadError(f"{folder.name} is a {pipeline_name or 'unknown'} folder, not one Panelsmith runs "
                             f"with a {label} transformer")
    kwargs: dict[str, Any] = dict(config=str(folder), subfolder="transformer", torch_dtype=dtype,
                                  local_files_only=True)
    if info.path.suffix.lower() == ".gguf":
        kwargs["quantization_config"] = diffusers.GGUFQuantizationConfig(compute_dtype=dtype)
    try:
        source: Any = str(info.path)
        if info.variant == "flux":  # converted here: diffusers' conversion assumes the released width
            source = flux_to_diffusers(read_weights(info.path))
        transformer = getattr(diffusers, transformer_class).from_single_file(source, **kwargs)
        pipe = getattr(diffusers, pipeline_name).from_pretrained(
            str(folder), transformer=transformer, torch_dtype=dtype, local_files_only=True)
    except ModelLoadError:
        raise
    except Exception as exc:  # diffusers/gguf/torch raise many types for files that do not fit
        raise ModelLoadError(
            f"could not load {info.path.name} as a {label} transformer with {folder.name}: {one_line(exc)} "
            "(the file may be incomplete, or made for another model of the family)") from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe
