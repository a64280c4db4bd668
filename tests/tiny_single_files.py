"""Tiny model files in the layouts users download: an SDXL single-file checkpoint (original key layout,
optionally with the ``v_pred`` / ``ztsnr`` marker keys), and a FLUX.1 pipeline folder whose transformer is
also written alone as an original-layout .safetensors and as a GGUF file (Q8_0 where the shapes allow).
No downloads; tokenizers are written here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from tests.tiny_models import _unet_key_map, byte_tokenizer, ldm_unet_state, ldm_vae_state

# --- SDXL single file -----------------------------------------------------------------------------

_TE = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=1, vocab_size=49408,
           max_position_embeddings=77, projection_dim=32, bos_token_id=0, eos_token_id=2, pad_token_id=1)


def _open_clip_state(model: CLIPTextModelWithProjection, prefix: str) -> dict[str, torch.Tensor]:
    """A CLIP text model's weights in OpenCLIP's layout (fused in_proj, resblocks), as SDXL files hold them."""
    raw = {k.removeprefix("text_model."): v for k, v in model.state_dict().items()}
    state = {prefix + "token_embedding.weight": raw["embeddings.token_embedding.weight"],
             prefix + "positional_embedding": raw["embeddings.position_embedding.weight"],
             prefix + "ln_final.weight": raw["final_layer_norm.weight"],
             prefix + "ln_final.bias": raw["final_layer_norm.bias"],
             prefix + "text_projection": raw["text_projection.weight"].T}
    for i in range(model.config.num_hidden_layers):
        src, dst = f"encoder.layers.{i}.", f"{prefix}transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            state[f"{dst}attn.in_proj_{kind}"] = torch.cat([raw[f"{src}self_attn.{p}_proj.{kind}"] for p in "qkv"])
            state[f"{dst}attn.out_proj.{kind}"] = raw[f"{src}self_attn.out_proj.{kind}"]
            state[f"{dst}ln_1.{kind}"] = raw[f"{src}layer_norm1.{kind}"]
            state[f"{dst}ln_2.{kind}"] = raw[f"{src}layer_norm2.{kind}"]
            state[f"{dst}mlp.c_fc.{kind}"] = raw[f"{src}mlp.fc1.{kind}"]
            state[f"{dst}mlp.c_proj.{kind}"] = raw[f"{src}mlp.fc2.{kind}"]
    return state


def write_sdxl_single_file(path: Path, v_pred: bool = False, ztsnr: bool = False, seed: int = 5) -> Path:
    """A tiny checkpoint with SDXL's topology (3 levels, 2 layers each, text_time embedding, two text
    encoders) in the original key layout; `v_pred` / `ztsnr` add the marker keys v-prediction files carry."""
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(32, 32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), transformer_layers_per_block=1,
        cross_attention_dim=32 + 48, attention_head_dim=1, use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, projection_class_embeddings_input_dim=32 + 6 * 8,
    )
    vae = AutoencoderKL(block_out_channels=(32, 32, 64, 64), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4,
                        sample_size=64)
    clip_l = CLIPTextModel(CLIPTextConfig(**_TE)).eval()
    # The second encoder must be wider than the first, as in real files: diffusers tells them apart by width.
    clip_g = CLIPTextModelWithProjection(CLIPTextConfig(**{**_TE, "hidden_size": 48, "hidden_act": "gelu"})).eval()
    pairs = _unet_key_map(levels=3, down_attn=lambda i: i > 0, up_attn=lambda i: i < 2)
    state = {**ldm_unet_state(unet, pairs), **ldm_vae_state(vae)}
    for key, value in clip_l.state_dict().items():
        state["conditioner.embedders.0.transformer.text_model." + key.removeprefix("text_model.")] = value
    state.update(_open_clip_state(clip_g, "conditioner.embedders.1.model."))
    if v_pred:
        state["v_pred"] = torch.tensor([])
    if ztsnr:
        state["ztsnr"] = torch.tensor([])
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


# --- FLUX.1 folder + its transformer as single files ------------------------------------------------

FLUX_TRANSFORMER = dict(patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16,
                        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32,
                        axes_dims_rope=[4, 4, 8])


def _t5_tokenizer():
    """A T5 stand-in: word-level vocabulary of bytes-as-words, wrapped as a fast tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{chr(c): 3 + i for i, c in enumerate(range(97, 123))}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=64)


