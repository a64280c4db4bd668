"""ComfyUI API graphs for txt2img, img2img and inpaint (core nodes), with LoRAs by file name, and
reference images through node packs: style and appearance with ComfyUI_IPAdapter_plus
(IPAdapterUnifiedLoader + IPAdapterAdvanced), face identity with ComfyUI_InstantID (InstantIDModelLoader,
InstantIDFaceAnalysis, ControlNetLoader, ApplyInstantID). Node names and inputs follow the packs' published
`INPUT_TYPES`; :func:`validate` checks a graph against a server's `/object_info`.

A graph is `{node_id: {"class_type": ..., "inputs": {...}}}`; links are `[node_id, output_index]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from engine.jobs import EngineError

# Panelsmith scheduler name -> (ComfyUI sampler_name, scheduler)
SAMPLERS: dict[str, tuple[str, str]] = {
    "euler": ("euler", "normal"),
    "euler_a": ("euler_ancestral", "normal"),
    "dpm++": ("dpmpp_2m", "normal"),
    "dpm++_karras": ("dpmpp_2m", "karras"),
    "ddim": ("ddim", "ddim_uniform"),
    "lcm": ("lcm", "sgm_uniform"),
    "lightning": ("euler", "sgm_uniform"),
    "turbo": ("euler_ancestral", "sgm_uniform"),
}

# Node packs Panelsmith can use, by a node class each one adds.
NODE_PACKS: dict[str, str] = {
    "ComfyUI_IPAdapter_plus": "IPAdapterAdvanced",
    "ComfyUI_InstantID": "ApplyInstantID",
    "comfyui-tooling-nodes": "ETN_LoadImageBase64",
}


# IPAdapterUnifiedLoader presets and IPAdapterAdvanced weight types per reference kind
IPADAPTER_PRESETS = {"style": "PLUS (high strength)", "face": "PLUS FACE (portraits)"}
IPADAPTER_WEIGHT_TYPES = {"style": "style transfer", "face": "linear"}
REFERENCE_KINDS = ("style", "face", "instantid")


@dataclass
class Reference:
    """Reference images applied by a node pack.

    `kind`: "style" or "face" (IPAdapter_plus), "instantid" (InstantID; the first image is the face).
    `images`: uploaded input names; `mask`: an uploaded mask name (white = where it applies) or None.
    """

    kind: str
    images: list[str]
    weight: float
    mask: Optional[str] = None

    def __post_init__(self) -> None:
        if self.kind not in REFERENCE_KINDS or not self.images:
            raise EngineError(f"bad reference for a ComfyUI graph: {self.kind!r} with {len(self.images)} image(s)")


@dataclass
class Job:
    """What one server call paints: a whole image (txt2img/img2img) or a masked crop (inpaint)."""

    checkpoint: str
    prompt: str
    negative: str
    seed: int
    steps: int
    cfg: float
    scheduler: str
    width: int = 512
    height: int = 512
    denoise: float = 1.0
    image: Optional[str] = None  # uploaded input name (img2img / inpaint)
    mask: Optional[str] = None  # uploaded mask name (inpaint: white = repaint)
    loras: list[tuple[str, float]] = field(default_factory=list)
    inpaint_model: bool = False
    references: list[Reference] = field(default_factory=list)
    instantid_file: str = ""  # the server's InstantID model (models/instantid)
    instantid_controlnet: str = ""  # the server's IdentityNet ControlNet (models/controlnet)


def sampler(scheduler: str) -> tuple[str, str]:
    try:
        return SAMPLERS[scheduler]
    except KeyError:
        raise EngineError(f"scheduler {scheduler!r} has no ComfyUI equivalent "
                          f"(use one of {', '.join(SAMPLERS)})") from None


def build(job: Job) -> dict:
    """The API graph for `job`; its one output node is a PreviewImage (temporary files on the server)."""
    graph: dict[str, dict] = {"ckpt": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": job.checkpoint}}}
    model, clip, vae = ["ckpt", 0], ["ckpt", 1], ["ckpt", 2]
    for index, (name, weight) in enumerate(job.loras):
        node = f"lora{index}"
        graph[node] = {"class_type": "LoraLoader", "inputs": {"model": model, "clip": clip, "lora_name": name,
                                                              "strength_model": weight, "strength_clip": weight}}
        model, clip = [node, 0], [node, 1]
    for index, ref in enumerate(job.references):
        if ref.kind != "instantid":
            model = _ipadapter(graph, f"ref{index}", ref, model)
    graph["pos"] = {"class_type": "CLIPTextEncode", "inputs": {"text": job.prompt, "clip": clip}}
    graph["neg"] = {"class_type": "CLIPTextEncode", "inputs": {"text": job.negative, "clip": clip}}
    positive, negative = ["pos", 0], ["neg", 0]
    for index, ref in enumerate(job.references):
        if ref.kind == "instantid":
            model, positive, negative = _instantid(graph, f"ref{index}", ref, job, model, positive, negative)
    denoise = job.denoise
    if job.image is None:
        graph["latent"] = {"class_type": "EmptyLatentImage",
                           "inputs": {"width": job.width, "height": job.height, "batch_size": 1}}
        denoise = 1.0
    else:
        graph["load"] = {"class_type": "LoadImage", "inputs": {"image": job.image}}
        if job.mask is None:
            graph["latent"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["load", 0], "vae": vae}}
        else:
            graph["mask"] = {"class_type": "LoadImageMask", "inputs": {"image": job.mask, "channel": "red"}}
            if job.inpaint_model and denoise >= 1.0:
                graph["latent"] = {"class_type": "VAEEncodeForInpaint",
                                   "inputs": {"pixels": ["load", 0], "vae": vae, "mask": ["mask", 0],
                                              "grow_mask_by": 0}}
            else:
                graph["encode"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["load", 0], "vae": vae}}
                graph["latent"] = {"class_type": "SetLatentNoiseMask",
                                   "inputs": {"samples": ["encode", 0], "mask": ["mask", 0]}}
    sampler_name, scheduler = sampler(job.scheduler)
    graph["sample"] = {"class_type": "KSampler", "inputs": {
        "model": model, "seed": job.seed, "steps": job.steps, "cfg": job.cfg, "sampler_name": sampler_name,
        "scheduler": scheduler, "positive": positive, "negative": negative, "latent_image": ["latent", 0],
        "denoise": denoise}}
    graph["decode"] = {"class_type": "VAEDecode", "inputs": {"samples": ["sample", 0], "vae": vae}}
    graph["out"] = {"class_type": "PreviewImage", "inputs": {"images": ["decode", 0]}}
    return graph


def _images(graph: dict, node: str, names: list[str]) -> list:
    """LoadImage nodes for `names`, joined into one batch with core ImageBatch nodes; the batch's link."""
    link: list = []
    for index, name in enumerate(names):
        graph[f"{node}_img{index}"] = {"class_type": "LoadImage", "inputs": {"image": name}}
        if not link:
            link = [f"{node}_img{index}", 0]
        else:
            graph[f"{node}_batch{index}"] = {"class_type": "ImageBatch",
                                             "inputs": {"image1": link, "image2": [f"{node}_img{index}", 0]}}
            link = [f"{node}_batch{index}", 0]
    return link


