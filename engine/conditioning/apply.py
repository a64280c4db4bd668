"""Apply character/style conditioning to a diffusers pipeline, and remove it exactly (torch).

`apply_conditioning` loads the adapters a job needs onto the cached base pipeline (IP-Adapter
for style and appearance, FaceID on SD 1.5 or InstantID + IdentityNet on SDXL, or PhotoMaker on
SDXL for cards that ask for it, the cards' LoRAs), sets per-block / per-character scales and masks, and returns what to call and with
which extra arguments. `remove_conditioning` unloads all of it so that the base pipeline gives
bit-identical output again. Adapter weights are cached in memory (see `weights.py`).
"""
from __future__ import annotations

import inspect
import weakref
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from engine.conditioning.mapping import identity_scales, sw_to_scale
from engine.conditioning.regions import draw_keypoints, place_keypoints, resolve_regions
from engine.conditioning.types import FACE_EMBEDDING_DIM, AdapterFiles, CharacterCondition, StyleCondition
from engine.conditioning import weights
from engine.jobs import EngineError, ModelLoadError, ModelNotFoundError

LORA_PREFIX = "ps_card_"
_CN_PIPES: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


@dataclass
class AppliedConditioning:
    """What the generate op needs after `apply_conditioning`.

    Call `pipe` (the base pipeline, or its ControlNet variant for InstantID) with the job's own
    arguments plus `call_kwargs`, the prompt through `prompt()` and `negative()`; then always
    call `remove_conditioning(applied)`. When `encode_prompt` is set (PhotoMaker), the call takes
    its result `encode_prompt(text, negative, steps)` instead of the prompt strings, and
    `on_step_end(index, tensors)` with `step_tensor_inputs` from the step callback.
    """

    base: Any
    pipe: Any
    call_kwargs: dict = field(default_factory=dict)
    prompt_suffix: str = ""
    negative_prompt: str = ""
    roles: list[str] = field(default_factory=list)  # adapter order: identity/appearance/style
    scale_configs: list = field(default_factory=list)
    lora_names: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    encode_prompt: Optional[Callable[[str, str, int], dict]] = None
    on_step_end: Optional[Callable[[int, dict], dict]] = None
    step_tensor_inputs: list[str] = field(default_factory=list)
    _undo: ExitStack = field(default_factory=ExitStack, repr=False)  # run by remove_conditioning

    def prompt(self, prompt: str) -> str:
        return ", ".join(p for p in (prompt.strip(), self.prompt_suffix.strip()) if p)

    def negative(self, negative: str) -> str:
        return ", ".join(p for p in (negative.strip(), self.negative_prompt.strip()) if p)

    @property
    def active(self) -> bool:
        return bool(self.roles or self.lora_names)


def is_sdxl(pipe: Any) -> bool:
    return getattr(pipe.unet.config, "addition_embed_type", None) == "text_time"


def style_block_scales(unet: Any, scale: float, sdxl: bool) -> dict:
    """InstantStyle's per-block scale dict: the adapter acts on the style blocks only.

    SDXL: `up_blocks.0.attentions.1` ({"up": {"block_0": [0, s, 0]}}). SD 1.5: all of
    `up_blocks.1` (InstantStyle's `infer_style_sd15.py`), i.e. the first up block that has
    attention, since SD 1.5's `up_blocks.0` has none. Computed from the UNet's layout.
    """
    with_attn = [i for i, b in enumerate(unet.up_blocks) if hasattr(b, "attentions")]
    if not with_attn:
        raise EngineError("this model's UNet has no attention up-blocks; style references cannot apply")
    first = with_attn[0]
    n = len(unet.up_blocks[first].attentions)
    layers = [scale] * n
    if sdxl and n >= 2:
        layers = [0.0] * n
        layers[1] = scale
    return {"up": {f"block_{first}": layers}}


def ip_scales_by_layer(unet: Any) -> dict[str, list]:
    """{attention processor name: its IP-Adapter scales} for every IP-Adapter processor."""
    return {name: list(p.scale) for name, p in unet.attn_processors.items() if hasattr(p, "to_k_ip")}


def _check_cross_dim(sd: dict, unet: Any, what: str) -> None:
    dims = {v.shape[1] for k, v in sd["ip_adapter"].items() if k.endswith("to_k_ip.weight")}
    want = unet.config.cross_attention_dim
    if dims and dims != {want}:
        raise ModelLoadError(
            f"{what} was made for a model with text width {sorted(dims)[0]}, but this model has {want} "
            "(SD 1.5 is 768, SDXL 2048): choose the adapter that matches the model"
        )


