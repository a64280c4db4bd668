"""Tiny random PhotoMaker files in the released key layout (no downloads, seeded).

``photomaker-v1.bin`` / ``photomaker-v2.bin`` are ``{"id_encoder": {...}, "lora_weights": {...}}``:
the ID encoder is a CLIP vision model with projection (``vision_model.*``, ``visual_projection``),
``visual_projection_2`` (V1), ``fuse_module.{mlp1,mlp2}.{layernorm,fc1,fc2}`` and
``fuse_module.layer_norm`` (both), and ``qformer_perceiver.{token_proj,token_norm,perceiver_resampler}``
(V2); the LoRA is in diffusers' old attention-processor format (``unet.<processor>.to_q_lora.down``).
The keys are written out here by hand, not taken from the engine's modules.
"""
from __future__ import annotations

from pathlib import Path

import torch

VISION_HIDDEN = 32  # one head: the engine reads CLIP ViT-L's head width of 64 (hidden // 64 heads, at least 1)


def _vision(seed: int, proj_dim: int) -> dict[str, torch.Tensor]:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    cfg = CLIPVisionConfig(hidden_size=VISION_HIDDEN, intermediate_size=37, num_hidden_layers=2, num_attention_heads=1,
                           image_size=32, patch_size=8, projection_dim=proj_dim)
    return {k: v.clone() for k, v in CLIPVisionModelWithProjection(cfg).state_dict().items()}


def _mlp(prefix: str, in_dim: int, out_dim: int, hidden: int, r) -> dict[str, torch.Tensor]:
    return {f"{prefix}.layernorm.weight": torch.ones(in_dim), f"{prefix}.layernorm.bias": torch.zeros(in_dim),
            f"{prefix}.fc1.weight": r(hidden, in_dim), f"{prefix}.fc1.bias": r(hidden),
            f"{prefix}.fc2.weight": r(out_dim, hidden), f"{prefix}.fc2.bias": r(out_dim)}


def _fuse(dim: int, r) -> dict[str, torch.Tensor]:
    return {**_mlp("fuse_module.mlp1", 2 * dim, dim, dim, r), **_mlp("fuse_module.mlp2", dim, dim, dim, r),
            "fuse_module.layer_norm.weight": torch.ones(dim), "fuse_module.layer_norm.bias": torch.zeros(dim)}


def _qformer(dim: int, tokens: int, r, depth: int = 2, inner: int = 64) -> dict[str, torch.Tensor]:
    q, p = "qformer_perceiver.", "qformer_perceiver.perceiver_resampler."
    sd = {f"{q}token_proj.0.weight": r(64, 512), f"{q}token_proj.0.bias": r(64),
          f"{q}token_proj.2.weight": r(dim * tokens, 64), f"{q}token_proj.2.bias": r(dim * tokens),
          f"{q}token_norm.weight": torch.ones(dim), f"{q}token_norm.bias": torch.zeros(dim),
          f"{p}proj_in.weight": r(dim, VISION_HIDDEN), f"{p}proj_in.bias": r(dim),
          f"{p}proj_out.weight": r(dim, dim), f"{p}proj_out.bias": r(dim),
          f"{p}norm_out.weight": torch.ones(dim), f"{p}norm_out.bias": torch.zeros(dim)}
    for j in range(depth):
        lp = f"{p}layers.{j}."
        sd.update({f"{lp}0.norm1.weight": torch.ones(dim), f"{lp}0.norm1.bias": torch.zeros(dim),
                   f"{lp}0.norm2.weight": torch.ones(dim), f"{lp}0.norm2.bias": torch.zeros(dim),
                   f"{lp}0.to_q.weight": r(inner, dim), f"{lp}0.to_kv.weight": r(2 * inner, dim),
                   f"{lp}0.to_out.weight": r(dim, inner),
                   f"{lp}1.0.weight": torch.ones(dim), f"{lp}1.0.bias": torch.zeros(dim),
                   f"{lp}1.1.weight": r(4 * dim, dim), f"{lp}1.3.weight": r(dim, 4 * dim)})
    return sd


def _lora(unet, r, rank: int = 4) -> dict[str, torch.Tensor]:
    sd = {}
    for name in unet.attn_processors:
        attn = unet.get_submodule(name.rsplit(".processor", 1)[0])
        for proj, lin in (("to_q", attn.to_q), ("to_k", attn.to_k), ("to_v", attn.to_v), ("to_out", attn.to_out[0])):
            sd[f"unet.{name}.{proj}_lora.down.weight"] = r(rank, lin.in_features)
            sd[f"unet.{name}.{proj}_lora.up.weight"] = r(lin.out_features, rank)
    return sd


def photomaker_state_dict(unet, version: int = 1, seed: int = 7) -> dict[str, dict[str, torch.Tensor]]:
    """PhotoMaker V1 or V2 at tiny widths for a UNet of text width ``cross_attention_dim``."""
    g = torch.Generator().manual_seed(seed)
    dim = unet.config.cross_attention_dim

    def r(*shape):
        return torch.randn(*shape, generator=g) * 0.2

    half = dim // 2
    enc = _vision(seed, half)
    if version == 1:
        enc["visual_projection_2.weight"] = r(dim - half, VISION_HIDDEN)
    else:
        enc.update(_qformer(dim, tokens=2, r=r))
    enc.update(_fuse(dim, r))
    return {"id_encoder": enc, "lora_weights": _lora(unet, r)}


def write_photomaker(path: Path, unet, version: int = 1) -> Path:
    """As released: a torch pickle of tensors (.bin), or the flat safetensors conversion."""
    sd = photomaker_state_dict(unet, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({f"{part}.{k}": v.contiguous() for part, d in sd.items() for k, v in d.items()}, str(path))
    else:
        torch.save(sd, str(path))
    return path