def _mask(graph: dict, node: str, ref: Reference) -> Optional[list]:
    if ref.mask is None:
        return None
    graph[f"{node}_mask"] = {"class_type": "LoadImageMask", "inputs": {"image": ref.mask, "channel": "red"}}
    return [f"{node}_mask", 0]


def _ipadapter(graph: dict, node: str, ref: Reference, model: list) -> list:
    """IPAdapterUnifiedLoader (model + preset) then IPAdapterAdvanced; returns the patched model's link."""
    graph[f"{node}_loader"] = {"class_type": "IPAdapterUnifiedLoader",
                               "inputs": {"model": model, "preset": IPADAPTER_PRESETS[ref.kind]}}
    inputs = {"model": [f"{node}_loader", 0], "ipadapter": [f"{node}_loader", 1],
              "image": _images(graph, node, ref.images), "weight": round(min(max(ref.weight, -1.0), 5.0), 3),
              "weight_type": IPADAPTER_WEIGHT_TYPES[ref.kind], "combine_embeds": "average",
              "start_at": 0.0, "end_at": 1.0, "embeds_scaling": "V only"}
    mask = _mask(graph, node, ref)
    if mask is not None:
        inputs["attn_mask"] = mask
    graph[node] = {"class_type": "IPAdapterAdvanced", "inputs": inputs}
    return [node, 0]


def _instantid(graph: dict, node: str, ref: Reference, job: Job, model: list, positive: list,
               negative: list) -> tuple[list, list, list]:
    """ApplyInstantID on the first reference (the face); returns the model and conditioning links."""
    if not job.instantid_file or not job.instantid_controlnet:
        raise EngineError("an InstantID reference needs the server's InstantID model and IdentityNet ControlNet")
    if "instantid" not in graph:
        graph["instantid"] = {"class_type": "InstantIDModelLoader", "inputs": {"instantid_file": job.instantid_file}}
        graph["instantid_faces"] = {"class_type": "InstantIDFaceAnalysis", "inputs": {"provider": "CPU"}}
        graph["instantid_cn"] = {"class_type": "ControlNetLoader",
                                 "inputs": {"control_net_name": job.instantid_controlnet}}
    inputs = {"instantid": ["instantid", 0], "insightface": ["instantid_faces", 0],
              "control_net": ["instantid_cn", 0], "image": _images(graph, node, ref.images[:1]), "model": model,
              "positive": positive, "negative": negative, "weight": round(min(max(ref.weight, 0.0), 5.0), 3),
              "start_at": 0.0, "end_at": 1.0}
    mask = _mask(graph, node, ref)
    if mask is not None:
        inputs["mask"] = mask
    graph[node] = {"class_type": "ApplyInstantID", "inputs": inputs}
    return [node, 0], [node, 1], [node, 2]