def _identity_kind(sd: dict) -> str:
    proj = sd["image_proj"]
    if "proj.0.weight" in proj and "norm.weight" in proj:
        return "faceid"
    if "latents" in proj and proj["proj_in.weight"].shape[-1] == 512:
        return "instantid"
    raise ModelLoadError("the identity adapter is neither IP-Adapter FaceID nor InstantID")


class _Plan:
    """The adapters of one job, in load order."""

    def __init__(self) -> None:
        self.roles: list[str] = []
        self.state_dicts: list[dict] = []
        self.scales: list = []
        self.embeds: list[torch.Tensor] = []
        self.masks: list[Optional[torch.Tensor]] = []

    def add(self, role: str, sd: dict, scale: Any, embeds: torch.Tensor, mask: Optional[torch.Tensor]) -> None:
        self.roles.append(role)
        self.state_dicts.append(sd)
        self.scales.append(scale)
        self.embeds.append(embeds)
        self.masks.append(mask)


def _pair(pos: torch.Tensor, neg: torch.Tensor, cfg: bool) -> torch.Tensor:
    return torch.cat([neg, pos]) if cfg else pos


def _encode_images(enc_proc: tuple, images: Sequence[Image.Image], hidden: bool, device, dtype):
    """(positive, negative) CLIP features as diffusers' encode_image computes them."""
    enc, proc = enc_proc
    pix = proc(images=[im.convert("RGB") for im in images], return_tensors="pt").pixel_values.to(device=device, dtype=dtype)
    with torch.no_grad():
        if hidden:
            pos = enc(pix, output_hidden_states=True).hidden_states[-2]
            neg = enc(torch.zeros_like(pix), output_hidden_states=True).hidden_states[-2]
        else:
            pos = enc(pix).image_embeds
            neg = torch.zeros_like(pos)
    return pos, neg


def _weighted(t: torch.Tensor, w: Sequence[float]) -> torch.Tensor:
    wt = torch.tensor(list(w), dtype=t.dtype, device=t.device)
    wt = wt / wt.sum() if float(wt.sum()) > 0 else torch.full_like(wt, 1.0 / len(w))
    return (t * wt.view(-1, *([1] * (t.ndim - 1)))).sum(0)


def _lora_modules(pipe: Any):
    from peft.tuners.tuners_utils import BaseTunerLayer

    for comp in ("unet", "text_encoder", "text_encoder_2"):
        model = getattr(pipe, comp, None)
        if model is None:
            continue
        for mod in model.modules():
            if isinstance(mod, BaseTunerLayer) and isinstance(getattr(mod, "scaling", None), dict):
                yield mod


class _LoraSnapshot:
    """The pipeline's own LoRAs (e.g. the engine's LCM-LoRA): names, active set, scalings."""

    def __init__(self, pipe: Any) -> None:
        try:
            listed = pipe.get_list_adapters()
        except Exception:  # noqa: BLE001 - no PEFT state at all
            listed = {}
        self.names = sorted({n for names in listed.values() for n in names})
        self.active = list(pipe.get_active_adapters()) if self.names else []
        self.scalings = [(m, dict(m.scaling)) for m in _lora_modules(pipe)] if self.names else []

    def restore_scalings(self) -> None:
        for mod, scaling in self.scalings:
            for name, value in scaling.items():
                if name in mod.scaling:
                    mod.scaling[name] = value


def apply_conditioning(
    pipe: Any,
    conditions: Any,
    *,
    width: int,
    height: int,
    guidance: float,
    adapters: AdapterFiles,
) -> AppliedConditioning:
    """Load the job's identity/style conditioning onto `pipe` (see the module docstring).

    `conditions`: a GenerationRequest or a list; items other than Character/StyleCondition are
    ignored. `guidance` is the guidance the job will run with (it decides whether negative
    embeddings are prepended for classifier-free guidance).
    """
    items = getattr(conditions, "conditioning", conditions) or []
    chars = [c for c in items if isinstance(c, CharacterCondition)]
    styles = [s for s in items if isinstance(s, StyleCondition)]
    applied = AppliedConditioning(base=pipe, pipe=pipe)
    applied.prompt_suffix = ", ".join(s.prompt_suffix for s in styles if s.prompt_suffix)
    applied.negative_prompt = ", ".join(s.negative_prompt for s in styles if s.negative_prompt)
    if not chars and not styles:
        return applied
    try:
        _apply(applied, _Job.of(pipe, width, height, guidance, adapters), chars, styles)
    except BaseException:
        remove_conditioning(applied)
        raise
    return applied


