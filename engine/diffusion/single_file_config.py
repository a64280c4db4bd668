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
    out: dict[str, dict[str, Any]] = {"unet": {}, "vae": {}, "text_encoder": {}}
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
    vae_widths = []
    for level in range(4):
        shape = _shape(header, f"first_stage_model.encoder.down.{level}.block.0.conv1.weight")
        vae_widths.append(shape[0] if shape else None)
    if all(vae_widths):
        out["vae"]["block_out_channels"] = vae_widths
    if arch is Arch.SD15:
        te = "cond_stage_model.transformer.text_model."
        emb = _shape(header, te + "embeddings.token_embedding.weight")
        if emb:
            layers = {int(k[len(te) + len("encoder.layers.") :].split(".")[0]) for k in header if k.startswith(te + "encoder.layers.")}
            fc1 = _shape(header, te + "encoder.layers.0.mlp.fc1.weight")
            pos = _shape(header, te + "embeddings.position_embedding.weight")
            out["text_encoder"].update(
                vocab_size=emb[0], hidden_size=emb[1], num_hidden_layers=len(layers),
                num_attention_heads=max(1, emb[1] // 64), intermediate_size=fc1[0] if fc1 else None,
                max_position_embeddings=pos[0] if pos else 77, projection_dim=emb[1],
            )
    return {
        sub: {k: v for k, v in fields.items() if v is not None and base.get(sub, {}).get(k) != v}
        for sub, fields in out.items()
    }


def config_folder_for(checkpoint: Path, arch: Arch) -> Path:
    """A diffusers config folder (no weights) matching `checkpoint`, for `config=`."""
    shipped = CONFIG_ROOT / ("sdxl" if arch is Arch.SDXL else "sd15")
    base = {sub: json.loads((shipped / sub / "config.json").read_text()) for sub in ("unet", "vae", "text_encoder")}
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
