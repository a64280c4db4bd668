"""Tiny random-weight Stable Diffusion models written to disk, for offline tests and benches.

Everything is built from configs (no downloads) and saved in the layouts users have:
a diffusers folder, an inpaint diffusers folder, a single-file SD 1.5 checkpoint in the
original (LDM) key layout, and a LoRA. Load them through the real registry.
"""
from __future__ import annotations

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def byte_tokenizer() -> CLIPTokenizer:
    """A CLIP tokenizer over single bytes: 256 characters, their </w> forms, start and end (514)."""
    chars = list(bytes_to_unicode().values())
    vocab = {t: i for i, t in enumerate(chars + [c + "</w>" for c in chars] + [BOS, EOS])}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77, bos_token=BOS, eos_token=EOS,
                         pad_token=EOS, unk_token=EOS)


def text_encoder(vocab_size: int, bos: int, eos: int, heads: int = 4) -> CLIPTextModel:
    config = CLIPTextConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=heads,
                            vocab_size=vocab_size, max_position_embeddings=77, projection_dim=32,
                            bos_token_id=bos, eos_token_id=eos, pad_token_id=eos)
    return CLIPTextModel(config).eval()


def tiny_unet(in_channels: int = 4) -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=8, in_channels=in_channels, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32, attention_head_dim=8,
        norm_num_groups=32,
    )


def tiny_vae() -> AutoencoderKL:
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8, 16, 16),
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1, norm_num_groups=4, sample_size=64,
    )


def scheduler() -> DDIMScheduler:
    return DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                         clip_sample=False, set_alpha_to_one=False, steps_offset=1)


