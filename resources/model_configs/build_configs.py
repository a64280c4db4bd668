"""Regenerate the shipped config folders: SD 1.5 / SDXL (configs and tokenizer files, no weights), and the
large families bench/real_size.py builds at real size (FLUX.1 Kontext, FLUX.2 klein 4B, Qwen-Image-Edit).

    python resources/model_configs/build_configs.py BPE_GZ

BPE_GZ is OpenAI CLIP's `bpe_simple_vocab_16e6.txt.gz` (MIT; shipped in the open-clip-torch
package). The CLIP vocabulary and merges are written once to clip_tokenizer/; the engine links
them into each tokenizer folder when it materialises a config folder.
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SCHED = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
             prediction_type="epsilon", steps_offset=1, clip_sample=False, set_alpha_to_one=False,
             timestep_spacing="leading")


def clip_text(hidden, inter, layers, heads, act, proj, arch):
    return {"architectures": [arch], "model_type": "clip_text_model", "hidden_size": hidden,
            "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
            "hidden_act": act, "projection_dim": proj, "vocab_size": 49408, "max_position_embeddings": 77,
            "layer_norm_eps": 1e-5, "attention_dropout": 0.0, "dropout": 0.0, "initializer_range": 0.02,
            "initializer_factor": 1.0, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
            "torch_dtype": "float32"}


def vae(scaling, sample):
    return {"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": 4,
            "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
            "block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "act_fn": "silu",
            "norm_num_groups": 32, "sample_size": sample, "scaling_factor": scaling,
            "force_upcast": True}


def tok(pad):
    return {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "bos_token": "<|startoftext|>",
            "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": pad,
            "do_lower_case": True, "errors": "replace", "add_prefix_space": False}


SD15 = {
    "model_index.json": {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.42.1",
                         "feature_extractor": [None, None], "safety_checker": [None, None],
                         "image_encoder": [None, None], "requires_safety_checker": False,
                         "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                         "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                         "vae": ["diffusers", "AutoencoderKL"]},
    "scheduler/scheduler_config.json": {"_class_name": "PNDMScheduler", "skip_prk_steps": True, **SCHED},
    "text_encoder/config.json": clip_text(768, 3072, 12, 12, "quick_gelu", 768, "CLIPTextModel"),
    "tokenizer/tokenizer_config.json": tok("<|endoftext|>"),
    "unet/config.json": {"_class_name": "UNet2DConditionModel", "sample_size": 64, "in_channels": 4, "out_channels": 4,
                         "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
                         "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
                         "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2,
                         "cross_attention_dim": 768, "attention_head_dim": 8, "norm_num_groups": 32,
                         "center_input_sample": False, "flip_sin_to_cos": True, "freq_shift": 0,
                         "downsample_padding": 1, "mid_block_scale_factor": 1, "act_fn": "silu", "norm_eps": 1e-5},
    "vae/config.json": vae(0.18215, 512),
}

SDXL = {
    "model_index.json": {"_class_name": "StableDiffusionXLPipeline", "_diffusers_version": "0.42.1",
                         "force_zeros_for_empty_prompt": True, "feature_extractor": [None, None],
                         "image_encoder": [None, None], "scheduler": ["diffusers", "EulerDiscreteScheduler"],
                         "text_encoder": ["transformers", "CLIPTextModel"],
                         "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
                         "tokenizer": ["transformers", "CLIPTokenizer"], "tokenizer_2": ["transformers", "CLIPTokenizer"],
                         "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]},
    "scheduler/scheduler_config.json": {"_class_name": "EulerDiscreteScheduler", "interpolation_type": "linear",
                                        "use_karras_sigmas": False, **SCHED},
    "text_encoder/config.json": clip_text(768, 3072, 12, 12, "quick_gelu", 768, "CLIPTextModel"),
    "text_encoder_2/config.json": clip_text(1280, 5120, 32, 20, "gelu", 1280, "CLIPTextModelWithProjection"),
    "tokenizer/tokenizer_config.json": tok("<|endoftext|>"),
    "tokenizer_2/tokenizer_config.json": tok("!"),
    "unet/config.json": {"_class_name": "UNet2DConditionModel", "sample_size": 128, "in_channels": 4, "out_channels": 4,
                         "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                         "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
                         "block_out_channels": [320, 640, 1280], "layers_per_block": 2,
                         "transformer_layers_per_block": [1, 2, 10], "attention_head_dim": [5, 10, 20],
                         "cross_attention_dim": 2048, "use_linear_projection": True,
                         "addition_embed_type": "text_time", "addition_time_embed_dim": 256,
                         "projection_class_embeddings_input_dim": 2816, "norm_num_groups": 32,
                         "flip_sin_to_cos": True, "freq_shift": 0, "act_fn": "silu", "norm_eps": 1e-5},
    "vae/config.json": vae(0.13025, 1024),
}


# The large families, for bench/real_size.py (configs only: it builds them with random weights). Shapes as
# published with each model; README.md in this folder names the source of every number, and
# tests/test_model_configs.py checks each model's parameter count against its published size. Tokenizers
# are not shipped: the bench feeds the text encoders token ids and the pipelines embeddings.
T5_XXL = {"architectures": ["T5EncoderModel"], "model_type": "t5", "d_model": 4096, "d_ff": 10240, "d_kv": 64,
          "num_heads": 64, "num_layers": 24, "vocab_size": 32128, "feed_forward_proj": "gated-gelu",
          "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128, "is_encoder_decoder": False,
          "layer_norm_epsilon": 1e-6, "dense_act_fn": "gelu_new", "is_gated_act": True, "torch_dtype": "bfloat16"}
FLUX_VAE = {"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": 16,
            "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
            "block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "act_fn": "silu",
            "norm_num_groups": 32, "sample_size": 1024, "scaling_factor": 0.3611, "shift_factor": 0.1159,
            "use_quant_conv": False, "use_post_quant_conv": False, "force_upcast": True}
FLUX1_KONTEXT = {
    "model_index.json": {"_class_name": "FluxKontextPipeline", "_diffusers_version": "0.42.1",
                         "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
                         "text_encoder": ["transformers", "CLIPTextModel"], "text_encoder_2": ["transformers", "T5EncoderModel"],
                         "tokenizer": [None, None], "tokenizer_2": [None, None],
                         "transformer": ["diffusers", "FluxTransformer2DModel"], "vae": ["diffusers", "AutoencoderKL"]},
    "scheduler/scheduler_config.json": {"_class_name": "FlowMatchEulerDiscreteScheduler", "base_image_seq_len": 256,
                                        "base_shift": 0.5, "max_image_seq_len": 4096, "max_shift": 1.15,
                                        "num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True},
    "text_encoder/config.json": clip_text(768, 3072, 12, 12, "quick_gelu", 768, "CLIPTextModel"),
    "text_encoder_2/config.json": T5_XXL,
    "transformer/config.json": {"_class_name": "FluxTransformer2DModel", "patch_size": 1, "in_channels": 64,
                                "num_layers": 19, "num_single_layers": 38, "attention_head_dim": 128,
                                "num_attention_heads": 24, "joint_attention_dim": 4096, "pooled_projection_dim": 768,
                                "guidance_embeds": True, "axes_dims_rope": [16, 56, 56]},
    "vae/config.json": FLUX_VAE,
}
FLUX2_KLEIN_4B = {
    "model_index.json": {"_class_name": "Flux2KleinPipeline", "_diffusers_version": "0.42.1",
                         "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
                         "text_encoder": ["transformers", "Qwen3ForCausalLM"], "tokenizer": [None, None],
                         "transformer": ["diffusers", "Flux2Transformer2DModel"],
                         "vae": ["diffusers", "AutoencoderKLFlux2"], "is_distilled": True},
    "scheduler/scheduler_config.json": {"_class_name": "FlowMatchEulerDiscreteScheduler", "base_image_seq_len": 256,
                                        "base_shift": 0.5, "max_image_seq_len": 4096, "max_shift": 1.15,
                                        "num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True},
    "text_encoder/config.json": {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 2560,
                                 "intermediate_size": 9728, "num_hidden_layers": 36, "num_attention_heads": 32,
                                 "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
                                 "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1000000,
                                 "tie_word_embeddings": True, "torch_dtype": "bfloat16"},
    "transformer/config.json": {"_class_name": "Flux2Transformer2DModel", "patch_size": 1, "in_channels": 128,
                                "num_layers": 5, "num_single_layers": 20, "attention_head_dim": 128,
                                "num_attention_heads": 24, "joint_attention_dim": 7680, "timestep_guidance_channels": 256,
                                "mlp_ratio": 3.0, "axes_dims_rope": [32, 32, 32, 32], "rope_theta": 2000, "eps": 1e-6,
                                "guidance_embeds": False},
    "vae/config.json": {"_class_name": "AutoencoderKLFlux2"},
}
QWEN_IMAGE_EDIT = {
    "model_index.json": {"_class_name": "QwenImageEditPlusPipeline", "_diffusers_version": "0.42.1",
                         "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
                         "text_encoder": ["transformers", "Qwen2_5_VLForConditionalGeneration"],
                         "tokenizer": [None, None], "processor": [None, None],
                         "transformer": ["diffusers", "QwenImageTransformer2DModel"],
                         "vae": ["diffusers", "AutoencoderKLQwenImage"]},
    "scheduler/scheduler_config.json": {"_class_name": "FlowMatchEulerDiscreteScheduler", "base_image_seq_len": 256,
                                        "base_shift": 0.5, "max_image_seq_len": 8192, "max_shift": 0.9,
                                        "num_train_timesteps": 1000, "shift": 1.0, "shift_terminal": 0.02,
                                        "use_dynamic_shifting": True, "time_shift_type": "exponential"},
    "text_encoder/config.json": {"architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl",
                                 "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                                 "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064,
                                 "max_position_embeddings": 128000, "rms_norm_eps": 1e-6, "rope_theta": 1000000,
                                 "vision_config": {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420,
                                                   "num_heads": 16, "out_hidden_size": 3584, "patch_size": 14,
                                                   "spatial_merge_size": 2, "temporal_patch_size": 2,
                                                   "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31]},
                                 "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
                                 "torch_dtype": "bfloat16"},
    "transformer/config.json": {"_class_name": "QwenImageTransformer2DModel", "patch_size": 2, "in_channels": 64,
                                "out_channels": 16, "num_layers": 60, "attention_head_dim": 128,
                                "num_attention_heads": 24, "joint_attention_dim": 3584, "guidance_embeds": False,
                                "axes_dims_rope": [16, 56, 56]},
    "vae/config.json": {"_class_name": "AutoencoderKLQwenImage", "base_dim": 96, "z_dim": 16, "dim_mult": [1, 2, 4, 4],
                        "num_res_blocks": 2, "attn_scales": [], "temperal_downsample": [False, True, True],
                        "dropout": 0.0},
}


def bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def write_clip_tokenizer(bpe_gz: Path, out: Path) -> None:
    """vocab.json + merges.txt exactly as OpenAI CLIP's SimpleTokenizer builds them (49408 tokens)."""
    lines = gzip.open(bpe_gz, "rt", encoding="utf-8").read().split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab += [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False), encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n", encoding="utf-8")


def main() -> None:
    for name, files in (("sd15", SD15), ("sdxl", SDXL), ("flux1_kontext", FLUX1_KONTEXT),
                        ("flux2_klein_4b", FLUX2_KLEIN_4B), ("qwen_image_edit", QWEN_IMAGE_EDIT)):
        for rel, data in files.items():
            path = HERE / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if len(sys.argv) > 1:
        write_clip_tokenizer(Path(sys.argv[1]), HERE / "clip_tokenizer")


if __name__ == "__main__":
    main()
