"""A tiny SD 1.5-like model and a matching AnimateDiff motion adapter (block widths 8 and 16, as in
diffusers' own AnimateDiff tests), built offline and saved in diffusers format for the registry."""
from __future__ import annotations

from pathlib import Path

import torch
from diffusers import MotionAdapter, StableDiffusionPipeline, UNet2DConditionModel

from tests.tiny_models import byte_tokenizer, scheduler, text_encoder, tiny_vae

WIDTHS = (8, 16)


def tiny_motion_unet() -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=WIDTHS,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=4, norm_num_groups=2,
    )


def tiny_adapter(seed: int = 6, widths: tuple[int, ...] = WIDTHS, groups: int = 2, heads: int = 4) -> MotionAdapter:
    torch.manual_seed(seed)
    return MotionAdapter(block_out_channels=widths, motion_layers_per_block=2, motion_norm_num_groups=groups,
                         motion_num_attention_heads=heads, motion_max_seq_length=32)


def write_motion_models(root: Path, seed: int = 5) -> Path:
    """``root/checkpoints/tiny-motion-sd`` (the base model) and ``root/motion_adapters/tiny-mm``."""
    torch.manual_seed(seed)
    tokenizer = byte_tokenizer()
    pipe = StableDiffusionPipeline(
        unet=tiny_motion_unet(), vae=tiny_vae(), scheduler=scheduler(), tokenizer=tokenizer,
        text_encoder=text_encoder(len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(root / "checkpoints" / "tiny-motion-sd", safe_serialization=True)
    tiny_adapter().save_pretrained(root / "motion_adapters" / "tiny-mm", safe_serialization=True)
    return root
