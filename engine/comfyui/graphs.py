"""ComfyUI API graphs for txt2img, img2img and inpaint (core nodes only), with LoRAs by file name.

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
    graph["pos"] = {"class_type": "CLIPTextEncode", "inputs": {"text": job.prompt, "clip": clip}}
    graph["neg"] = {"class_type": "CLIPTextEncode", "inputs": {"text": job.negative, "clip": clip}}
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
        "scheduler": scheduler, "positive": ["pos", 0], "negative": ["neg", 0], "latent_image": ["latent", 0],
        "denoise": denoise}}
    graph["decode"] = {"class_type": "VAEDecode", "inputs": {"samples": ["sample", 0], "vae": vae}}
    graph["out"] = {"class_type": "PreviewImage", "inputs": {"images": ["decode", 0]}}
    return graph


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