def write_flux_folder(folder: Path, seed: int = 7):
    """A tiny FLUX.1 pipeline in diffusers format; returns the pipeline (its transformer is the reference)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(seed)
    transformer = FluxTransformer2DModel(**FLUX_TRANSFORMER)
    clip = CLIPTextModel(CLIPTextConfig(**{**_TE, "vocab_size": 514, "bos_token_id": 512, "eos_token_id": 513,
                                           "pad_token_id": 513, "num_hidden_layers": 5})).eval()
    t5 = T5EncoderModel(T5Config(vocab_size=32, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                 relative_attention_num_buckets=8, decoder_start_token_id=0)).eval()
    vae = AutoencoderKL(block_out_channels=(4,), latent_channels=1, norm_num_groups=1, use_quant_conv=False,
                        use_post_quant_conv=False, sample_size=32,
                        shift_factor=0.0609, scaling_factor=1.5035)
    pipe = FluxPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=clip,
                        tokenizer=byte_tokenizer(), text_encoder_2=t5, tokenizer_2=_t5_tokenizer(),
                        transformer=transformer)
    pipe.save_pretrained(folder, safe_serialization=True)
    return pipe


def flux_original_state(transformer) -> dict[str, torch.Tensor]:
    """A diffusers FluxTransformer2DModel's weights in Black Forest Labs' original layout (the layout of
    the .safetensors and .gguf files users download), the inverse of diffusers' conversion."""
    sd = transformer.state_dict()
    out: dict[str, torch.Tensor] = {}

    def swap(t: torch.Tensor) -> torch.Tensor:  # diffusers stores (scale, shift); BFL (shift, scale)
        shift, scale = t.chunk(2, dim=0)
        return torch.cat([scale, shift], dim=0)

    for src, dst in (("x_embedder", "img_in"), ("context_embedder", "txt_in"),
                     ("time_text_embed.timestep_embedder.linear_1", "time_in.in_layer"),
                     ("time_text_embed.timestep_embedder.linear_2", "time_in.out_layer"),
                     ("time_text_embed.text_embedder.linear_1", "vector_in.in_layer"),
                     ("time_text_embed.text_embedder.linear_2", "vector_in.out_layer"),
                     ("time_text_embed.guidance_embedder.linear_1", "guidance_in.in_layer"),
                     ("time_text_embed.guidance_embedder.linear_2", "guidance_in.out_layer"),
                     ("proj_out", "final_layer.linear")):
        for kind in ("weight", "bias"):
            if f"{src}.{kind}" in sd:
                out[f"{dst}.{kind}"] = sd[f"{src}.{kind}"]
    for kind in ("weight", "bias"):
        out[f"final_layer.adaLN_modulation.1.{kind}"] = swap(sd[f"norm_out.linear.{kind}"])
    for i in range(transformer.config.num_layers):
        s, d = f"transformer_blocks.{i}.", f"double_blocks.{i}."
        for kind in ("weight", "bias"):
            out[f"{d}img_mod.lin.{kind}"] = sd[f"{s}norm1.linear.{kind}"]
            out[f"{d}txt_mod.lin.{kind}"] = sd[f"{s}norm1_context.linear.{kind}"]
            out[f"{d}img_attn.qkv.{kind}"] = torch.cat([sd[f"{s}attn.to_{p}.{kind}"] for p in "qkv"])
            out[f"{d}txt_attn.qkv.{kind}"] = torch.cat([sd[f"{s}attn.add_{p}_proj.{kind}"] for p in "qkv"])
            out[f"{d}img_attn.proj.{kind}"] = sd[f"{s}attn.to_out.0.{kind}"]
            out[f"{d}txt_attn.proj.{kind}"] = sd[f"{s}attn.to_add_out.{kind}"]
            out[f"{d}img_mlp.0.{kind}"] = sd[f"{s}ff.net.0.proj.{kind}"]
            out[f"{d}img_mlp.2.{kind}"] = sd[f"{s}ff.net.2.{kind}"]
            out[f"{d}txt_mlp.0.{kind}"] = sd[f"{s}ff_context.net.0.proj.{kind}"]
            out[f"{d}txt_mlp.2.{kind}"] = sd[f"{s}ff_context.net.2.{kind}"]
        out[f"{d}img_attn.norm.query_norm.scale"] = sd[f"{s}attn.norm_q.weight"]
        out[f"{d}img_attn.norm.key_norm.scale"] = sd[f"{s}attn.norm_k.weight"]
        out[f"{d}txt_attn.norm.query_norm.scale"] = sd[f"{s}attn.norm_added_q.weight"]
        out[f"{d}txt_attn.norm.key_norm.scale"] = sd[f"{s}attn.norm_added_k.weight"]
    for i in range(transformer.config.num_single_layers):
        s, d = f"single_transformer_blocks.{i}.", f"single_blocks.{i}."
        for kind in ("weight", "bias"):
            out[f"{d}modulation.lin.{kind}"] = sd[f"{s}norm.linear.{kind}"]
            out[f"{d}linear1.{kind}"] = torch.cat([sd[f"{s}attn.to_{p}.{kind}"] for p in "qkv"]
                                                  + [sd[f"{s}proj_mlp.{kind}"]])
            out[f"{d}linear2.{kind}"] = sd[f"{s}proj_out.{kind}"]
        out[f"{d}norm.query_norm.scale"] = sd[f"{s}attn.norm_q.weight"]
        out[f"{d}norm.key_norm.scale"] = sd[f"{s}attn.norm_k.weight"]
    return {k: v.detach().contiguous() for k, v in out.items()}


def write_flux_safetensors(path: Path, transformer, prefix: str = "model.diffusion_model.") -> Path:
    """The transformer alone in the original layout, with ComfyUI's key prefix."""
    save_file({prefix + k: v for k, v in flux_original_state(transformer).items()}, str(path))
    return path


def write_flux_gguf(path: Path, transformer) -> Path:
    """The transformer alone as a GGUF file as city96's converter writes it: original names, 2-D weights
    whose rows are a multiple of 32 as Q8_0, the rest as F32."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch="flux")
    for name, tensor in flux_original_state(transformer).items():
        data = tensor.float().numpy()
        if data.ndim == 2 and data.shape[-1] % 32 == 0:
            quantized = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(name, quantized, raw_shape=quantized.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(name, np.ascontiguousarray(data, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