@dataclass(frozen=True)
class _Job:
    """The pipeline and the job settings every step of `_apply` reads."""

    pipe: Any
    width: int
    height: int
    adapters: AdapterFiles
    sdxl: bool
    cfg: bool  # classifier-free guidance: negative embeddings are prepended

    @classmethod
    def of(cls, pipe: Any, width: int, height: int, guidance: float, adapters: AdapterFiles) -> _Job:
        cfg = guidance > 1 and getattr(pipe.unet.config, "time_cond_proj_dim", None) is None
        return cls(pipe, width, height, adapters, is_sdxl(pipe), cfg)

    @property
    def unet(self) -> Any:
        return self.pipe.unet

    @property
    def device(self) -> Any:
        return self.pipe.unet.device

    @property
    def dtype(self) -> Any:
        return self.pipe.unet.dtype


def _apply(applied: AppliedConditioning, job: _Job, chars: list[CharacterCondition],
           styles: list[StyleCondition]) -> None:
    """Plan the adapters, then load them and the cards' LoRAs, registering each undo step first."""
    photomaker_chars = [c for c in chars if c.method == "photomaker"]
    chars = [c for c in chars if c.method != "photomaker"]
    masks_np, mask_t = _region_masks(chars, job.width, job.height)
    plan = _Plan()
    identity_kind = None
    if chars:
        identity_kind, scales = _plan_identity(plan, job, chars, mask_t)
        if any(c.wants_appearance for c in chars):
            _plan_appearance(plan, applied, job, chars, scales, mask_t)
    _plan_style(plan, applied, job, styles)

    lora_before = _LoraSnapshot(job.pipe)
    saved = _SavedComponents(job.pipe)
    applied._undo.callback(_restore_loras, job.pipe, lora_before)
    if plan.roles:
        applied._undo.callback(_unload_ip_adapters, job.pipe, saved)
        _load_ip_adapters(applied, job.pipe, plan)
    extra_weights = _apply_photomaker(applied, job, photomaker_chars) if photomaker_chars else {}
    _load_card_loras(applied, job.pipe, chars + photomaker_chars, styles, lora_before, extra_weights)

    if identity_kind == "instantid" and is_motion(job.pipe):
        applied.warnings.append("loops take InstantID's adapter without IdentityNet (no ControlNet on motion "
                                "pipelines): the likeness may be looser than on stills")
    elif identity_kind == "instantid" and job.adapters.identitynet is not None:
        _apply_identitynet(applied, job.pipe, chars, plan, masks_np, job.width, job.height, job.cfg, job.adapters)
    elif identity_kind == "instantid":
        applied.warnings.append("InstantID's IdentityNet (ControlNetModel/) is missing: identity comes from the adapter only")


def _region_masks(chars: list[CharacterCondition], width: int, height: int):
    """(per-character region masks as arrays, the IP-Adapter mask tensor (1, n, h, w)); both None
    for one character without a region."""
    n = len(chars)
    if not chars or (n == 1 and chars[0].region is None):
        return None, None
    from diffusers.image_processor import IPAdapterMaskProcessor

    masks_np = resolve_regions([c.region for c in chars], (width, height))
    pil = [Image.fromarray((m * 255).astype(np.uint8), "L") for m in masks_np]
    mask_t = IPAdapterMaskProcessor().preprocess(pil, height=height, width=width)
    return masks_np, mask_t.reshape(1, n, mask_t.shape[-2], mask_t.shape[-1])


def _per_character(values: list) -> Any:
    """One scale for one character, else the list (one per character, masked by region)."""
    return values[0] if len(values) == 1 else values


