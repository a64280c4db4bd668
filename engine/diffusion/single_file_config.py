"""Config folders for single-file checkpoints, built from the shipped configs in resources/.

`from_single_file` needs a local diffusers config folder to work offline. The shipped
folders describe the real SD 1.5 / SDXL shapes; widths that differ in a checkpoint
(pruned or tiny models) are read from its safetensors header and written into a
materialised copy, so the same code loads both. No torch needed here.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from engine.registry import Arch, read_safetensors_header

CONFIG_ROOT = Path(__file__).resolve().parents[2] / "resources" / "model_configs"
_TOKENIZER_FILES = ("vocab.json", "merges.txt")
_cache_root: Path | None = None


def _shape(header: dict, key: str) -> list[int] | None:
    entry = header.get(key)
    return list(entry["shape"]) if entry else None


def overrides_from_header(header: dict, arch: Arch, base: dict[str, dict]) -> dict[str, dict[str, Any]]:
    """Config fields whose checkpoint shapes differ from the shipped config, per subfolder."""
    out: dict[str, dict[str, Any]] = {"unet": {}, "vae": {}, "text_encoder": {}, "text_encoder_2": {}}
    unet = base["unet"]
    prefix = "model.diffusion_model."
    conv_in = _shape(header, prefix + "input_blocks.0.0.weight")
    if conv_in:
        lpb = unet["layers_per_block"]
        widths = []
        for level in range(len(unet["block_out_channels"])):
            shape = _shape(header, f"{prefix}input_blocks.{1 + level * (lpb + 1)}.0.out_layers.3.weight")
            widths.append(shape[0] if shape else None)
        if all(widths):
            out["unet"]["block_out_channels"] = widths
        out["unet"]["in_channels"] = conv_in[1]
        cross = [v["shape"][1] for k, v in header.items() if k.startswith(prefix) and k.endswith("attn2.to_k.weight")]
        if cross:
            out["unet"]["cross_attention_dim"] = cross[0]
        if arch is Arch.SDXL and all(widths):
            out["unet"].update(_sdxl_unet_fields(header, widths, lpb))
    vae_widths = []
    for level in range(4):
        shape = _shape(header, f"first_stage_model.encoder.down.{level}.block.0.conv1.weight")
        vae_widths.append(shape[0] if shape else None)
    if all(vae_widths):
        out["vae"]["block_out_channels"] = vae_widths
    te = "cond_stage_model.transformer.text_model." if arch is Arch.SD15 else \
        "conditioner.embedders.0.transformer.text_model."
    out["text_encoder"].update(_clip_fields(header, te, "embeddings.token_embedding.weight",
                                            "embeddings.position_embedding.weight", "encoder.layers.", "mlp.fc1.weight"))
    if arch is Arch.SDXL:
        te2 = "conditioner.embedders.1.model."
        fields = _clip_fields(header, te2, "token_embedding.weight", "positional_embedding",
                              "transformer.resblocks.", "mlp.c_fc.weight")
        projection = _shape(header, te2 + "text_projection")
        if fields and projection:
            fields["projection_dim"] = projection[1]
        out["text_encoder_2"].update(fields)
    return {
        sub: {k: v for k, v in fields.items() if v is not None and base.get(sub, {}).get(k) != v}
        for sub, fields in out.items()
    }


def _clip_fields(header: dict, prefix: str, token: str, position: str, layers: str, fc1: str) -> dict[str, Any]:
    """A CLIP text model's config fields from the shapes under `prefix` (empty when absent)."""
    emb = _shape(header, prefix + token)
    if not emb:
        return {}
    start = prefix + layers
    count = {k[len(start):].split(".")[0] for k in header if k.startswith(start)}
    fc = _shape(header, f"{start}0.{fc1}")
    pos = _shape(header, prefix + position)
    return dict(vocab_size=emb[0], hidden_size=emb[1], num_hidden_layers=len(count),
                num_attention_heads=max(1, emb[1] // 64), intermediate_size=fc[0] if fc else None,
                max_position_embeddings=pos[0] if pos else 77, projection_dim=emb[1])


def _sdxl_unet_fields(header: dict, widths: list[int], lpb: int) -> dict[str, Any]:
    """SDXL's per-level transformer depth, head counts (64-wide heads) and added-embedding widths."""
    prefix = "model.diffusion_model."
    depth = []
    for level in range(len(widths)):
        start = f"{prefix}input_blocks.{1 + level * (lpb + 1)}.1.transformer_blocks."
        blocks = {k[len(start):].split(".")[0] for k in header if k.startswith(start)}
        depth.append(len(blocks) or 1)
    fields: dict[str, Any] = dict(transformer_layers_per_block=depth,
                                  attention_head_dim=[max(1, w // 64) for w in widths])
    label = _shape(header, prefix + "label_emb.0.0.weight")
    projection = _shape(header, "conditioner.embedders.1.model.text_projection")
    if label:
        fields["projection_class_embeddings_input_dim"] = label[1]
        if projection and (label[1] - projection[1]) % 6 == 0:
            fields["addition_time_embed_dim"] = (label[1] - projection[1]) // 6
    return fields


def scheduler_overrides(v_prediction: bool, zero_snr: bool) -> dict[str, Any]:
    """Scheduler config fields for a v-prediction / zero-terminal-SNR checkpoint (as ComfyUI reads the
    ``v_pred`` / ``ztsnr`` marker keys). Zero terminal SNR needs trailing timesteps, or the first step
    starts short of pure noise."""
    fields: dict[str, Any] = {}
    if v_prediction:
        fields["prediction_type"] = "v_prediction"
    if v_prediction or zero_snr:
        fields.update(rescale_betas_zero_snr=True, timestep_spacing="trailing")
    return fields


#: Guidance rescale for v-prediction checkpoints: the usual recommendation (Lin et al. 2023, "Common
#: Diffusion Noise Schedules and Sample Steps are Flawed"; NoobAI-XL's card), against over-exposure at
#: zero terminal SNR.
V_PREDICTION_GUIDANCE_RESCALE = 0.7


def config_folder_for(checkpoint: Path, arch: Arch) -> Path:
    """A diffusers config folder (no weights) matching `checkpoint`, for `config=`."""
    shipped = CONFIG_ROOT / ("sdxl" if arch is Arch.SDXL else "sd15")
    subs = ("unet", "vae", "text_encoder") + (("text_encoder_2",) if arch is Arch.SDXL else ())
    base = {sub: json.loads((shipped / sub / "config.json").read_text()) for sub in subs}
    overrides = overrides_from_header(read_safetensors_header(checkpoint), arch, base)
    key = hashlib.sha1(json.dumps([arch.value, overrides], sort_keys=True).encode()).hexdigest()[:16]
    target = _materialised_root() / f"{arch.value}-{key}"
    if target.is_dir():
        return target
    staging = Path(tempfile.mkdtemp(dir=_materialised_root()))
    shutil.copytree(shipped, staging, dirs_exist_ok=True)
    for sub, fields in overrides.items():
        if fields:
            path = staging / sub / "config.json"
            path.write_text(json.dumps({**base[sub], **fields}, indent=2))
    for tokenizer in staging.glob("tokenizer*"):
        for name in _TOKENIZER_FILES:
            shutil.copyfile(CONFIG_ROOT / "clip_tokenizer" / name, tokenizer / name)
    staging.rename(target)
    return target


def _materialised_root() -> Path:
    global _cache_root
    if _cache_root is None:
        _cache_root = Path(tempfile.mkdtemp(prefix="panelsmith-configs-"))
        atexit.register(shutil.rmtree, _cache_root, True)
    return _cache_root
