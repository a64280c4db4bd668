"""Tiny random-weight pipelines and adapter files in their real layouts (no downloads).

Used by tests/test_conditioning*.py and bench/identity.py. Everything is seeded.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file


def _tokenizer():
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _text_encoder(hidden: int, with_projection: bool = False):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    cfg = CLIPTextConfig(vocab_size=514, hidden_size=hidden, intermediate_size=37, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=77, projection_dim=hidden,
                         bos_token_id=512, eos_token_id=513, pad_token_id=513)
    return (CLIPTextModelWithProjection if with_projection else CLIPTextModel)(cfg).eval()


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=(8, 8, 16, 16), in_channels=3, out_channels=3, latent_channels=4,
                         down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                         layers_per_block=1, norm_num_groups=4, sample_size=64).eval()


def tiny_sd15():
    """SD 1.5 topology in miniature: up_blocks.0 has no attention, like SD 1.5."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8,
    ).eval()
    pipe = StableDiffusionPipeline(
        vae=_vae(), text_encoder=_text_encoder(32), tokenizer=_tokenizer(), unet=unet,
        scheduler=EulerDiscreteScheduler(steps_offset=1), safety_checker=None, feature_extractor=None,
        image_encoder=None, requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def tiny_sdxl():
    """SDXL topology in miniature: up_blocks.0 has 3 attention layers, like SDXL's."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=64, attention_head_dim=(2, 4), use_linear_projection=True, norm_num_groups=8,
        addition_embed_type="text_time", addition_time_embed_dim=8, projection_class_embeddings_input_dim=32 + 6 * 8,
        transformer_layers_per_block=1,
    ).eval()
    pipe = StableDiffusionXLPipeline(
        vae=_vae(), text_encoder=_text_encoder(32), text_encoder_2=_text_encoder(32, True),
        tokenizer=_tokenizer(), tokenizer_2=_tokenizer(), unet=unet, scheduler=EulerDiscreteScheduler(steps_offset=1),
        image_encoder=None, feature_extractor=None, force_zeros_for_empty_prompt=True,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _attn(unet, name: str):
    return unet.get_submodule(name.rsplit(".processor", 1)[0])


def _cross_procs(unet):
    """(index, name, attention) for each cross-attention processor, indexed as IP-Adapter files are."""
    return [(i, n, _attn(unet, n)) for i, n in enumerate(unet.attn_processors) if not n.endswith("attn1.processor")]


def write_image_encoder(folder: Path, proj_dim: int = 32) -> Path:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(1)
    cfg = CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8, projection_dim=proj_dim)
    CLIPVisionModelWithProjection(cfg).save_pretrained(folder, safe_serialization=True)
    return folder


def write_ip_adapter(path: Path, unet, embed_dim: int = 32, seed: int = 2) -> Path:
    """Plain IP-Adapter: image_proj.proj (4 tokens) + norm, ip_adapter.{i}.to_k_ip/to_v_ip."""
    g = torch.Generator().manual_seed(seed)
    cross = unet.config.cross_attention_dim
    sd = {
        "image_proj.proj.weight": torch.randn(4 * cross, embed_dim, generator=g) * 0.3,
        "image_proj.proj.bias": torch.zeros(4 * cross),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    for i, _, attn in _cross_procs(unet):
        hidden = attn.to_k.out_features
        sd[f"ip_adapter.{i}.to_k_ip.weight"] = torch.randn(hidden, cross, generator=g) * 0.3
        sd[f"ip_adapter.{i}.to_v_ip.weight"] = torch.randn(hidden, cross, generator=g) * 0.3
    save_file(sd, str(path))
    return path


def write_faceid(path: Path, unet, rank: int = 4, seed: int = 3) -> Path:
    """IP-Adapter FaceID: image_proj.proj.0/proj.2/norm + LoRA on every processor."""
    g = torch.Generator().manual_seed(seed)
    cross = unet.config.cross_attention_dim
    sd = {
        "image_proj.proj.0.weight": torch.randn(512, 512, generator=g) * 0.05,
        "image_proj.proj.0.bias": torch.zeros(512),
        "image_proj.proj.2.weight": torch.randn(4 * cross, 512, generator=g) * 0.05,
        "image_proj.proj.2.bias": torch.zeros(4 * cross),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    for i, name in enumerate(unet.attn_processors):
        attn = _attn(unet, name)
        hidden, k_in = attn.to_q.out_features, attn.to_k.in_features
        for proj, fan_in in (("to_q", attn.to_q.in_features), ("to_k", k_in), ("to_v", k_in), ("to_out", hidden)):
            sd[f"ip_adapter.{i}.{proj}_lora.down.weight"] = torch.randn(rank, fan_in, generator=g) * 0.1
            sd[f"ip_adapter.{i}.{proj}_lora.up.weight"] = torch.randn(hidden, rank, generator=g) * 0.1
        if not name.endswith("attn1.processor"):
            sd[f"ip_adapter.{i}.to_k_ip.weight"] = torch.randn(hidden, cross, generator=g) * 0.3
            sd[f"ip_adapter.{i}.to_v_ip.weight"] = torch.randn(hidden, cross, generator=g) * 0.3
    save_file(sd, str(path))
    return path


def instantid_state_dict(unet, dim: int = 64, queries: int = 4, seed: int = 4) -> dict[str, torch.Tensor]:
    """InstantID's ip-adapter layout: a Resampler (latents, proj_in 512->dim, 4 layers) image_proj."""
    g = torch.Generator().manual_seed(seed)
    cross = unet.config.cross_attention_dim
    inner = 64  # one head of 64, as `heads = to_q.rows // 64`

    def r(*shape, s=0.1):
        return torch.randn(*shape, generator=g) * s

    sd = {
        "image_proj.latents": r(1, queries, dim, s=dim ** -0.5),
        "image_proj.proj_in.weight": r(dim, 512, s=0.05), "image_proj.proj_in.bias": torch.zeros(dim),
        "image_proj.proj_out.weight": r(cross, dim), "image_proj.proj_out.bias": torch.zeros(cross),
        "image_proj.norm_out.weight": torch.ones(cross), "image_proj.norm_out.bias": torch.zeros(cross),
    }
    for j in range(4):
        p = f"image_proj.layers.{j}"
        sd.update({
            f"{p}.0.norm1.weight": torch.ones(dim), f"{p}.0.norm1.bias": torch.zeros(dim),
            f"{p}.0.norm2.weight": torch.ones(dim), f"{p}.0.norm2.bias": torch.zeros(dim),
            f"{p}.0.to_q.weight": r(inner, dim), f"{p}.0.to_kv.weight": r(2 * inner, dim),
            f"{p}.0.to_out.weight": r(dim, inner),
            f"{p}.1.0.weight": torch.ones(dim), f"{p}.1.0.bias": torch.zeros(dim),
            f"{p}.1.1.weight": r(4 * dim, dim), f"{p}.1.3.weight": r(dim, 4 * dim),
        })
    for i, _, attn in _cross_procs(unet):
        hidden = attn.to_k.out_features
        sd[f"ip_adapter.{i}.to_k_ip.weight"] = r(hidden, cross, s=0.3)
        sd[f"ip_adapter.{i}.to_v_ip.weight"] = r(hidden, cross, s=0.3)
    return sd


def write_instantid(path: Path, unet) -> Path:
    """As InstantID ships it: a nested {image_proj, ip_adapter} .bin, or flat .safetensors."""
    sd = instantid_state_dict(unet)
    if path.suffix == ".bin":
        nested = {"image_proj": {}, "ip_adapter": {}}
        for k, v in sd.items():
            head, _, rest = k.partition(".")
            nested[head][rest] = v
        torch.save(nested, str(path))
    else:
        save_file(sd, str(path))
    return path


def write_identitynet(folder: Path, unet, seed: int = 5) -> Path:
    """An SDXL ControlNet from the UNet's config, its zero convolutions randomised."""
    from diffusers import ControlNetModel

    torch.manual_seed(seed)
    cn = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(4, 8, 8, 16))
    with torch.no_grad():
        for mod in list(cn.controlnet_down_blocks) + [cn.controlnet_mid_block]:
            mod.weight.normal_(0, 0.3)
    cn.save_pretrained(folder, safe_serialization=True)
    return folder


def write_lora(path: Path, pipe, seed: int = 6) -> Path:
    """A UNet LoRA through peft, saved with the pipeline's `save_lora_weights`."""
    from peft import LoraConfig, get_peft_model_state_dict
    import copy

    torch.manual_seed(seed)
    unet = copy.deepcopy(pipe.unet)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian",
                                target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    with torch.no_grad():
        for n, p in unet.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.2)
    type(pipe).save_lora_weights(str(path.parent), unet_lora_layers=get_peft_model_state_dict(unet),
                                 weight_name=path.name, safe_serialization=True)
    return path


def run(pipe, seed: int = 0, steps: int = 3, size: int = 64, guidance: float = 5.0, **kwargs):
    """One seeded generation as a float array (h, w, 3)."""
    import numpy as np

    out = pipe(prompt=kwargs.pop("prompt", "a hero"), num_inference_steps=steps, guidance_scale=guidance,
               width=size, height=size, generator=torch.Generator().manual_seed(seed), output_type="np", **kwargs)
    return np.asarray(out.images[0], dtype=np.float64)