def _plan_identity(plan: _Plan, job: _Job, chars: list[CharacterCondition], mask_t) -> tuple[str, list]:
    """Add the identity adapter (FaceID on SD 1.5, InstantID on SDXL) with the characters' face
    embeddings; returns its kind and each character's (identity, identitynet, appearance) scales."""
    adapters = job.adapters
    methods = {c.method for c in chars} - {"auto"}
    if len(methods) > 1:
        raise EngineError("the characters of one panel ask for both InstantID and FaceID: choose one identity "
                          "method for their cards")
    method = methods.pop() if methods else ("instantid" if job.sdxl and adapters.instantid else "faceid")
    if method == "instantid" and not job.sdxl:
        raise EngineError("InstantID is an SDXL method: choose an SDXL model, or FaceID / auto for the card")
    path = adapters.instantid if method == "instantid" else adapters.faceid
    if path is None:
        need = "InstantID (instantid/ip-adapter.bin + ControlNetModel/)" if method == "instantid" \
            else "IP-Adapter FaceID (ipadapter/ip-adapter-faceid_sd15.bin)" if not job.sdxl \
            else "IP-Adapter FaceID for SDXL (ipadapter/ip-adapter-faceid_sdxl.bin)"
        raise ModelNotFoundError(f"character cards need {need} in the models folder")
    sd = weights.load_ip_adapter_state_dict(path)
    _check_cross_dim(sd, job.unet, path.name)
    identity_kind = _identity_kind(sd)
    emb = []
    for c in chars:
        e = torch.from_numpy(c.face_embedding)
        if identity_kind == "instantid" and c.face_embedding_norm:
            e = e * float(c.face_embedding_norm)  # InstantID was trained on raw insightface vectors
        emb.append(e)
    pos = torch.stack(emb).to(device=job.device, dtype=job.dtype)[None]  # (1, n, 512)
    if identity_kind == "instantid":
        pos = pos[:, :, None, :]  # (1, n, 1, 512): one token into the Resampler
    scales = [identity_scales(c.cw, c.identity_strength) for c in chars]
    plan.add(identity_kind, sd, _per_character([s[0] for s in scales]), _pair(pos, torch.zeros_like(pos), job.cfg),
             mask_t)
    return identity_kind, scales


def _image_adapter(job: _Job) -> tuple[dict, tuple, bool]:
    """The reference-image IP-Adapter's state dict, its CLIP image encoder (model, processor), and
    whether the adapter reads the encoder's hidden states (Plus) rather than its image embeds."""
    path = job.adapters.ip_adapter
    sd = weights.load_ip_adapter_state_dict(path)
    _check_cross_dim(sd, job.unet, path.name)
    enc = weights.load_image_encoder(job.adapters.image_encoder, job.dtype, job.device)
    return sd, enc, "proj.weight" not in sd["image_proj"]


def _plan_appearance(plan: _Plan, applied: AppliedConditioning, job: _Job, chars: list[CharacterCondition],
                     scales: list, mask_t) -> None:
    """Add the IP-Adapter for the characters' appearance (cw > 0): their references' CLIP features,
    zeros for the characters that keep their face only."""
    adapters = job.adapters
    if adapters.ip_adapter is None or adapters.image_encoder is None:
        applied.warnings.append("cw > 0 needs an IP-Adapter and its image encoder: only the face is kept")
        return
    device, dtype = job.device, job.dtype
    sd_a, enc, hidden = _image_adapter(job)
    pos_l, neg_l, sc = [], [], []
    for c, s in zip(chars, scales):
        if c.wants_appearance:
            p, q = _encode_images(enc, c.reference_images, hidden, device, dtype)
            pos_l.append(_weighted(p, c.reference_weights))
            neg_l.append(_weighted(q, c.reference_weights))
            sc.append(s[2])
        else:
            shape = _encode_images(enc, [Image.new("RGB", (8, 8))], hidden, device, dtype)[0].shape[1:]
            pos_l.append(torch.zeros(shape, device=device, dtype=dtype))
            neg_l.append(torch.zeros(shape, device=device, dtype=dtype))
            sc.append(0.0)
    pos_a, neg_a = torch.stack(pos_l)[None], torch.stack(neg_l)[None]
    plan.add("appearance", sd_a, _per_character(sc), _pair(pos_a, neg_a, job.cfg), mask_t)


