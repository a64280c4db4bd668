"""Tiny random-weight SD 1.5-like and SDXL-like pipelines saved in diffusers format (no downloads).

Used by the training tests and ``bench/train.py``. Seeded, so two builds are identical.
"""
from __future__ import annotations

from pathlib import Path

import torch
from diffusers import (AutoencoderKL, DDPMScheduler, EulerDiscreteScheduler, StableDiffusionPipeline,
                       StableDiffusionXLPipeline, UNet2DConditionModel)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode


def tiny_tokenizer() -> CLIPTokenizer:
    """A byte-level CLIP tokenizer (256 characters, each also with ``</w>``, plus start/end)."""
    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": i + len(chars) for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _text_config(hidden: int, projection: int) -> CLIPTextConfig:
    return CLIPTextConfig(vocab_size=514, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
                          num_attention_heads=2, max_position_embeddings=77, projection_dim=projection,
                          bos_token_id=512, eos_token_id=513, pad_token_id=513)


def _vae() -> AutoencoderKL:
    return AutoencoderKL(block_out_channels=(8, 8, 16, 16), down_block_types=("DownEncoderBlock2D",) * 4,
                         up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=1,
                         norm_num_groups=4, sample_size=64)


def _scheduler_kwargs() -> dict:
    return dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                prediction_type="epsilon", steps_offset=1)


def build_tiny_sd15(folder: Path, seed: int = 0) -> Path:
    """Save a tiny SD 1.5-like pipeline (UNet widths 32/64, cross-attention 32) to ``folder``."""
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=8,
                                in_channels=4, out_channels=4, cross_attention_dim=32, attention_head_dim=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), norm_num_groups=8)
    pipe = StableDiffusionPipeline(vae=_vae(), text_encoder=CLIPTextModel(_text_config(32, 32)),
                                   tokenizer=tiny_tokenizer(), unet=unet,
                                   scheduler=EulerDiscreteScheduler(**_scheduler_kwargs()), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder)
    return Path(folder)


def build_tiny_sdxl(folder: Path, seed: int = 0) -> Path:
    """Save a tiny SDXL-like pipeline: two text encoders (16 + 16 → cross 32), text_time added embeddings."""
    torch.manual_seed(seed)
    time_dim, proj = 8, 16
    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=8,
                                in_channels=4, out_channels=4, cross_attention_dim=32, attention_head_dim=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), norm_num_groups=8,
                                addition_embed_type="text_time", addition_time_embed_dim=time_dim,
                                projection_class_embeddings_input_dim=proj + 6 * time_dim,
                                use_linear_projection=True)
    pipe = StableDiffusionXLPipeline(vae=_vae(), text_encoder=CLIPTextModel(_text_config(16, 16)),
                                     text_encoder_2=CLIPTextModelWithProjection(_text_config(16, proj)),
                                     tokenizer=tiny_tokenizer(), tokenizer_2=tiny_tokenizer(), unet=unet,
                                     scheduler=EulerDiscreteScheduler(**_scheduler_kwargs()))
    pipe.save_pretrained(folder)
    return Path(folder)


def training_images(n: int = 4, size: int = 64, seed: int = 0) -> list:
    """Simple synthetic "character" images: a coloured figure on a grey background."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        img = Image.new("RGB", (size, size), (200, 200, 200))
        draw = ImageDraw.Draw(img)
        c = tuple(int(v) for v in rng.integers(30, 230, 3))
        cx = size // 2 + int(rng.integers(-size // 8, size // 8 + 1))
        draw.ellipse([cx - size // 8, size // 8, cx + size // 8, size // 8 + size // 4], fill=c)
        draw.rectangle([cx - size // 6, size // 8 + size // 4, cx + size // 6, size - size // 8], fill=c[::-1])
        images.append(img)
    return images


__all__ = ["build_tiny_sd15", "build_tiny_sdxl", "tiny_tokenizer", "training_images", "DDPMScheduler"]
