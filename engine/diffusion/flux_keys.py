"""FLUX.1 transformer weights from Black Forest Labs' original layout (the .safetensors and .gguf files
users download) to diffusers' names, for any width.

diffusers' own conversion assumes the released width (3072) when it splits the single blocks' fused
projection; this one reads the width from the file, so it gives the same result on released models
and also loads narrower ones. Works on plain tensors and on diffusers' GGUF parameters (quantized rows
are split and joined whole).
"""
from __future__ import annotations

from typing import Any

import torch

_PLAIN = {
    "img_in": "x_embedder", "txt_in": "context_embedder",
    "time_in.in_layer": "time_text_embed.timestep_embedder.linear_1",
    "time_in.out_layer": "time_text_embed.timestep_embedder.linear_2",
    "vector_in.in_layer": "time_text_embed.text_embedder.linear_1",
    "vector_in.out_layer": "time_text_embed.text_embedder.linear_2",
    "guidance_in.in_layer": "time_text_embed.guidance_embedder.linear_1",
    "guidance_in.out_layer": "time_text_embed.guidance_embedder.linear_2",
    "final_layer.linear": "proj_out",
}
_DOUBLE = {
    "img_mod.lin": "norm1.linear", "txt_mod.lin": "norm1_context.linear", "img_attn.proj": "attn.to_out.0",
    "txt_attn.proj": "attn.to_add_out", "img_mlp.0": "ff.net.0.proj", "img_mlp.2": "ff.net.2",
    "txt_mlp.0": "ff_context.net.0.proj", "txt_mlp.2": "ff_context.net.2",
}
_DOUBLE_NORMS = {
    "img_attn.norm.query_norm.scale": "attn.norm_q.weight", "img_attn.norm.key_norm.scale": "attn.norm_k.weight",
    "txt_attn.norm.query_norm.scale": "attn.norm_added_q.weight",
    "txt_attn.norm.key_norm.scale": "attn.norm_added_k.weight",
}
_SINGLE = {"modulation.lin": "norm.linear", "linear2": "proj_out"}
_SINGLE_NORMS = {"norm.query_norm.scale": "attn.norm_q.weight", "norm.key_norm.scale": "attn.norm_k.weight"}


def _blocks(state: dict[str, Any], prefix: str) -> list[int]:
    return sorted({int(k[len(prefix):].split(".")[0]) for k in state if k.startswith(prefix)})


def flux_to_diffusers(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """diffusers' FluxTransformer2DModel state dict from an original-layout one (ComfyUI's
    ``model.diffusion_model.`` prefix allowed)."""
    state = {k.removeprefix("model.diffusion_model."): v for k, v in checkpoint.items()}
    width = int(state["img_in.weight"].shape[0])
    out: dict[str, Any] = {}
    for kind in ("weight", "bias"):
        for src, dst in _PLAIN.items():
            if f"{src}.{kind}" in state:
                out[f"{dst}.{kind}"] = state[f"{src}.{kind}"]
        shift, scale = state[f"final_layer.adaLN_modulation.1.{kind}"].chunk(2, dim=0)
        out[f"norm_out.linear.{kind}"] = torch.cat([scale, shift], dim=0)
    for i in _blocks(state, "double_blocks."):
        src, dst = f"double_blocks.{i}.", f"transformer_blocks.{i}."
        for kind in ("weight", "bias"):
            for a, b in _DOUBLE.items():
                out[f"{dst}{b}.{kind}"] = state[f"{src}{a}.{kind}"]
            for stream, names in (("img", ("to_q", "to_k", "to_v")), ("txt", ("add_q_proj", "add_k_proj", "add_v_proj"))):
                for name, part in zip(names, state[f"{src}{stream}_attn.qkv.{kind}"].chunk(3, dim=0)):
                    out[f"{dst}attn.{name}.{kind}"] = part
        for a, b in _DOUBLE_NORMS.items():
            out[dst + b] = state[src + a]
    for i in _blocks(state, "single_blocks."):
        src, dst = f"single_blocks.{i}.", f"single_transformer_blocks.{i}."
        for kind in ("weight", "bias"):
            for a, b in _SINGLE.items():
                out[f"{dst}{b}.{kind}"] = state[f"{src}{a}.{kind}"]
            fused = state[f"{src}linear1.{kind}"]
            mlp = int(fused.shape[0]) - 3 * width
            q, k, v, m = torch.split(fused, [width, width, width, mlp], dim=0)
            out.update({f"{dst}attn.to_q.{kind}": q, f"{dst}attn.to_k.{kind}": k, f"{dst}attn.to_v.{kind}": v,
                        f"{dst}proj_mlp.{kind}": m})
        for a, b in _SINGLE_NORMS.items():
            out[dst + b] = state[src + a]
    return out