def tiny_components(in_channels: int = 4, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    tokenizer = byte_tokenizer()
    return dict(
        unet=tiny_unet(in_channels), vae=tiny_vae(), scheduler=scheduler(), tokenizer=tokenizer,
        text_encoder=text_encoder(len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def write_diffusers_model(folder: Path, inpaint: bool = False) -> Path:
    """A tiny SD-1.5-like pipeline (64x64 native) saved in diffusers format."""
    cls = StableDiffusionInpaintPipeline if inpaint else StableDiffusionPipeline
    pipe = cls(**tiny_components(9 if inpaint else 4, seed=1 if inpaint else 0))
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def write_sdxl_model(folder: Path, seed: int = 4) -> Path:
    """A tiny SDXL-like pipeline (two text encoders, text_time embedding), diffusers format."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import CLIPTextModelWithProjection

    torch.manual_seed(seed)
    tokenizer = byte_tokenizer()
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=64, attention_head_dim=(2, 4), use_linear_projection=True,
        addition_embed_type="text_time", addition_time_embed_dim=8, projection_class_embeddings_input_dim=32 + 6 * 8,
    )
    te_config = text_encoder(len(tokenizer), tokenizer.bos_token_id, tokenizer.eos_token_id).config
    pipe = StableDiffusionXLPipeline(
        vae=tiny_vae(), text_encoder=CLIPTextModel(te_config), text_encoder_2=CLIPTextModelWithProjection(te_config),
        tokenizer=tokenizer, tokenizer_2=byte_tokenizer(), unet=unet,
        scheduler=EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                         steps_offset=1),
        image_encoder=None, feature_extractor=None, force_zeros_for_empty_prompt=True,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


# --- single-file checkpoint in the original LDM layout -------------------------------------------

def _unet_key_map(levels: int = 4, down_attn=lambda i: i < 3, up_attn=lambda i: i > 0) -> list[tuple[str, str]]:
    """(LDM, diffusers) prefix pairs for a UNet with 2 layers per block: SD 1.5's topology by default
    (4 levels, attention in the first three down and last three up levels)."""
    pairs = [("time_embed.0.", "time_embedding.linear_1."), ("time_embed.2.", "time_embedding.linear_2."),
             ("label_emb.0.0.", "add_embedding.linear_1."), ("label_emb.0.2.", "add_embedding.linear_2."),
             ("input_blocks.0.0.", "conv_in."), ("out.0.", "conv_norm_out."), ("out.2.", "conv_out."),
             ("middle_block.1.", "mid_block.attentions.0.")]
    for j in range(2):
        pairs.append((f"middle_block.{2 * j}.", f"mid_block.resnets.{j}."))
    for i in range(levels):
        for j in range(2):
            pairs.append((f"input_blocks.{3 * i + j + 1}.0.", f"down_blocks.{i}.resnets.{j}."))
            if down_attn(i):
                pairs.append((f"input_blocks.{3 * i + j + 1}.1.", f"down_blocks.{i}.attentions.{j}."))
        for j in range(3):
            pairs.append((f"output_blocks.{3 * i + j}.0.", f"up_blocks.{i}.resnets.{j}."))
            if up_attn(i):
                pairs.append((f"output_blocks.{3 * i + j}.1.", f"up_blocks.{i}.attentions.{j}."))
        if i < levels - 1:
            pairs.append((f"input_blocks.{3 * (i + 1)}.0.op.", f"down_blocks.{i}.downsamplers.0.conv."))
            pairs.append((f"output_blocks.{3 * i + 2}.{2 if up_attn(i) else 1}.", f"up_blocks.{i}.upsamplers.0."))
    return pairs


_RESNET = [("in_layers.0.", "norm1."), ("in_layers.2.", "conv1."), ("out_layers.0.", "norm2."),
           ("out_layers.3.", "conv2."), ("emb_layers.1.", "time_emb_proj."), ("skip_connection.", "conv_shortcut.")]


def _vae_key_map() -> list[tuple[str, str]]:
    pairs = [("mid.attn_1.", "mid_block.attentions.0.")]
    for i in range(4):
        for j in range(2):
            pairs.append((f"encoder.down.{i}.block.{j}.", f"encoder.down_blocks.{i}.resnets.{j}."))
        for j in range(3):
            pairs.append((f"decoder.up.{3 - i}.block.{j}.", f"decoder.up_blocks.{i}.resnets.{j}."))
        if i < 3:
            pairs.append((f"encoder.down.{i}.downsample.", f"encoder.down_blocks.{i}.downsamplers.0."))
            pairs.append((f"decoder.up.{3 - i}.upsample.", f"decoder.up_blocks.{i}.upsamplers.0."))
    for i in range(2):
        pairs.append((f"encoder.mid.block_{i + 1}.", f"encoder.mid_block.resnets.{i}."))
        pairs.append((f"decoder.mid.block_{i + 1}.", f"decoder.mid_block.resnets.{i}."))
    return pairs


def _rename(key: str, pairs: list[tuple[str, str]]) -> str:
    for ldm, hf in pairs:
        if key.startswith(hf) or f".{hf}" in key:
            key = key.replace(hf, ldm, 1)
            break
    return key


def ldm_unet_state(unet: UNet2DConditionModel, pairs: list[tuple[str, str]]) -> dict[str, torch.Tensor]:
    """A diffusers UNet's weights under the original layout's ``model.diffusion_model.`` names."""
    state: dict[str, torch.Tensor] = {}
    for key, value in unet.state_dict().items():
        new = _rename(key, pairs)
        if ".resnets." in key:
            for ldm, hf in _RESNET:
                new = new.replace(hf, ldm)
        state["model.diffusion_model." + new] = value
    return state


def ldm_vae_state(vae: AutoencoderKL) -> dict[str, torch.Tensor]:
    """A diffusers VAE's weights under the original layout's ``first_stage_model.`` names."""
    state: dict[str, torch.Tensor] = {}
    vae_pairs = _vae_key_map()
    attn = [("norm.", "group_norm."), ("q.", "to_q."), ("k.", "to_k."), ("v.", "to_v."), ("proj_out.", "to_out.0.")]
    for key, value in vae.state_dict().items():
        new = _rename(key, vae_pairs).replace("conv_shortcut", "nin_shortcut").replace("conv_norm_out", "norm_out")
        if "attn_1" in new:
            for ldm, hf in attn:
                new = new.replace(hf, ldm)
            if new.endswith(("q.weight", "k.weight", "v.weight", "proj_out.weight")):
                value = value[:, :, None, None]
        state["first_stage_model." + new] = value
    return state


def write_single_file_checkpoint(path: Path, seed: int = 2) -> Path:
    """A tiny checkpoint with SD 1.5's topology (narrow widths), in the original LDM key layout."""
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(32, 32, 64, 64),
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, cross_attention_dim=32, attention_head_dim=8,
    )
    vae = AutoencoderKL(block_out_channels=(32, 32, 64, 64), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4,
                        sample_size=64)
    clip = text_encoder(49408, 49406, 2, heads=1)  # the shipped CLIP tokenizer's vocabulary size
    state = {**ldm_unet_state(unet, _unet_key_map()), **ldm_vae_state(vae)}
    for key, value in clip.state_dict().items():
        state["cond_stage_model.transformer.text_model." + key.removeprefix("text_model.")] = value
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def write_lora(path: Path, model_folder: Path, seed: int = 3) -> Path:
    """A random LoRA for the tiny diffusers model's UNet attention layers, saved as diffusers writes it."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    pipe = StableDiffusionPipeline.from_pretrained(model_folder, local_files_only=True)
    config = LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False)
    pipe.unet.add_adapter(config)
    layers = get_peft_model_state_dict(pipe.unet)
    StableDiffusionPipeline.save_lora_weights(path.parent, unet_lora_layers=layers, weight_name=path.name,
                                              safe_serialization=True)
    return path


def write_models_dir(root: Path) -> Path:
    """The full tiny models folder: checkpoints/{tiny-sd, tiny-sd-inpaint, tiny-sd15-single.safetensors,
    tiny-sdxl-lightning}, loras/tiny-lora.safetensors."""
    (root / "checkpoints").mkdir(parents=True, exist_ok=True)
    (root / "loras").mkdir(exist_ok=True)
    write_diffusers_model(root / "checkpoints" / "tiny-sd")
    write_diffusers_model(root / "checkpoints" / "tiny-sd-inpaint", inpaint=True)
    write_single_file_checkpoint(root / "checkpoints" / "tiny-sd15-single.safetensors")
    write_sdxl_model(root / "checkpoints" / "tiny-sdxl-lightning")
    write_lora(root / "loras" / "tiny-lora.safetensors", root / "checkpoints" / "tiny-sd")
    return root


# --- pytest fixtures (import them into a test module) ---------------------------------------------

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory) -> Path:
    """A models folder holding every tiny model, written once per test session."""
    return write_models_dir(tmp_path_factory.mktemp("models"))


@pytest.fixture
def tiny_engine(tiny_models_dir):
    """A CPU Engine over the tiny models folder (its own pipeline cache)."""
    from engine.api import Engine
    from engine.device import DeviceOptions

    engine = Engine(tiny_models_dir, DeviceOptions(device="cpu"))
    yield engine
    engine.close()
