"""Regenerate the shipped SD 1.5 / SDXL config folders (configs and tokenizer files, no weights).

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
    for name, files in (("sd15", SD15), ("sdxl", SDXL)):
        for rel, data in files.items():
            path = HERE / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if len(sys.argv) > 1:
        write_clip_tokenizer(Path(sys.argv[1]), HERE / "clip_tokenizer")


if __name__ == "__main__":
    main()
