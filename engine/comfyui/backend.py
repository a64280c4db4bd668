"""The ComfyUI engine: the same requests as the local engine, painted by one or more ComfyUI servers.

`ComfyEngine` is an :class:`engine.api.Engine` whose backend paints on servers: txt2img, img2img and
the inpaint of a crop. Everything else stays in Panelsmith (sizes, the context crop, mask feathering,
colour matching and paste-back), so vary and pan keep pixels beyond the feather band byte-identical.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from PIL import Image

from engine import upscale
from engine.api import Engine, ProgressCallback
from engine.device import DeviceOptions
from engine.jobs import EngineError, GenerationRequest, JobCancelled, JobKind, JobProgress, JobResult, \
    LoraConditioning, ModelNotFoundError
from engine.registry import GENERATORS, Arch, ModelInfo, ModelKind
from engine.sampling import Sampling, sampling_for

from .client import ServerRejected, png_bytes
from .graphs import NODE_PACKS, Job, Reference, build, choices, node_packs, validate
from .pool import ServerPool, ServerState

StepCallback = Callable[[int, int, Optional[Image.Image]], None]

_KIND_LISTS = {ModelKind.CHECKPOINT: ("CheckpointLoaderSimple", "ckpt_name"),
               ModelKind.PIPELINE: ("CheckpointLoaderSimple", "ckpt_name"),
               ModelKind.LORA: ("LoraLoader", "lora_name"),
               ModelKind.UPSCALER: ("UpscaleModelLoader", "model_name")}


# what planning a job's cards reads of a server: the packs' marker nodes and the model lists it picks from
_PLAN_NODES = (*NODE_PACKS.values(), "LoraLoader", "InstantIDModelLoader", "ControlNetLoader")

_UPLOAD_NAME = re.compile(r"^[A-Za-z0-9_\-. ]{1,200}\.(safetensors|sft)$")  # what the upload route accepts


def guess_arch(name: str) -> Arch:
    lowered = name.lower()
    return Arch.SDXL if any(k in lowered for k in ("xl", "pony", "illustrious")) else Arch.SD15


@dataclass
class RemoteModel:
    """A server checkpoint as the engine's geometry code sees it."""

    info: ModelInfo
    native_size: tuple[int, int]

    @property
    def arch(self) -> Arch:
        return self.info.arch


@dataclass
class Prompt:
    text: str
    negative: str = ""


@dataclass
class ReferencePlan:
    """Reference images to upload and apply through a node pack (see :class:`graphs.Reference`)."""

    kind: str
    images: list[Image.Image]
    weight: float
    mask: Optional[Image.Image] = None


