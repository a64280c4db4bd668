"""Training-test helpers: a tiny SDXL-like pipeline (tests/tiny_models.py has SD 1.5 only) and
synthetic character images. No downloads; seeded, so two builds are identical."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
from PIL import Image, ImageDraw
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from tests.tiny_models import byte_tokenizer


def _text_config(tokenizer, hidden: int, projection: int) -> CLIPTextConfig:
    return CLIPTextConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                          num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
                          projection_dim=projection, bos_token_id=tokenizer.bos_token_id,
                          eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.eos_token_id)


def build_tiny_sdxl(folder: Path, seed: int = 0) -> Path:
    """Save a tiny SDXL-like pipeline: two text encoders (16 + 16 → cross-attention 32), pooled
    projection 16 and ``text_time`` added embeddings (6 time ids × 8), in diffusers format."""
    torch.manual_seed(seed)
    time_dim, proj = 8, 16
    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=8,
                                in_channels=4, out_channels=4, cross_attention_dim=32, attention_head_dim=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), norm_num_groups=8,
                                addition_embed_type="text_time", addition_time_embed_dim=time_dim,
                                projection_class_embeddings_input_dim=proj + 6 * time_dim,
                                use_linear_projection=True)
    vae = AutoencoderKL(block_out_channels=(8, 8, 16, 16), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4, layers_per_block=1,
                        norm_num_groups=4, sample_size=64)
    tok = byte_tokenizer()
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=CLIPTextModel(_text_config(tok, 16, 16)),
        text_encoder_2=CLIPTextModelWithProjection(_text_config(tok, 16, proj)), tokenizer=tok,
        tokenizer_2=byte_tokenizer(), unet=unet,
        scheduler=EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                         steps_offset=1))
    pipe.save_pretrained(folder)
    return Path(folder)


def training_images(n: int = 4, size: int = 64, seed: int = 0) -> list[Image.Image]:
    """Simple synthetic "character" images: a coloured figure on a grey background."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(n):
        img = Image.new("RGB", (size, size), (200, 200, 200))
        draw = ImageDraw.Draw(img)
        c = tuple(int(v) for v in rng.integers(30, 230, 3))
        cx = size // 2 + int(rng.integers(-size // 8, size // 8 + 1))
        draw.ellipse([cx - size // 8, size // 8, cx + size // 8, size // 8 + size // 4], fill=c)
        draw.rectangle([cx - size // 6, size // 8 + size // 4, cx + size // 6, size - size // 8], fill=c[::-1])
        images.append(img)
    return images
