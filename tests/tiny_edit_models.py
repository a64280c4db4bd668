"""Tiny random-weight reference-edit pipelines (FLUX.2 klein, FLUX.1 Kontext, Qwen-Image-Edit Plus),
built offline from configs with tokenizers written here, saved in diffusers format.

They are shaped as diffusers' own tests shape theirs (one double and one single Flux block, head
dim 16; 2-layer Qwen-Image transformer; VAEs with 4-channel blocks), so a 64x64 call with two steps
takes well under a second. Load them through the real registry.
"""
from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import bytes_to_unicode

from tests.tiny_models import byte_tokenizer

CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|image_pad|>", "<|video_pad|>"]


def byte_level_tokenizer(specials: list[str], max_length: int = 512) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer without merges (every byte one token) plus special tokens, with a
    chat template: what Qwen-family pipelines need from their tokenizer."""
    chars = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, model_max_length=max_length, pad_token=specials[0],
                                  eos_token=specials[0])
    tok.add_special_tokens({"additional_special_tokens": specials[1:]})
    tok.chat_template = CHAT_TEMPLATE
    return tok


def word_tokenizer(max_length: int = 512) -> PreTrainedTokenizerFast:
    """A T5 stand-in: whitespace words over a small vocabulary, unknown words one id."""
    words = ["<pad>", "</s>", "<unk>"] + [w for w in "a the of and in on with red blue night rain coat hat "
                                          "girl boy man woman keep character image reference style".split()]
    core = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=core, model_max_length=max_length, pad_token="<pad>",
                                   eos_token="</s>", unk_token="<unk>")


def sensitive(model: torch.nn.Module, std: float = 0.2) -> torch.nn.Module:
    """Redraw a tiny transformer's weights, with sharp attention (query/key norm weights 3): with the
    default initialisation, attention over the padded text averages the reference tokens away and a
    different reference does not move a single 8-bit pixel."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if any(k in name for k in ("norm_q", "norm_k", "norm_added_q", "norm_added_k")):
                param.fill_(3.0)
            else:
                param.normal_(0.0, std)
    return model


def write_flux2_klein(folder: Path, seed: int = 20) -> Path:
    from diffusers import AutoencoderKLFlux2, FlowMatchEulerDiscreteScheduler, Flux2KleinPipeline, Flux2Transformer2DModel
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    tokenizer = byte_level_tokenizer(QWEN_SPECIALS[:3])
    hidden = 16
    # The pipeline stacks text encoder layers 9, 18 and 27: the tiny encoder keeps 28 of them.
    text_encoder = Qwen3ForCausalLM(Qwen3Config(
        hidden_size=hidden, intermediate_size=32, num_hidden_layers=28, num_attention_heads=2, num_key_value_heads=1,
        head_dim=8, vocab_size=len(tokenizer), max_position_embeddings=1024, tie_word_embeddings=True)).eval()
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=3 * hidden, timestep_guidance_channels=32, axes_dims_rope=(4, 4, 4, 4),
        guidance_embeds=False)
    sensitive(transformer)
    vae = AutoencoderKLFlux2(block_out_channels=(4, 4, 4, 4), latent_channels=4, norm_num_groups=1,
                             layers_per_block=1, sample_size=64, use_quant_conv=False, use_post_quant_conv=False)
    pipe = Flux2KleinPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=text_encoder,
                              tokenizer=tokenizer, transformer=transformer, is_distilled=True)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def write_flux_kontext(folder: Path, seed: int = 21) -> Path:
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxKontextPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    torch.manual_seed(seed)
    clip_tok = byte_tokenizer()
    t5_tok = word_tokenizer()
    clip = CLIPTextModel(CLIPTextConfig(
        hidden_size=32, intermediate_size=37, num_hidden_layers=5, num_attention_heads=4, vocab_size=len(clip_tok),
        max_position_embeddings=77, projection_dim=32, bos_token_id=clip_tok.bos_token_id,
        eos_token_id=clip_tok.eos_token_id, pad_token_id=clip_tok.eos_token_id)).eval()
    t5 = T5EncoderModel(T5Config(vocab_size=len(t5_tok), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                 relative_attention_num_buckets=8, decoder_start_token_id=0)).eval()
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
        joint_attention_dim=32, pooled_projection_dim=32, axes_dims_rope=[4, 4, 8])
    sensitive(transformer)
    vae = AutoencoderKL(block_out_channels=(4, 4, 4, 4), latent_channels=1, norm_num_groups=1, use_quant_conv=False,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        use_post_quant_conv=False, sample_size=32,
                        shift_factor=0.0609, scaling_factor=1.5035)
    pipe = FluxKontextPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=clip,
                               tokenizer=clip_tok, text_encoder_2=t5, tokenizer_2=t5_tok, transformer=transformer,
                               image_encoder=None, feature_extractor=None)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def write_qwen_image_edit(folder: Path, seed: int = 22) -> Path:
    """A tiny Qwen-Image-Edit Plus folder laid out as the real one (``processor/`` with tokenizer files
    and ``preprocessor_config.json``), written without torchvision: the processor is saved by hand
    because transformers' processor wants a video processor, and the special-token ids are read back
    from the tokenizer into the text encoder's config."""
    import json

    from diffusers import (AutoencoderKLQwenImage, FlowMatchEulerDiscreteScheduler, QwenImageEditPlusPipeline,
                           QwenImageTransformer2DModel)
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    torch.manual_seed(seed)
    tokenizer = byte_level_tokenizer(QWEN_SPECIALS, max_length=1024)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
    config = Qwen2_5_VLConfig(
        text_config=dict(hidden_size=16, intermediate_size=16, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=2, vocab_size=len(tokenizer), rope_theta=1e6,
                         rope_scaling={"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"]),
        vision_config=dict(depth=2, hidden_size=16, intermediate_size=16, num_heads=2, out_hidden_size=16),
        hidden_size=16, vocab_size=len(tokenizer), vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"], image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"], vision_token_id=ids["<|vision_start|>"])
    text_encoder = Qwen2_5_VLForConditionalGeneration(config).eval()
    transformer = QwenImageTransformer2DModel(
        patch_size=2, in_channels=16, out_channels=4, num_layers=2, attention_head_dim=16, num_attention_heads=3,
        joint_attention_dim=16, guidance_embeds=False, axes_dims_rope=(8, 4, 4))
    sensitive(transformer)
    vae = AutoencoderKLQwenImage(base_dim=24, z_dim=4, dim_mult=[1, 2, 4], num_res_blocks=1,
                                 temperal_downsample=[False, True], latents_mean=[0.0] * 4, latents_std=[1.0] * 4)
    pipe = QwenImageEditPlusPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=text_encoder,
                                     tokenizer=tokenizer, processor=None, transformer=transformer)
    pipe.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder / "processor")
    Qwen2VLImageProcessorPil().save_pretrained(folder / "processor")
    index = json.loads((folder / "model_index.json").read_text())
    index["processor"] = ["transformers", "Qwen2VLProcessor"]
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))
    return folder


