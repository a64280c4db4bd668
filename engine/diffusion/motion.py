"""AnimateDiff loops on a loaded SD 1.5 / SDXL model: load a motion adapter, run the motion pipeline.

The motion pipeline is a view over the model's loaded components (``from_pipe``) plus the adapter;
its UNet is the base UNet expanded with the adapter's motion modules. First-frame continuity uses
``AnimateDiffVideoToVideoPipeline``: every frame starts from the panel's image noised to
``strength``, so the loop opens on the still (SD 1.5; SDXL has no video-to-video pipeline and
generates from text, with a warning).
"""
from __future__ import annotations

import re
from typing import Any

import torch

from engine.errors import one_line
from engine.jobs import ModelLoadError
from engine.motion import _PROJ_IN
from engine.registry import Arch, ModelInfo

_TRANSFORMER = re.compile(r"^down_blocks\.0\.motion_modules\.0\.transformer_blocks\.(\d+)\.")
_MODULE = re.compile(r"^down_blocks\.0\.motion_modules\.(\d+)\.")


def load_motion_adapter(info: ModelInfo, dtype: torch.dtype) -> Any:
    """A diffusers ``MotionAdapter`` from a folder or a ``.safetensors`` file (ModelLoadError: one line)."""
    from diffusers import MotionAdapter

    try:
        if info.path.is_dir():
            return MotionAdapter.from_pretrained(str(info.path), torch_dtype=dtype, local_files_only=True)
        return _adapter_from_file(info, dtype)
    except ModelLoadError:
        raise
    except Exception as exc:  # diffusers/safetensors/torch raise many types for bad files
        raise ModelLoadError(f"could not load motion adapter {info.name!r} from {info.path}: {one_line(exc)} "
                             "(the file may be corrupt or incomplete; re-download it)") from exc


def _adapter_from_file(info: ModelInfo, dtype: torch.dtype) -> Any:
    """A ``.safetensors`` motion adapter (original AnimateDiff or diffusers keys): its config is read
    from the tensor shapes; heads and norm groups are those of every released adapter (8 and 32)."""
    from diffusers import MotionAdapter
    from diffusers.loaders.single_file_utils import convert_animatediff_checkpoint_to_diffusers
    from safetensors.torch import load_file

    raw = load_file(str(info.path))
    state = convert_animatediff_checkpoint_to_diffusers(raw)
    widths: dict[int, int] = {}
    for key, tensor in state.items():
        match = _PROJ_IN.match(key)
        if match:
            widths[int(match.group(1))] = int(tensor.shape[0])
    if not widths:
        raise ModelLoadError(f"{info.path.name} is not a motion adapter this version can read (no motion modules "
                             "in its down blocks)")
    modules = {int(m.group(1)) for k in state if (m := _MODULE.match(k))}
    layers = {int(m.group(1)) for k in state if (m := _TRANSFORMER.match(k))}
    pe = next((t for k, t in raw.items() if k.endswith("pos_encoder.pe")), None)
    config = dict(block_out_channels=tuple(widths[i] for i in sorted(widths)),
                  motion_layers_per_block=len(modules) or 2,
                  motion_transformer_layers_per_block=len(layers) or 1,
                  use_motion_mid_block=any(k.startswith("mid_block.motion_modules") for k in state),
                  motion_max_seq_length=int(pe.shape[1]) if pe is not None and pe.ndim == 3 else 32)
    adapter = MotionAdapter(**config)
    missing, unexpected = adapter.load_state_dict(state, strict=False)
    missing = [k for k in missing if "pos_embed" not in k]
    if missing or unexpected:
        sample = (missing or unexpected)[0]
        raise ModelLoadError(f"{info.path.name} does not match a motion adapter of its shape "
                             f"({len(missing)} missing, {len(unexpected)} unexpected tensors, e.g. {sample})")
    return adapter.to(dtype=dtype)


def motion_pipeline(model: Any, adapter: Any, continuity: bool) -> Any:
    """The AnimateDiff pipeline over ``model``'s components (text-to-video, or video-to-video
    where ``continuity`` and the model is SD 1.5)."""
    import diffusers

    if model.arch is Arch.SDXL:
        cls = diffusers.AnimateDiffSDXLPipeline
    elif continuity:
        cls = diffusers.AnimateDiffVideoToVideoPipeline
    else:
        cls = diffusers.AnimateDiffPipeline
    pipe = cls.from_pipe(model.base, motion_adapter=adapter)
    pipe.to(model.choice.device)
    pipe.set_progress_bar_config(disable=True)
    return pipe
