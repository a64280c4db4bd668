"""PhotoMaker (SDXL): the stacked ID embedding of a card's references fused into its class word (torch).

Written from PhotoMaker's published architecture (TencentARC/PhotoMaker, Apache-2.0): the ID encoder is
a CLIP vision model whose pooled output goes through ``visual_projection`` and ``visual_projection_2``
(V1), or whose patch tokens a Q-Former-like perceiver reads together with the face-recognition
embedding (V2, ``qformer_perceiver``); ``fuse_module`` (mlp1, mlp2, layer_norm) fuses each ID token
with the class word's text embedding. The released file holds ``id_encoder`` and ``lora_weights``
(a UNet LoRA); it is read with ``torch.load(weights_only=True)``, or from a flat safetensors
conversion (``id_encoder.*``, ``lora_weights.*``). Every width is read from the state dict.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
from torch import nn

from engine.conditioning import weights
from engine.jobs import EngineError, ModelLoadError

TRIGGER_WORD = "img"
#: Words PhotoMaker's prompts use as the class word, tried when the prompt does not name the character.
CLASS_WORDS = ("woman", "man", "girl", "boy", "person", "lady", "guy", "child", "kid")
#: At most this many references feed one character's stacked ID embedding (the highest-weighted first).
MAX_ID_IMAGES = 4
LORA_ADAPTER = "photomaker"


# --- modules, in the released key layout --------------------------------------------------------------

class _MLP(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int, residual: bool) -> None:
        super().__init__()
        self.layernorm = nn.LayerNorm(in_dim)
        self.fc1 = nn.Linear(in_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, out_dim)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc2(nn.functional.gelu(self.fc1(self.layernorm(x))))
        return out + x if self.residual else out


class FuseModule(nn.Module):
    """Fuses an ID token with the class word's text embedding (both of the text width)."""

    def __init__(self, dim: int, id_dim: int) -> None:
        super().__init__()
        self.mlp1 = _MLP(dim + id_dim, dim, dim, residual=False)
        self.mlp2 = _MLP(dim, dim, dim, residual=True)
        self.layer_norm = nn.LayerNorm(dim)

    def forward(self, text: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        x = self.mlp1(torch.cat([text, ids], dim=-1)) + text
        return self.layer_norm(self.mlp2(x))


class _PerceiverAttention(nn.Module):
    def __init__(self, dim: int, inner: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, x: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        x, latents = self.norm1(x), self.norm2(latents)
        b, n, _ = latents.shape
        q = self.to_q(latents)
        k, v = self.to_kv(torch.cat([x, latents], dim=-2)).chunk(2, dim=-1)

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, t.shape[1], self.heads, -1).transpose(1, 2)

        q, k, v = split(q), split(k), split(v)
        scale = 1 / math.sqrt(math.sqrt(q.shape[-1]))
        weight = ((q * scale) @ (k * scale).transpose(-2, -1)).float().softmax(dim=-1).to(q.dtype)
        return self.to_out((weight @ v).transpose(1, 2).reshape(b, n, -1))


class _FeedForward(nn.Sequential):
    def __init__(self, dim: int, inner: int) -> None:
        super().__init__(nn.LayerNorm(dim), nn.Linear(dim, inner, bias=False), nn.GELU(),
                         nn.Linear(inner, dim, bias=False))


class _Resampler(nn.Module):
    def __init__(self, dim: int, embedding_dim: int, output_dim: int, depth: int, inner: int, heads: int,
                 ff_inner: int) -> None:
        super().__init__()
        self.proj_in = nn.Linear(embedding_dim, dim)
        self.proj_out = nn.Linear(dim, output_dim)
        self.norm_out = nn.LayerNorm(output_dim)
        self.layers = nn.ModuleList(nn.ModuleList([_PerceiverAttention(dim, inner, heads), _FeedForward(dim, ff_inner)])
                                    for _ in range(depth))

    def forward(self, latents: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        x = self.proj_in(x)
        for attn, ff in self.layers:
            latents = attn(x, latents) + latents
            latents = ff(latents) + latents
        return self.norm_out(self.proj_out(latents))


class _QFormerPerceiver(nn.Module):
    """V2: the face-recognition embedding becomes ``tokens`` queries that read the CLIP patch tokens."""

    def __init__(self, id_dim: int, hidden: int, dim: int, tokens: int, resampler: _Resampler) -> None:
        super().__init__()
        self.tokens = tokens
        self.token_proj = nn.Sequential(nn.Linear(id_dim, hidden), nn.GELU(), nn.Linear(hidden, dim * tokens))
        self.token_norm = nn.LayerNorm(dim)
        self.perceiver_resampler = resampler

    def forward(self, face: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
        x = self.token_norm(self.token_proj(face).reshape(face.shape[0], self.tokens, -1))
        return x + self.perceiver_resampler(x, patches)


class IDEncoder(nn.Module):
    """PhotoMaker's ID encoder at the widths of its state dict: ``encode`` gives the ID tokens of
    a stack of images (V1: one per image; V2: ``tokens`` per image, from the face embedding too)."""

    def __init__(self, sd: dict[str, torch.Tensor]) -> None:
        super().__init__()
        from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

        def shape(key: str) -> tuple[int, ...]:
            if key not in sd:
                raise ModelLoadError(f"the PhotoMaker ID encoder has no {key!r}")
            return tuple(sd[key].shape)

        hidden = shape("vision_model.embeddings.class_embedding")[0]
        channels, patch = shape("vision_model.embeddings.patch_embedding.weight")[1], shape(
            "vision_model.embeddings.patch_embedding.weight")[-1]
        grid = math.isqrt(shape("vision_model.embeddings.position_embedding.weight")[0] - 1)
        layers = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"vision_model\.encoder\.layers\.(\d+)\.", k)))
        config = CLIPVisionConfig(
            hidden_size=hidden, intermediate_size=shape("vision_model.encoder.layers.0.mlp.fc1.weight")[0],
            num_hidden_layers=layers, num_attention_heads=max(1, hidden // 64),  # ViT-L: heads of 64
            num_channels=channels, image_size=grid * patch, patch_size=patch,
            projection_dim=shape("visual_projection.weight")[0],
        )
        clip = CLIPVisionModelWithProjection(config)
        self.image_size = grid * patch
        self.vision_model = clip.vision_model
        self.visual_projection = clip.visual_projection
        self.version = 2 if any(k.startswith("qformer_perceiver.") for k in sd) else 1
        if "visual_projection_2.weight" in sd:
            out2, in2 = shape("visual_projection_2.weight")
            self.visual_projection_2 = nn.Linear(in2, out2, bias=False)
        dim = shape("fuse_module.layer_norm.weight")[0]
        self.fuse_module = FuseModule(dim, shape("fuse_module.mlp1.fc1.weight")[1] - dim)
        self.tokens = 1
        if self.version == 2:
            q = "qformer_perceiver."
            r = q + "perceiver_resampler."
            inner = shape(r + "layers.0.0.to_q.weight")[0]
            depth = 1 + max(int(m.group(1)) for k in sd if (m := re.match(re.escape(r) + r"layers\.(\d+)\.", k)))
            resampler = _Resampler(
                dim=shape(r + "proj_in.weight")[0], embedding_dim=shape(r + "proj_in.weight")[1],
                output_dim=shape(r + "proj_out.weight")[0], depth=depth, inner=inner,
                heads=inner // 128 if inner % 128 == 0 else 1, ff_inner=shape(r + "layers.0.1.1.weight")[0])
            cross = shape(q + "token_norm.weight")[0]
            self.tokens = shape(q + "token_proj.2.weight")[0] // cross
            self.qformer_perceiver = _QFormerPerceiver(shape(q + "token_proj.0.weight")[1],
                                                       shape(q + "token_proj.0.weight")[0], cross, self.tokens,
                                                       resampler)
        elif not hasattr(self, "visual_projection_2"):
            raise ModelLoadError("the PhotoMaker ID encoder has neither visual_projection_2 (V1) nor "
                                 "qformer_perceiver (V2)")
        self.face_dim = shape(q + "token_proj.0.weight")[1] if self.version == 2 else 0
        try:
            self.load_state_dict({k: v for k, v in sd.items() if not k.endswith("position_ids")}, strict=True)
        except RuntimeError as exc:
            raise ModelLoadError(f"the PhotoMaker ID encoder does not fit its own layout "
                                 f"({str(exc).splitlines()[0][:160]})") from None

    @property
    def text_dim(self) -> int:
        return self.fuse_module.layer_norm.normalized_shape[0]

    def encode(self, pixels: torch.Tensor, faces: Optional[torch.Tensor] = None) -> torch.Tensor:
        """ID tokens (images · tokens, width) for pixels (images, 3, s, s) and, for V2, the images'
        face-recognition embeddings (images, 512)."""
        out = self.vision_model(pixels)
        if self.version == 1:
            pooled = out[1]
            return torch.cat([self.visual_projection(pooled), self.visual_projection_2(pooled)], dim=-1)
        if faces is None:
            raise EngineError("PhotoMaker V2 needs the face embedding of each reference")
        return self.qformer_perceiver(faces.to(pixels.dtype), out[0]).reshape(-1, self.text_dim)


# --- the released file -----------------------------------------------------------------------------------

def read_photomaker(path: Path) -> dict[str, dict[str, torch.Tensor]]:
    """{"id_encoder": {...}, "lora_weights": {...}} from ``photomaker-v*.bin`` (tensors only) or a flat
    safetensors conversion; anything else is one ModelLoadError line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"PhotoMaker file {path} does not exist")
    sd = weights.read_nested(path, ("id_encoder", "lora_weights"))
    if sd is None:
        raise ModelLoadError(f"{path.name}: PhotoMaker files must be .bin or .safetensors")
    if not isinstance(sd, dict) or not isinstance(sd.get("id_encoder"), dict) or not sd["id_encoder"] \
            or not isinstance(sd.get("lora_weights"), dict):
        raise ModelLoadError(f"{path.name} is not a PhotoMaker file (no id_encoder / lora_weights)")
    if not all(isinstance(v, torch.Tensor) for part in ("id_encoder", "lora_weights") for v in sd[part].values()):
        raise ModelLoadError(f"{path.name} is not a PhotoMaker file (its entries are not all tensors)")
    return sd


def load_id_encoder(path: Path, dtype: torch.dtype, device: Any) -> tuple[IDEncoder, dict[str, torch.Tensor]]:
    """(the ID encoder on ``device``, the LoRA state dict), cached like the other adapters."""
    def build():
        sd = read_photomaker(path)
        try:
            enc = IDEncoder(sd["id_encoder"])
        except ModelLoadError as exc:
            raise ModelLoadError(f"{Path(path).name}: {exc}") from None
        return enc.to(device=device, dtype=dtype).eval(), sd["lora_weights"]

    return weights._cached(weights._key("photomaker", Path(path), str(dtype), str(device)), build)


# --- prompt: trigger word and class-token expansion ----------------------------------------------------

@dataclass(frozen=True)
class ClassWord:
    """Where one character's class word ends in the prompt (character offset), and how many ID
    tokens replace it."""

    end: int
    repeats: int


def place_class_words(prompt: str, names: Sequence[str]) -> tuple[str, list[int]]:
    """(the prompt the text encoders read, each character's class-word end offset in it).

    The class word is the card's name where the prompt says it, else the first free generic class
    word (``CLASS_WORDS``), else ``a person`` is put in front of the prompt."""
    text = prompt
    ends: list[int] = []
    for name in names:
        end = None
        for word in ([name.strip()] if name.strip() else []) + list(CLASS_WORDS):
            for m in re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", text, flags=re.IGNORECASE):
                if m.end() not in ends:
                    end = m.end()
                    break
            if end is not None:
                break
        if end is None:
            prefix = "a person, " if text.strip() else "a person"
            text = prefix + text
            ends = [e + len(prefix) for e in ends]
            end = len("a person")
        ends.append(end)
    return text, ends


def with_trigger(text: str, ends: Sequence[int]) -> str:
    """``text`` with TRIGGER_WORD after each class word, as PhotoMaker's prompts are written; the
    user never types it (the encoder reads the class words' positions, not the word)."""
    for end in sorted(set(ends), reverse=True):
        text = text[:end] + f" {TRIGGER_WORD}" + text[end:]
    return text


def expanded_ids(tokenizer: Any, text: str, words: Sequence[ClassWord]) -> tuple[torch.Tensor, torch.Tensor]:
    """(input ids (1, max_length), class-token mask (1, max_length)) with each class word's last token
    repeated ``repeats`` times, padded as the pipeline pads; class tokens past the end are an error."""
    ids: list[int] = [tokenizer.bos_token_id]
    mask: list[bool] = [False]
    start = 0
    for word in sorted(words, key=lambda w: w.end):
        piece = tokenizer(text[start:word.end], add_special_tokens=False).input_ids
        if not piece:
            raise EngineError("PhotoMaker: a class word of the prompt has no tokens")
        ids += piece[:-1] + [piece[-1]] * word.repeats
        mask += [False] * (len(piece) - 1) + [True] * word.repeats
        start = word.end
    rest = tokenizer(text[start:], add_special_tokens=False).input_ids
    ids += rest
    mask += [False] * len(rest)
    length = tokenizer.model_max_length
    if sum(mask[: length - 1]) != sum(mask):
        raise EngineError("PhotoMaker: the prompt is too long for the identity tokens; shorten it or name "
                          "the character earlier")
    ids, mask = ids[: length - 1] + [tokenizer.eos_token_id], mask[: length - 1] + [False]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids += [pad] * (length - len(ids))
    mask += [False] * (length - len(mask))
    return torch.tensor([ids]), torch.tensor([mask])


def encode_expanded(pipe: Any, text: str, words: Sequence[ClassWord]) -> tuple[torch.Tensor, torch.Tensor]:
    """SDXL text embeddings (1, 77, width) of ``text`` with the class tokens expanded, computed as
    ``StableDiffusionXLPipeline.encode_prompt`` does (penultimate hidden states of both encoders),
    and the class-token mask (77,)."""
    embeds, mask = [], None
    for tokenizer, encoder in ((pipe.tokenizer, pipe.text_encoder), (pipe.tokenizer_2, pipe.text_encoder_2)):
        if tokenizer is None or encoder is None:
            continue
        ids, m = expanded_ids(tokenizer, text, words)
        if mask is not None and not torch.equal(mask, m):
            raise EngineError("PhotoMaker: the two tokenizers split the class word differently")
        mask = m
        out = encoder(ids.to(encoder.device), output_hidden_states=True)
        embeds.append(out.hidden_states[-2])
    if mask is None:
        raise EngineError("PhotoMaker needs the pipeline's text encoders")
    return torch.cat(embeds, dim=-1), mask[0]


def fuse(encoder: IDEncoder, text_embeds: torch.Tensor, mask: torch.Tensor, id_tokens: torch.Tensor) -> torch.Tensor:
    """``text_embeds`` (1, L, width) with each masked class token fused with its ID token, in order."""
    out = text_embeds.clone()
    rows = out[0, mask]
    if rows.shape[0] != id_tokens.shape[0]:
        raise EngineError(f"PhotoMaker: {rows.shape[0]} class tokens for {id_tokens.shape[0]} ID tokens")
    out[0, mask] = encoder.fuse_module(rows, id_tokens.to(rows.dtype)).to(out.dtype)
    return out