def write_edit_models(root: Path) -> dict[str, Path]:
    """The tiny edit-family folders under ``root/checkpoints``: name -> folder."""
    ckpt = root / "checkpoints"
    ckpt.mkdir(parents=True, exist_ok=True)
    return {"tiny-flux2-klein": write_flux2_klein(ckpt / "tiny-flux2-klein"),
            "tiny-flux-kontext": write_flux_kontext(ckpt / "tiny-flux-kontext")}


def write_lora(path: Path, model_folder: Path, transformer_class: str, pipeline_class: str,
               targets: tuple[str, ...] = ("to_q", "to_k", "to_v"), seed: int = 23) -> Path:
    """A random LoRA on a tiny folder's transformer attention, in diffusers' key layout
    (``transformer.<block>.attn.to_q.lora_A.weight``), as the families' LoRA trainers write it."""
    import diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    transformer = getattr(diffusers, transformer_class).from_pretrained(model_folder / "transformer",
                                                                       local_files_only=True)
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=list(targets), init_lora_weights=False))
    with torch.no_grad():
        for name, param in transformer.named_parameters():
            if "lora_" in name:
                param.normal_(0.0, 0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    getattr(diffusers, pipeline_class).save_lora_weights(
        path.parent, transformer_lora_layers=get_peft_model_state_dict(transformer), weight_name=path.name,
        safe_serialization=True)
    return path


def write_flux2_lora(path: Path, model_folder: Path, seed: int = 23) -> Path:
    """A random LoRA on the tiny FLUX.2 klein transformer's attention, in diffusers' key layout."""
    return write_lora(path, model_folder, "Flux2Transformer2DModel", "Flux2KleinPipeline", seed=seed)


def rename_lora_keys(path: Path, old: str, new: str) -> Path:
    """The same LoRA file with each key's leading `old` made `new`: ``diffusion_model.`` is how ComfyUI and
    ai-toolkit save Qwen-Image LoRAs."""
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    save_file({new + k[len(old):] if k.startswith(old) else k: v for k, v in tensors.items()}, str(path))
    return path


def write_kohya_flux_lora(path: Path, width: int, rank: int = 4, seed: int = 24) -> Path:
    """A random FLUX.1 LoRA in kohya's sd-scripts layout (what ComfyUI users download for FLUX.1 and
    Kontext): BFL block names flattened with ``lora_unet_``, ``lora_down``/``lora_up`` and an alpha; on the
    first double block's image attention (fused qkv and its output projection) of a transformer `width` wide."""
    from safetensors.torch import save_file

    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, rows in (("double_blocks_0_img_attn_qkv", 3 * width), ("double_blocks_0_img_attn_proj", width)):
        key = f"lora_unet_{name}"
        tensors[f"{key}.lora_down.weight"] = torch.randn(rank, width, generator=gen) * 0.5
        tensors[f"{key}.lora_up.weight"] = torch.randn(rows, rank, generator=gen) * 0.5
        tensors[f"{key}.alpha"] = torch.tensor(float(rank))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path