def validate(graph: dict, object_info: dict) -> list[str]:
    """Problems of `graph` against a server's `/object_info` (node classes, inputs, combo values, number
    ranges, links and their types); [] when the server would accept it."""
    problems = []
    for node_id, node in graph.items():
        spec = object_info.get(node.get("class_type"))
        if not isinstance(spec, dict):
            problems.append(f"{node_id}: the server has no node {node.get('class_type')!r}")
            continue
        declared = {**(spec.get("input", {}).get("optional") or {}), **(spec.get("input", {}).get("required") or {})}
        required = spec.get("input", {}).get("required") or {}
        inputs = node.get("inputs", {})
        problems += [f"{node_id}: missing input {name!r}" for name in required if name not in inputs]
        for name, value in inputs.items():
            if name not in declared:
                problems.append(f"{node_id}: {node['class_type']} has no input {name!r}")
                continue
            problem = _check_input(graph, object_info, declared[name], value)
            if problem:
                problems.append(f"{node_id}.{name}: {problem}")
    return problems


def _check_input(graph: dict, object_info: dict, spec: list, value) -> str:
    kind = spec[0] if isinstance(spec, (list, tuple)) and spec else spec
    options = spec[1] if isinstance(spec, (list, tuple)) and len(spec) > 1 and isinstance(spec[1], dict) else {}
    if isinstance(value, list):  # a link [node_id, output_index]
        if len(value) != 2 or value[0] not in graph or not isinstance(value[1], int):
            return f"bad link {value!r}"
        source = object_info.get(graph[value[0]].get("class_type")) or {}
        outputs = source.get("output") or []
        if not 0 <= value[1] < len(outputs):
            return f"link to a missing output {value!r}"
        if isinstance(kind, str) and outputs[value[1]] != kind and "*" not in (kind, outputs[value[1]]):
            return f"link type {outputs[value[1]]} where {kind} is expected"
        return ""
    if kind == "COMBO":  # newer servers: ["COMBO", {"options": [...]}]
        kind = options.get("options") or []
    if isinstance(kind, list) and options.get("image_upload"):  # uploads are newer than the server's list
        return "" if isinstance(value, str) and value else f"{value!r} is not a file name"
    if isinstance(kind, list):
        return "" if value in kind else f"{value!r} is not one of the server's choices"
    if kind == "INT" and (not isinstance(value, int) or isinstance(value, bool)):
        return f"{value!r} is not an integer"
    if kind == "FLOAT" and not isinstance(value, (int, float)):
        return f"{value!r} is not a number"
    if kind in ("INT", "FLOAT"):
        if "min" in options and value < options["min"] or "max" in options and value > options["max"]:
            return f"{value!r} is outside {options.get('min')}..{options.get('max')}"
    if kind == "STRING" and not isinstance(value, str):
        return f"{value!r} is not a string"
    if kind == "BOOLEAN" and not isinstance(value, bool):
        return f"{value!r} is not a boolean"
    return ""


def choices(object_info: dict, node: str, field_name: str) -> list[str]:
    """The names a server offers for a node's combo input (e.g. checkpoints), [] when absent or malformed."""
    try:
        spec = object_info[node]["input"]["required"][field_name]
    except (KeyError, TypeError):
        return []
    values = spec[0] if isinstance(spec, list) and spec else None
    if isinstance(values, dict):  # newer servers: ["COMBO", {"options": [...]}]
        values = values.get("options")
    if isinstance(spec, list) and len(spec) > 1 and spec[0] == "COMBO" and isinstance(spec[1], dict):
        values = spec[1].get("options")
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, str) and 0 < len(v) < 512]


def model_lists(object_info: dict) -> dict[str, list[str]]:
    """Checkpoints, LoRAs and other model files the server lists (exact file names)."""
    return {
        "checkpoints": choices(object_info, "CheckpointLoaderSimple", "ckpt_name"),
        "loras": choices(object_info, "LoraLoader", "lora_name"),
        "vae": choices(object_info, "VAELoader", "vae_name"),
        "upscale_models": choices(object_info, "UpscaleModelLoader", "model_name"),
        "controlnet": choices(object_info, "ControlNetLoader", "control_net_name"),
        "clip_vision": choices(object_info, "CLIPVisionLoader", "clip_name"),
    }


def node_packs(object_info: dict) -> dict[str, bool]:
    return {pack: node in object_info for pack, node in NODE_PACKS.items()}