def _plan_style(plan: _Plan, applied: AppliedConditioning, job: _Job, styles: list[StyleCondition]) -> None:
    """Add the IP-Adapter for the style references (sw > 0), on the style blocks only (InstantStyle)."""
    style_refs = [s for s in styles if s.reference_images and s.sw > 0]
    if not style_refs:
        return
    adapters = job.adapters
    if adapters.ip_adapter is None or adapters.image_encoder is None:
        applied.warnings.append("style references need an IP-Adapter and its image encoder: only the style's prompt is used")
        return
    sd_s, enc, hidden = _image_adapter(job)
    images = [im for s in style_refs for im in s.reference_images]
    p, q = _encode_images(enc, images, hidden, job.device, job.dtype)
    scale = sw_to_scale(max(s.sw for s in style_refs))
    plan.add("style", sd_s, style_block_scales(job.unet, scale, job.sdxl), _pair(p[None], q[None], job.cfg), None)


class _SavedComponents:
    """The pipeline's image encoder and feature extractor (and their config entries) before
    `load_ip_adapter` replaces them."""

    def __init__(self, pipe: Any) -> None:
        self.values = {k: getattr(pipe, k) for k in ("image_encoder", "feature_extractor") if hasattr(pipe, k)}
        self.config = {k: pipe.config[k] for k in self.values if k in pipe.config}

    def restore(self, pipe: Any) -> None:
        for k, v in self.values.items():
            setattr(pipe, k, v)
            if k in self.config:
                pipe.register_to_config(**{k: self.config[k]})


def _load_ip_adapters(applied: AppliedConditioning, pipe: Any, plan: _Plan) -> None:
    """Load the planned IP-Adapters in one call, set their scales, and pass their embeddings and
    region masks to the pipeline call."""
    state_dicts = [_indexed_for(pipe.unet, sd) for sd in plan.state_dicts]
    pipe.load_ip_adapter(
        state_dicts, subfolder=[""] * len(plan.roles), weight_name=[""] * len(plan.roles),
        image_encoder_folder=None,
    )
    pipe.set_ip_adapter_scale(plan.scales)
    applied.roles = list(plan.roles)
    applied.scale_configs = list(plan.scales)
    applied.call_kwargs["ip_adapter_image_embeds"] = plan.embeds
    if any(m is not None for m in plan.masks):
        applied.call_kwargs["cross_attention_kwargs"] = {"ip_adapter_masks": plan.masks}


def is_motion(pipe: Any) -> bool:
    """Whether ``pipe`` runs a motion UNet (AnimateDiff: temporal attention between the spatial blocks)."""
    return any(hasattr(block, "motion_modules") for block in pipe.unet.down_blocks)


def _indexed_for(unet: Any, sd: dict) -> dict:
    """``sd`` with FaceID's LoRA keys (``ip_adapter.{i}.to_q_lora...``, ``i`` counting a still UNet's attention
    processors) re-numbered for a motion UNet, whose list has its temporal processors among the spatial ones
    (in the same order). diffusers numbers the ``to_k_ip``/``to_v_ip`` keys by the spatial cross-attention
    processors alone, so those stay."""
    names = list(unet.attn_processors)
    spatial = [i for i, name in enumerate(names) if "motion_modules" not in name]
    if len(spatial) == len(names) or not any("_lora." in k for k in sd["ip_adapter"]):
        return sd
    renamed = {}
    for key, value in sd["ip_adapter"].items():
        index, _, rest = key.partition(".")
        renamed[f"{spatial[int(index)]}.{rest}" if "_lora." in rest else key] = value
    return {**sd, "ip_adapter": renamed}


def _unload_ip_adapters(pipe: Any, saved: _SavedComponents) -> None:
    if getattr(pipe.unet, "encoder_hid_proj", None) is not None:
        pipe.unload_ip_adapter()
    saved.restore(pipe)


def _load_card_loras(applied: AppliedConditioning, pipe: Any, chars: list[CharacterCondition],
                     styles: list[StyleCondition], lora_before: _LoraSnapshot,
                     extra_weights: Optional[dict[str, float]] = None) -> None:
    """Load the cards' LoRAs, then activate them together with the pipeline's own, FaceID's and
    those in ``extra_weights`` (already loaded, e.g. PhotoMaker's) at their weights."""
    loras = [(f"{LORA_PREFIX}char{i}", c.lora) for i, c in enumerate(chars) if c.lora]
    loras += [(f"{LORA_PREFIX}style{i}", s.lora) for i, s in enumerate(styles) if s.lora]
    for name, ref in loras:
        pipe.load_lora_weights(dict(weights.load_lora_state_dict(ref.path)), adapter_name=name)
    applied.lora_names = [name for name, _ in loras]
    extra_weights = extra_weights or {}
    extra = [n for n in _all_adapter_names(pipe)
             if (n.startswith("faceid_") or n in extra_weights) and n not in lora_before.names]
    if loras or extra:
        names = lora_before.active + extra + applied.lora_names
        weights_ = [1.0] * len(lora_before.active) + [extra_weights.get(n, 1.0) for n in extra] \
            + [ref.weight for _, ref in loras]
        pipe.set_adapters(names, adapter_weights=weights_)
        lora_before.restore_scalings()