@dataclass
class RemoteExtras:
    """LoRAs (server file names), LoRAs to upload where a server lacks them, references for the node packs,
    notes for the result, which servers painted, and `on_server(name)` called when a server takes the job."""

    loras: list[tuple[str, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    uploads: dict[str, Path] = field(default_factory=dict)
    references: list[ReferencePlan] = field(default_factory=list)
    instantid: tuple[str, str] = ("", "")  # (InstantID model, IdentityNet ControlNet) on the server
    on_server: Optional[Callable[[str], None]] = None


class RemoteRegistry:
    """The models of the pool's servers, in the registry's shape (names are server file names)."""

    def __init__(self, pool: ServerPool) -> None:
        self.pool = pool

    def _names(self, kinds: Iterable[ModelKind]) -> list[tuple[str, ModelKind]]:
        kinds = tuple(dict.fromkeys(kinds))
        info = self.pool.nodes(_KIND_LISTS[k][0] for k in kinds if k in _KIND_LISTS)
        out = []
        for kind in dict.fromkeys(kinds):
            node, field_name = _KIND_LISTS.get(kind, ("", ""))
            out += [(n, ModelKind.CHECKPOINT if kind is ModelKind.PIPELINE else kind)
                    for n in choices(info, node, field_name)]
        return list(dict.fromkeys(out))

    def models(self, kinds: Iterable[ModelKind] = ()) -> list[ModelInfo]:
        kinds = tuple(kinds) or tuple(_KIND_LISTS)
        return [_info(n, k) for n, k in self._names(kinds)]

    def resolve(self, name: str, kinds: Iterable[ModelKind] = GENERATORS) -> ModelInfo:
        """The server's file for `name`: exact, else the same file name in any subfolder, else the same stem."""
        kinds = tuple(kinds)
        names = self._names(kinds)
        what = "LoRA" if kinds == (ModelKind.LORA,) else "upscaler" if kinds == (ModelKind.UPSCALER,) else "model"
        servers = ", ".join(s.name for s in self.pool.servers)
        if not name:
            raise ModelNotFoundError(f"no model chosen: pass --model NAME (a checkpoint on {servers})")
        wanted = name.replace("\\", "/")
        base = wanted.rsplit("/", 1)[-1]
        for test in (lambda n: n == wanted, lambda n: n.replace("\\", "/").rsplit("/", 1)[-1] == base,
                     lambda n: Path(n.replace("\\", "/")).stem == Path(base).stem):
            found = [(n, k) for n, k in names if test(n)]
            if found:
                return _info(*found[0])
        listed = ", ".join(n for n, _k in names[:8]) or "none"
        raise ModelNotFoundError(f"ComfyUI server {servers} has no {what} {name!r} (it has: {listed})"[:280])


def _info(name: str, kind: ModelKind) -> ModelInfo:
    return ModelInfo(name=name, path=Path(name), kind=kind, arch=guess_arch(name), inpaint="inpaint" in name.lower())


class RemoteBackend:
    """txt2img / img2img / inpaint on the pool, with the DiffusionBackend's call shapes."""

    def __init__(self, pool: ServerPool) -> None:
        self.pool = pool

    def model(self, info: ModelInfo, device: str = "auto") -> RemoteModel:
        return RemoteModel(info, native_for(info))

    def txt2img(self, model: RemoteModel, prompt, size: tuple[int, int], seed: int, sampling: Sampling,
                on_step: Optional[StepCallback] = None, cancel: Optional[threading.Event] = None,
                extras: Optional[RemoteExtras] = None) -> Image.Image:
        job = self._job(model, prompt, seed, sampling, extras, width=size[0], height=size[1])
        return self._paint(job, {}, size, on_step, cancel, extras)

    def img2img(self, model: RemoteModel, prompt, image: Image.Image, seed: int, sampling: Sampling,
                strength: float, on_step: Optional[StepCallback] = None, cancel: Optional[threading.Event] = None,
                extras: Optional[RemoteExtras] = None) -> Image.Image:
        job = self._job(model, prompt, seed, sampling, extras, denoise=strength)
        return self._paint(job, {"image": image.convert("RGB")}, image.size, on_step, cancel, extras)

    def inpaint(self, model: RemoteModel, prompt, image: Image.Image, mask: Image.Image, seed: int,
                sampling: Sampling, strength: float = 1.0, on_step: Optional[StepCallback] = None,
                cancel: Optional[threading.Event] = None, extras: Optional[RemoteExtras] = None) -> Image.Image:
        job = self._job(model, prompt, seed, sampling, extras, denoise=strength, inpaint_model=model.info.inpaint)
        uploads = {"image": image.convert("RGB"), "mask": mask.convert("L")}
        return self._paint(job, uploads, image.size, on_step, cancel, extras)

    @staticmethod
    def _job(model: RemoteModel, prompt, seed: int, sampling: Sampling, extras: Optional[RemoteExtras],
             **kw) -> Job:
        return Job(checkpoint=model.info.name, prompt=prompt.text, negative=prompt.negative, seed=seed,
                   steps=sampling.steps, cfg=sampling.guidance, scheduler=sampling.scheduler,
                   loras=list(extras.loras) if isinstance(extras, RemoteExtras) else [], **kw)

    def _paint(self, job: Job, uploads: dict[str, Image.Image], size: tuple[int, int],
               on_step: Optional[StepCallback], cancel: Optional[threading.Event],
               extras: Optional[RemoteExtras]) -> Image.Image:
        remote = extras if isinstance(extras, RemoteExtras) else RemoteExtras()

        def work(server: ServerState) -> Image.Image:
            if remote.on_server is not None:
                remote.on_server(server.name)
            self._ensure_loras(server, remote.uploads)
            for key, image in uploads.items():
                setattr(job, key, _upload(server, image))
            job.references = [Reference(plan.kind, [_upload(server, i) for i in plan.images], plan.weight,
                                        _upload(server, plan.mask.convert("L").resize(tuple(size)))
                                        if plan.mask is not None else None)
                              for plan in remote.references]
            job.instantid_file, job.instantid_controlnet = remote.instantid
            graph = build(job)
            if job.references:  # node packs vary between versions: say which input a server would refuse
                problems = validate(graph, self.pool.nodes({n["class_type"] for n in graph.values()}, server))
                if problems:
                    raise ServerRejected(f"ComfyUI server {server.name} cannot run the identity graph: "
                                         f"{problems[0]}"[:280])
            images = server.client.run(graph, on_step=on_step, cancel=cancel)
            remote.servers.append(server.name)
            return images[0]

        image = self.pool.run(work, job.checkpoint, cancel)
        if image.size != tuple(size):
            raise ServerRejected(f"the server sent a {image.width}x{image.height} image for a "
                                 f"{size[0]}x{size[1]} job")
        return image.convert("RGB")

    def _ensure_loras(self, server: ServerState, uploads: dict[str, Path]) -> None:
        """Upload the LoRAs this server lacks (comfyui-tooling-nodes' upload route), else say it lacks them."""
        if not uploads:
            return
        info = self.pool.nodes(["LoraLoader", NODE_PACKS["comfyui-tooling-nodes"]], server)
        have = set(choices(info, "LoraLoader", "lora_name"))
        missing = [name for name in uploads if name not in have]
        if not missing:
            return
        if not node_packs(info).get("comfyui-tooling-nodes"):
            raise ServerRejected(f"ComfyUI server {server.name} lacks the LoRA file {missing[0]!r} and takes no "
                                 "uploads (no comfyui-tooling-nodes): copy it into the server's models/loras folder")
        for name in missing:
            server.client.upload_model("loras", name, uploads[name])
        self.pool.forget(server, ["LoraLoader"])  # its list changed

    def upscale(self, image: Image.Image, upscaler: str, cancel: Optional[threading.Event]) -> Image.Image:
        """Run a server upscale model (UpscaleModelLoader + ImageUpscaleWithModel) on `image`."""

        def work(server: ServerState) -> Image.Image:
            name = _upload(server, image)
            graph = {"load": {"class_type": "LoadImage", "inputs": {"image": name}},
                     "up": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": upscaler}},
                     "run": {"class_type": "ImageUpscaleWithModel",
                             "inputs": {"upscale_model": ["up", 0], "image": ["load", 0]}},
                     "out": {"class_type": "PreviewImage", "inputs": {"images": ["run", 0]}}}
            return server.client.run(graph, cancel=cancel)[0]

        return self.pool.run(work, "", cancel).convert("RGB")

    def close(self) -> None:
        pass


def _upload(server: ServerState, image: Image.Image) -> str:
    name = f"panelsmith-{hashlib.sha256(png_bytes(image)).hexdigest()[:24]}.png"
    return server.client.upload_image(image, name)


def native_for(info: ModelInfo) -> tuple[int, int]:
    return (1024, 1024) if info.arch is Arch.SDXL else (512, 512)


#: Edit by instruction needs a reference-edit model run by Panelsmith itself.
EDIT_UNSUPPORTED = ("edit by instruction is not supported on a ComfyUI server yet: run it without --comfyui "
                    "(a FLUX.2 klein, Qwen-Image-Edit or FLUX.1 Kontext model in the local models folder)")


class ComfyEngine(Engine):
    """Runs requests on a :class:`ServerPool`; `run` is thread-safe (one call per job, any number at once)."""

    def __init__(self, pool: ServerPool) -> None:
        self.pool = pool
        self.registry = RemoteRegistry(pool)  # type: ignore[assignment]
        self.options = DeviceOptions()
        self._backend = RemoteBackend(pool)  # type: ignore[assignment]

    @property
    def backend(self) -> RemoteBackend:  # type: ignore[override]
        return self._backend  # type: ignore[return-value]

    @property
    def loads(self) -> int:
        return 0

    def close(self) -> None:
        pass

    def run(self, request: GenerationRequest, progress_cb: Optional[ProgressCallback] = None,
            cancel_event: Optional[threading.Event] = None) -> JobResult:
        if request.kind is JobKind.EDIT:
            raise EngineError(EDIT_UNSUPPORTED)
        result = super().run(request, progress_cb, cancel_event)
        result.metadata["engine"] = "comfyui"
        return result

    def _conditions_remote(self, request: GenerationRequest, info: ModelInfo) -> RemoteExtras:
        """LoRAs by server file name (to upload where a server lacks one and takes uploads) and the
        references the server's node packs can apply; a missing pack is a note, the job carries on."""
        extras = RemoteExtras()
        if not request.conditioning:
            return extras
        object_info = self.pool.nodes(_PLAN_NODES)
        servers = ", ".join(s.name for s in self.pool.servers)
        conditions = []
        for cond in request.conditioning:
            if isinstance(cond, LoraConditioning):
                try:
                    extras.loras.append((self.registry.resolve(cond.model, (ModelKind.LORA,)).name, cond.weight))
                    continue
                except ModelNotFoundError:
                    pass
                name = cond.model.replace("\\", "/").rsplit("/", 1)[-1]
                if not node_packs(object_info).get("comfyui-tooling-nodes"):
                    raise EngineError(f"ComfyUI server {servers} lacks the LoRA file {name!r} and takes no uploads "
                                      "(no comfyui-tooling-nodes): copy it into the server's models/loras folder")
                local = Path(cond.model)
                if not local.is_file() or not _UPLOAD_NAME.match(name) or ".." in name or name.startswith("."):
                    raise EngineError(f"ComfyUI server {servers} lacks the LoRA file {name!r} and it cannot be "
                                      f"uploaded ({'no such local file' if not local.is_file() else 'bad file name'})")
                extras.uploads[name] = local
                extras.loras.append((name, cond.weight))
            elif type(cond).__name__ in ("CharacterCondition", "StyleCondition"):
                conditions.append(cond)
            else:
                raise EngineError(f"conditioning {type(cond).__name__} is not supported by this engine")
        if conditions:
            self._plan_references(conditions, info, object_info, extras)
        return extras

    @staticmethod
    def _plan_references(conditions: list, info: ModelInfo, object_info: dict, extras: RemoteExtras) -> None:
        packs = node_packs(object_info)
        kinds = {type(c).__name__ for c in conditions}
        chars = [c for c in conditions if type(c).__name__ == "CharacterCondition"]
        instantid = ("", "")
        wants_instantid = bool(chars) and info.arch is Arch.SDXL
        if wants_instantid and packs.get("ComfyUI_InstantID"):
            files = choices(object_info, "InstantIDModelLoader", "instantid_file")
            nets = [n for n in choices(object_info, "ControlNetLoader", "control_net_name")
                    if any(k in n.lower() for k in ("instantid", "identitynet"))]
            if files and nets:
                instantid = (files[0], nets[0])
            else:
                extras.warnings.append("face identity through InstantID not applied: the ComfyUI server has no "
                                       "InstantID model (models/instantid) and IdentityNet (models/controlnet)")
        missing = [] if packs.get("ComfyUI_IPAdapter_plus") else ["ComfyUI_IPAdapter_plus"]
        if wants_instantid and not packs.get("ComfyUI_InstantID"):
            missing.append("ComfyUI_InstantID")
        if missing:
            what = "character identity and style" if len(kinds) > 1 else \
                "character identity" if chars else "style references"
            extras.warnings.append(f"{what} not fully applied: the ComfyUI server lacks the node pack "
                                   f"{' and '.join(missing)}")
        ipadapter = packs.get("ComfyUI_IPAdapter_plus", False)
        for cond in conditions:
            refs = [i.convert("RGB") for i in cond.reference_images[:4]]
            if not refs:
                continue
            if type(cond).__name__ == "StyleCondition":
                if ipadapter and cond.sw > 0:
                    extras.references.append(ReferencePlan("style", refs, cond.sw / 100))
                continue
            if instantid[0]:
                extras.references.append(ReferencePlan("instantid", refs[:1], 0.8 * cond.identity_strength,
                                                       cond.region))
            if ipadapter and cond.cw > 0:
                extras.references.append(ReferencePlan("face", refs, cond.cw / 100 * cond.identity_strength,
                                                       cond.region))
        extras.instantid = instantid

    def _diffuse(self, request: GenerationRequest, progress_cb: Optional[ProgressCallback],
                 cancel: threading.Event) -> JobResult:
        info = self.registry.resolve(request.model)
        extras = self._conditions_remote(request, info)
        loras = extras.loras
        if progress_cb is not None:
            extras.on_server = lambda name: progress_cb(JobProgress(request.job_id, 0, 0, None, server=name))
        if cancel.is_set():
            raise JobCancelled("cancelled")
        model = RemoteModel(info, native_for(info))
        family = next(("lcm" for n, _w in loras if "lcm" in n.lower()), None) or info.family
        sampling = sampling_for(family, request.preset, request.scheduler, request.steps, request.guidance)
        first_seed = request.seed if request.seed is not None else random.randrange(2**32)
        seeds = [(first_seed + i) % 2**32 for i in range(request.variants)]
        prompt = Prompt(request.prompt, request.negative_prompt)
        images = self._paint(request, model, prompt, seeds, sampling, progress_cb, cancel, extras)
        size = images[0].size
        metadata = dict(model=info.name, arch=info.arch.value, scheduler=sampling.scheduler, steps=sampling.steps,
                        guidance=sampling.guidance, width=size[0], height=size[1],
                        server=", ".join(dict.fromkeys(extras.servers)), loras=loras, warnings=list(extras.warnings))
        return JobResult(request.job_id, request, images, seeds, metadata)

    def _upscale(self, request: GenerationRequest, progress_cb: Optional[ProgressCallback] = None,
                 cancel: Optional[threading.Event] = None) -> JobResult:
        if not request.model:
            return super()._upscale(request, progress_cb, cancel)
        cancel = cancel or threading.Event()
        image = request.init_image.convert("RGB")
        size = upscale.target_size(image.size, request.scale, request.width, request.height)
        info = self.registry.resolve(request.model, (ModelKind.UPSCALER,))
        out = self.backend.upscale(image, info.name, cancel)
        if out.size != size:
            out = out.resize(size, Image.Resampling.LANCZOS)
        metadata = dict(method=info.name, width=size[0], height=size[1])
        seed = request.seed or 0
        if request.refine_strength is not None:
            out, refine = self._refine(request, out, seed, progress_cb, cancel)
            metadata.update(refine)
            metadata["method"] = f"{info.name}+refine"
        return JobResult(request.job_id, request, [out], [seed], metadata)


__all__ = ["ComfyEngine", "RemoteRegistry", "RemoteBackend", "guess_arch"]