def _restore_loras(pipe: Any, lora_before: _LoraSnapshot) -> None:
    """Delete the LoRAs loaded since `lora_before` and give the pipeline's own back their weights."""
    mine = [n for n in _all_adapter_names(pipe) if n not in lora_before.names]
    if mine:
        pipe.delete_adapters(mine)
    if not lora_before.names:
        if _all_adapter_names(pipe) or any(True for _ in _lora_modules(pipe)):
            pipe.unload_lora_weights()
    else:
        pipe.set_adapters(lora_before.active, adapter_weights=[1.0] * len(lora_before.active))
        lora_before.restore_scalings()


def _all_adapter_names(pipe: Any) -> list[str]:
    try:
        listed = pipe.get_list_adapters()
    except Exception:  # noqa: BLE001
        return []
    return sorted({n for names in listed.values() for n in names})


def _apply_identitynet(applied, pipe, chars, plan, masks_np, width, height, cfg, adapters) -> None:
    """Switch to the ControlNet variant of the pipeline with IdentityNet on the keypoint image.

    As in InstantID, IdentityNet cross-attends to the projected face tokens, not to the text:
    a forward pre-hook swaps its `encoder_hidden_states` for them.
    """
    unet = pipe.unet
    cn = weights.load_controlnet(adapters.identitynet, unet.dtype, unet.device)
    cache = _CN_PIPES.setdefault(pipe, {})
    key = (str(adapters.identitynet), id(cn))
    if key not in cache:
        from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image

        name = type(pipe).__name__
        auto = AutoPipelineForInpainting if "Inpaint" in name else AutoPipelineForImage2Image if "Img2Img" in name else AutoPipelineForText2Image
        cache[key] = auto.from_pipe(pipe, controlnet=cn)
        cache[key].set_progress_bar_config(**getattr(pipe, "_progress_bar_config", {}))
    cn_pipe = cache[key]
    regions = masks_np or resolve_regions([None], (width, height))
    kps = [place_keypoints(c.face_kps, c.kps_size, r) for c, r in zip(chars, regions)]
    control = draw_keypoints(kps, (width, height))
    idx = plan.roles.index("instantid")
    proj = unet.encoder_hid_proj.image_projection_layers[idx]
    emb = plan.embeds[idx]  # (2|1, n, 1, 512)
    with torch.no_grad():
        tokens = proj(emb.reshape(-1, *emb.shape[2:]))  # (rows*n, q, dim)
    tokens = tokens.reshape(emb.shape[0], -1, tokens.shape[-1])  # all characters' tokens side by side

    def swap_tokens(_module, args, kwargs):
        ehs = kwargs.get("encoder_hidden_states")
        if ehs is None:
            return None
        b = ehs.shape[0]
        t = tokens.to(device=ehs.device, dtype=ehs.dtype)
        if cfg and t.shape[0] == 2 and b % 2 == 0:
            new = torch.cat([t[:1].expand(b // 2, -1, -1), t[1:].expand(b // 2, -1, -1)])
        else:
            new = t[-1:].expand(b, -1, -1)
        kwargs["encoder_hidden_states"] = new
        return args, kwargs

    handle = cn.register_forward_pre_hook(swap_tokens, with_kwargs=True)
    applied._undo.callback(handle.remove)
    applied.pipe = cn_pipe
    scale = max(identity_scales(c.cw, c.identity_strength)[1] for c in chars)
    image_arg = "control_image" if "control_image" in inspect.signature(cn_pipe.__call__).parameters else "image"
    applied.call_kwargs[image_arg] = control
    applied.call_kwargs["controlnet_conditioning_scale"] = scale


def _apply_photomaker(applied: AppliedConditioning, job: _Job, chars: list[CharacterCondition]) -> dict[str, float]:
    """Load PhotoMaker's LoRA and set the prompt hooks that fuse each character's stacked ID embedding
    into its class word from the start-merge step on (MAPPING.md). Returns {adapter: strength}."""
    from transformers import CLIPImageProcessor

    from engine.conditioning import photomaker as pm
    from engine.conditioning.mapping import photomaker_schedule

    path, pipe = job.adapters.photomaker, job.pipe
    if not job.sdxl or not hasattr(pipe, "text_encoder_2"):
        raise EngineError("PhotoMaker is an SDXL method: choose an SDXL model, or InstantID / FaceID / auto for the card")
    if path is None:
        raise ModelNotFoundError("the PhotoMaker identity method needs photomaker-v1.bin or photomaker-v2.bin "
                                 "in the models folder (photomaker/)")
    enc, lora = pm.load_id_encoder(path, job.dtype, job.device)
    width = job.unet.config.cross_attention_dim
    if enc.text_dim != width:
        raise ModelLoadError(f"{path.name} was made for a model with text width {enc.text_dim}, but this model has "
                             f"{width} (SDXL is 2048): PhotoMaker needs an SDXL model")
    if enc.version == 2 and enc.face_dim != FACE_EMBEDDING_DIM:
        raise ModelLoadError(f"{path.name} expects face embeddings of {enc.face_dim} values, the face analysis gives 512")
    proc = CLIPImageProcessor(size=enc.image_size, crop_size=enc.image_size)
    tokens: list[torch.Tensor] = []
    for c in chars:
        weights_ = c.reference_weights
        ranked = sorted((i for i, w in enumerate(weights_) if w > 0), key=lambda i: -weights_[i])[: pm.MAX_ID_IMAGES]
        if not ranked:
            raise EngineError(f"character {c.name or c.card_id}: PhotoMaker needs at least one reference image")
        images = [c.reference_images[i].convert("RGB") for i in ranked]
        pix = proc(images=images, return_tensors="pt").pixel_values.to(device=job.device, dtype=job.dtype)
        face = torch.from_numpy(c.face_embedding) * float(c.face_embedding_norm or 1.0)  # V2: raw recogniser vector
        with torch.no_grad():
            tokens.append(enc.encode(pix, face[None].expand(len(images), -1).to(job.device)))
    strength = max(photomaker_schedule(c.cw, 1)[1] for c in chars)
    try:
        pipe.load_lora_weights(dict(lora), adapter_name=pm.LORA_ADAPTER)
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{path.name}: its LoRA cannot be applied to this model ({str(exc).splitlines()[0][:120]})") \
            from None
    cfg = job.cfg

    def encode(text: str, negative: str, steps: int) -> dict:
        plain, ends = pm.place_class_words(text, [c.name for c in chars])
        order = sorted(range(len(chars)), key=lambda i: ends[i])
        pe, npe, pooled, npooled = pipe.encode_prompt(prompt=plain, device=job.device,
                                                      do_classifier_free_guidance=cfg, negative_prompt=negative or None)
        expanded, mask = pm.encode_expanded(pipe, plain, [pm.ClassWord(ends[i], tokens[i].shape[0]) for i in order])
        fused = pm.fuse(enc, expanded.to(pe.dtype), mask.to(pe.device), torch.cat([tokens[i] for i in order]))
        start = min(photomaker_schedule(c.cw, steps)[0] for c in chars)
        merged = torch.cat([npe, fused]) if cfg else fused

        def on_step_end(index: int, tensors: dict) -> dict:
            if index == start - 1:
                tensors["prompt_embeds"] = merged
            return tensors

        applied.on_step_end = on_step_end if start > 0 else None
        return dict(prompt_embeds=fused if start == 0 else pe, negative_prompt_embeds=npe,
                    pooled_prompt_embeds=pooled, negative_pooled_prompt_embeds=npooled)

    applied.encode_prompt = encode
    applied.step_tensor_inputs = ["prompt_embeds"]
    applied.roles.append("photomaker")
    return {pm.LORA_ADAPTER: strength}


def remove_conditioning(applied: AppliedConditioning) -> None:
    """Undo `apply_conditioning`: hooks, IP-Adapters, LoRAs; the base pipeline is as before.
    Every undo step runs even when one fails; then EngineError names the failure."""
    try:
        applied._undo.close()
    except Exception as exc:  # noqa: BLE001 - one line for the job's message
        raise EngineError(f"could not fully remove the conditioning: {exc}") from exc
    finally:
        applied.roles, applied.lora_names = [], []
        applied.encode_prompt = applied.on_step_end = None
