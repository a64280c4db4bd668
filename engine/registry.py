"""Find and classify the models in the user's models folder, without loading any weights.

Safetensors files are classified from their header (tensor names and shapes) only;
pickled files (.bin/.pt/.pth/.ckpt) are never unpickled here: they are classified by
folder and file name. `ModelRegistry.resolve(name_or_path)` returns a `ModelInfo` or
raises `ModelNotFoundError` whose `detail` shows the expected folder layout.
"""
from __future__ import annotations

import enum
import json
import os
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Optional

import platformdirs

from engine.families import FOLDER_CLASSES, family_of, is_reference_family
from engine.jobs import ModelLoadError, ModelNotFoundError

ENV_MODELS_DIR = "PANELSMITH_MODELS"
APP_NAME = "Panelsmith"

FOLDER_LAYOUT = """\
Expected layout of the models folder (subfolder names are hints; files are recognised anywhere):
  checkpoints/      SD 1.5 / SDXL single-file .safetensors, or diffusers folders (with model_index.json),
                    including FLUX.2 klein, Qwen-Image-Edit and FLUX.1 Kontext
  diffusion_models/ Flux / Flux.2 / Qwen-Image transformers as .safetensors or .gguf; the text encoders and
                    VAE come from a diffusers folder of the same family in checkpoints/
  loras/            LoRA .safetensors (including LCM-LoRA)
  ipadapter/        IP-Adapter .safetensors (+ image_encoder/ folder)
  controlnet/       ControlNet .safetensors or diffusers folders (config.json + weights)
  instantid/        InstantID ip-adapter.safetensors and ControlNet (IdentityNet) folder
  photomaker/       PhotoMaker photomaker-v1.bin / photomaker-v2.bin (SDXL; read as tensors only)
  motion_adapters/  AnimateDiff motion adapters: diffusers MotionAdapter folders (config.json + weights)
                    or .safetensors files (e.g. guoyww/animatediff-motion-adapter-v1-5-3)
  upscale_models/   ESRGAN-style upscalers (.safetensors/.pth; need the optional spandrel package)
  insightface/      face packs as folders of .onnx files (antelopev2/, buffalo_l/) and inswapper_128.onnx"""


class ModelKind(enum.Enum):
    PIPELINE = "pipeline"  # diffusers folder
    CHECKPOINT = "checkpoint"  # single-file SD checkpoint
    TRANSFORMER = "transformer"  # single-file or GGUF diffusion transformer (Flux, Qwen-Image), no text encoders
    LORA = "lora"
    IP_ADAPTER = "ip_adapter"
    CONTROLNET = "controlnet"
    INSTANTID = "instantid"
    UPSCALER = "upscaler"
    FACE_PACK = "face_pack"
    FACE_SWAPPER = "face_swapper"
    IMAGE_ENCODER = "image_encoder"
    PHOTOMAKER = "photomaker"
    MOTION_ADAPTER = "motion_adapter"


class Arch(enum.Enum):
    SD15 = "sd15"
    SDXL = "sdxl"
    FLUX2_KLEIN = "flux2-klein"
    QWEN_IMAGE_EDIT = "qwen-image-edit"
    FLUX_KONTEXT = "flux-kontext"
    UNKNOWN = "unknown"


GENERATORS = (ModelKind.PIPELINE, ModelKind.CHECKPOINT, ModelKind.TRANSFORMER)

SUBFOLDERS = {
    ModelKind.PIPELINE: "checkpoints", ModelKind.CHECKPOINT: "checkpoints", ModelKind.TRANSFORMER: "diffusion_models",
    ModelKind.LORA: "loras",
    ModelKind.IP_ADAPTER: "ipadapter", ModelKind.CONTROLNET: "controlnet", ModelKind.INSTANTID: "instantid",
    ModelKind.UPSCALER: "upscale_models", ModelKind.FACE_PACK: "insightface", ModelKind.FACE_SWAPPER: "insightface",
    ModelKind.IMAGE_ENCODER: "ipadapter", ModelKind.PHOTOMAKER: "photomaker",
    ModelKind.MOTION_ADAPTER: "motion_adapters",
}


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    kind: ModelKind
    arch: Arch = Arch.UNKNOWN
    inpaint: bool = False
    variant: str = ""  # e.g. "faceid", "plus", "lcm", "lightning", "turbo"
    files: tuple[str, ...] = field(default=(), compare=False)
    #: SDXL checkpoints trained for v-prediction carry a ``v_pred`` marker key, zero-terminal-SNR ones ``ztsnr``.
    v_prediction: bool = False
    zero_snr: bool = False
    #: For a transformer file: the diffusers folder whose text encoders, VAE and scheduler it runs with.
    companion: Optional[Path] = field(default=None, compare=False)
    depth: tuple[int, ...] = field(default=(), compare=False)  # a transformer file's block counts

    @property
    def family(self) -> str:
        """Sampling family for presets: lcm, lightning, turbo, standard, or a reference family's arch."""
        if is_reference_family(self.arch.value):
            return self.arch.value
        lowered = self.name.lower()
        for family in ("lcm", "lightning", "turbo", "hyper"):
            if family in lowered or self.variant == family:
                return "lightning" if family == "hyper" else family
        return "standard"

    @property
    def licence(self) -> str:
        """The weight licence of this model's family ("" for files that are no generator)."""
        family = family_of(self.arch.value) if self.kind in GENERATORS else None
        return family.licence_line if family else ""


def default_models_dir() -> Path:
    """$PANELSMITH_MODELS, else ``models`` in the per-user data folder: ~/.local/share/Panelsmith
    (XDG_DATA_HOME honoured) on Linux, %LOCALAPPDATA%\\Panelsmith on Windows, ~/Library/Application
    Support/Panelsmith on macOS."""
    if os.environ.get(ENV_MODELS_DIR):
        return Path(os.environ[ENV_MODELS_DIR]).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "models"


def read_safetensors_header(path: Path) -> dict[str, dict]:
    """The tensor table of a .safetensors file ({name: {dtype, shape, data_offsets}})."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(8)
            if len(raw) != 8:
                raise ValueError("file is shorter than a safetensors header")
            (size,) = struct.unpack("<Q", raw)
            if size > 100_000_000 or size > path.stat().st_size - 8:
                raise ValueError("header size is impossible")
            header = json.loads(handle.read(size))
    except RecursionError:  # a header nested thousands deep: hostile or broken, never a model
        raise ModelLoadError(f"{path.name} is not a valid .safetensors file (its header is nested too deeply); "
                             "re-download it") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path.name} is not a valid .safetensors file ({exc}); re-download it") from None
    if not isinstance(header, dict):
        raise ModelLoadError(f"{path.name} is not a valid .safetensors file; re-download it")
    header.pop("__metadata__", None)
    if not all(isinstance(entry, dict) and isinstance(entry.get("shape", []), list) for entry in header.values()):
        raise ModelLoadError(f"{path.name} is not a valid .safetensors file (malformed tensor table); re-download it")
    return header


def _has(keys: Iterable[str], *needles: str) -> bool:
    return any(n in k for k in keys for n in needles)


def classify_safetensors(path: Path, header: Optional[dict] = None) -> Optional[ModelInfo]:
    """Classify one .safetensors file from its tensor names; None if not recognised."""
    header = header if header is not None else read_safetensors_header(path)
    keys = list(header)
    hint = _folder_hint(path)
    name = path.stem
    family = transformer_family(keys)
    if family is not None:
        return _transformer_info(path, keys, family)
    if _has(keys, "model.diffusion_model.input_blocks.", "model.diffusion_model.output_blocks."):
        arch = Arch.SDXL if _has(keys, "conditioner.embedders", "label_emb.0.0") else Arch.SD15
        conv_in = header.get("model.diffusion_model.input_blocks.0.0.weight", {}).get("shape", [0, 4])
        return ModelInfo(name, path, ModelKind.CHECKPOINT, arch, inpaint=conv_in[1] == 9,
                         v_prediction="v_pred" in header, zero_snr="ztsnr" in header)
    if _has(keys, "image_proj.", "ip_adapter."):
        if _has(keys, "image_proj.proj.0.weight"):
            variant = "faceid"
        elif _has(keys, "image_proj.latents"):
            proj_in = header.get("image_proj.proj_in.weight", {}).get("shape", [0, 0])
            variant = "instantid" if proj_in[-1] == 512 else "plus"
        else:
            variant = "base"
        kind = ModelKind.INSTANTID if variant == "instantid" or hint == "instantid" else ModelKind.IP_ADAPTER
        cross = [v["shape"][1] for k, v in header.items() if k.endswith("to_k_ip.weight")]
        arch = Arch.SDXL if cross and cross[0] == 2048 else Arch.SD15 if cross else Arch.UNKNOWN
        return ModelInfo(name, path, kind, arch, variant=variant)
    if _has(keys, "id_encoder.fuse_module."):
        variant = "v2" if _has(keys, "id_encoder.qformer_perceiver.") else "v1"
        return ModelInfo(name, path, ModelKind.PHOTOMAKER, Arch.SDXL, variant=variant)
    if _has(keys, "lora_unet_", "lora_te", ".lora_down.", ".lora_A.", ".lora.down", "lora_up"):
        arch = Arch.SDXL if _has(keys, "lora_te2_", "text_encoder_2", "lora_te_2") else Arch.SD15
        return ModelInfo(name, path, ModelKind.LORA, arch, variant="lcm" if "lcm" in name.lower() else "")
    if _has(keys, "motion_modules.") and not _has(keys, "controlnet_cond_embedding"):
        return ModelInfo(name, path, ModelKind.MOTION_ADAPTER)
    if _has(keys, "control_model.", "controlnet_cond_embedding", "input_hint_block"):
        return ModelInfo(name, path, ModelKind.CONTROLNET)
    if _has(keys, "conv_first.weight", "model.0.weight", "body.0.rdb1", "upconv1.weight") or hint == "upscale_models":
        return ModelInfo(name, path, ModelKind.UPSCALER)
    return None


#: Transformer families a single file can hold, with the diffusers class that loads it.
TRANSFORMER_CLASSES = {
    "flux": "FluxTransformer2DModel",  # FLUX.1 dev / schnell / Kontext
    "flux2": "Flux2Transformer2DModel",  # FLUX.2 dev / klein
    "qwen-image": "QwenImageTransformer2DModel",  # Qwen-Image and Qwen-Image-Edit
}
TRANSFORMER_LABELS = {"flux": "FLUX.1", "flux2": "FLUX.2", "qwen-image": "Qwen-Image"}
_LDM_PREFIX = "model.diffusion_model."
#: Known model files Panelsmith does not run: (marker in a tensor name, what the file is).
_FOREIGN = (
    ("joint_blocks.", "a Stable Diffusion 3 transformer"),
    ("distilled_guidance_layer.", "a Chroma transformer"),
    ("head.modulation", "a Wan video transformer"),
    ("patchify_proj.", "an LTX-Video transformer"),
    ("cap_embedder.", "a Lumina 2 transformer"),
    ("layers.0.adaLN_modulation.", "a Z-Image transformer"),
    ("double_stream_blocks.", "a HiDream transformer"),
    ("txt_in.individual_token_refiner.", "a HunyuanVideo transformer"),
    ("double_layers.", "an AuraFlow transformer"),
    ("encoder.block.0.layer.0.", "a T5 text encoder"),
    ("enc.blk.0.", "a T5 text encoder"),
    ("blk.0.attn_q.", "a language-model text encoder (Qwen / Llama / Mistral)"),
    ("model.layers.0.self_attn.", "a language-model text encoder (Qwen / Llama / Mistral)"),
    ("text_model.encoder.layers.", "a CLIP text encoder"),
    ("decoder.up_blocks.", "a VAE"),
    ("decoder.up.", "a VAE"),
)
SUPPORTED_FILES = ("SD 1.5 / SDXL checkpoints (.safetensors), and FLUX.1, FLUX.2 and Qwen-Image transformers "
                   "(.safetensors or .gguf) beside a diffusers folder of the same family")


def transformer_family(keys: Iterable[str]) -> Optional[str]:
    """flux, flux2 or qwen-image for a diffusion transformer's tensor names (original or diffusers
    layout, with or without ComfyUI's ``model.diffusion_model.`` prefix); None for anything else."""
    names = {k.removeprefix(_LDM_PREFIX) for k in keys}
    if "single_stream_modulation.lin.weight" in names:
        return "flux2"
    if any(n.startswith(("distilled_guidance_layer.", "early_stream_modulations.")) for n in names):
        return None  # Chroma / FLUX.3: same block names, other models
    if "double_blocks.0.img_attn.norm.key_norm.scale" in names:
        return "flux"
    if "txt_norm.weight" in names and "transformer_blocks.0.img_mod.1.weight" in names:
        return "qwen-image"
    return None


def describe_file(path: Path) -> str:
    """One line saying what a model file Panelsmith cannot use is, and what it supports."""
    what = "not a model Panelsmith recognises"
    try:
        suffix = path.suffix.lower()
        keys = read_gguf_tensor_names(path) if suffix == ".gguf" else \
            list(read_safetensors_header(path)) if suffix == ".safetensors" else []
    except ModelLoadError as exc:
        return str(exc)
    names = [k.removeprefix(_LDM_PREFIX) for k in keys]
    for marker, label in _FOREIGN:
        if any(n.startswith(marker) or f".{marker}" in n for n in names):
            what = label
            break
    return f"{path.name} is {what}; Panelsmith runs {SUPPORTED_FILES}"


def read_gguf_tensor_names(path: Path) -> list[str]:
    """The tensor names of a GGUF file (memory-mapped; no tensor data is read)."""
    try:
        from gguf import GGUFReader
    except ImportError:
        raise ModelLoadError(f"{path.name} is a GGUF file: install the gguf package to use it "
                             "(pip install gguf)") from None
    try:
        return [t.name for t in GGUFReader(str(path)).tensors]
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise ModelLoadError(f"{path.name} is not a valid GGUF file ({exc}); re-download it") from None


def _transformer_info(path: Path, keys: list[str], family: str) -> Optional[ModelInfo]:
    if not family:
        return None
    names = [k.removeprefix(_LDM_PREFIX) for k in keys]

    def count(prefix: str) -> int:
        return len({n[len(prefix):].split(".")[0] for n in names if n.startswith(prefix)})

    if family == "qwen-image":
        depth = (count("transformer_blocks."),)
    else:
        depth = (count("double_blocks."), count("single_blocks."))
    return ModelInfo(path.stem, path, ModelKind.TRANSFORMER, variant=family, depth=depth)


def transformer_class_of(folder: Path) -> str:
    """The transformer class a diffusers folder's model_index.json names ('' when none)."""
    index = folder / "model_index.json"
    entry = _read_json(index).get("transformer") if index.is_file() else None
    return str(entry[1]) if isinstance(entry, list) and len(entry) == 2 else ""


def pair_transformer(info: ModelInfo, models: Iterable[ModelInfo]) -> ModelInfo:
    """`info` with its companion: the diffusers folder of the same family, preferring equal block counts."""
    if info.kind is not ModelKind.TRANSFORMER or info.companion is not None:
        return info
    wanted = TRANSFORMER_CLASSES.get(info.variant, "")
    candidates = [m for m in models if m.kind is ModelKind.PIPELINE and transformer_class_of(m.path) == wanted]

    def same_depth(m: ModelInfo) -> bool:
        config_path = m.path / "transformer" / "config.json"
        config = _read_json(config_path) if config_path.is_file() else {}
        layers = tuple(config[k] for k in ("num_layers", "num_single_layers") if k in config)
        return layers[: len(info.depth)] == info.depth

    candidates.sort(key=lambda m: (not same_depth(m), m.name))
    return replace(info, companion=candidates[0].path) if candidates else info


def _folder_hint(path: Path) -> str:
    for part in reversed(path.parts[:-1]):
        lowered = part.lower()
        for hint in ("upscale_models", "instantid", "photomaker", "controlnet", "ipadapter", "ip_adapter", "loras", "lora", "insightface"):
            if hint in lowered:
                return {"ip_adapter": "ipadapter", "lora": "loras"}.get(hint, hint)
    return ""


def classify_folder(path: Path) -> Optional[ModelInfo]:
    """Classify a directory: diffusers pipeline, ControlNet, image encoder or insightface pack."""
    index = path / "model_index.json"
    if index.is_file():
        config = _read_json(index)
        cls = str(config.get("_class_name", ""))
        if cls in FOLDER_CLASSES:  # a reference-edit family: our own class table, never the folder's code
            return ModelInfo(path.name, path, ModelKind.PIPELINE, Arch(FOLDER_CLASSES[cls]))
        arch = Arch.SDXL if "XL" in cls or "text_encoder_2" in config else Arch.SD15
        unet_cfg = path / "unet" / "config.json"
        in_channels = _read_json(unet_cfg).get("in_channels", 4) if unet_cfg.is_file() else 4
        inpaint = in_channels == 9 or "Inpaint" in cls
        return ModelInfo(path.name, path, ModelKind.PIPELINE, arch, inpaint=inpaint)
    config_path = path / "config.json"
    if config_path.is_file():
        config = _read_json(config_path)
        cls = str(config.get("_class_name", ""))
        archs = config.get("architectures") or []
        if cls == "ControlNetModel":
            arch = Arch.SDXL if config.get("addition_embed_type") == "text_time" else Arch.SD15
            kind = ModelKind.INSTANTID if _folder_hint(path / "x") == "instantid" else ModelKind.CONTROLNET
            return ModelInfo(path.name, path, kind, arch)
        if cls == "MotionAdapter":
            return ModelInfo(path.name, path, ModelKind.MOTION_ADAPTER)
        if "CLIPVisionModelWithProjection" in archs:
            return ModelInfo(path.name, path, ModelKind.IMAGE_ENCODER)
    onnx = sorted(p.name for p in path.glob("*.onnx"))
    if onnx and any(n.startswith(("det_", "scrfd")) for n in onnx):
        return ModelInfo(path.name, path, ModelKind.FACE_PACK, files=tuple(onnx))
    return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path} is not valid JSON ({exc})") from None
    return data if isinstance(data, dict) else {}


def classify_path(path: Path) -> Optional[ModelInfo]:
    """Classify a file or folder; None when it is no model Panelsmith knows."""
    if path.is_dir():
        return classify_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return classify_safetensors(path)
    if suffix == ".gguf":
        keys = read_gguf_tensor_names(path)
        family = transformer_family(keys)
        return _transformer_info(path, keys, family or "")
    if suffix == ".onnx" and path.name.lower().startswith("inswapper"):
        return ModelInfo(path.stem, path, ModelKind.FACE_SWAPPER)
    if suffix in (".bin", ".pt", ".pth", ".ckpt"):
        # Pickled: never opened here. Classified by folder (or PhotoMaker's released file name) only.
        hint = _folder_hint(path)
        if hint == "photomaker" or path.name.lower().startswith("photomaker"):
            variant = "v2" if "v2" in path.stem.lower() else "v1"
            return ModelInfo(path.stem, path, ModelKind.PHOTOMAKER, Arch.SDXL, variant=variant)
        kind = {
            "upscale_models": ModelKind.UPSCALER,
            "instantid": ModelKind.INSTANTID,
            "ipadapter": ModelKind.IP_ADAPTER,
        }.get(hint)
        if kind:
            return ModelInfo(path.stem, path, kind, variant="pickle")
    return None


class ModelRegistry:
    """The models of one folder, scanned lazily and re-scannable with `refresh()`."""

    def __init__(self, models_dir: Optional[os.PathLike | str] = None) -> None:
        self.models_dir = Path(models_dir).expanduser() if models_dir else default_models_dir()
        self._models: Optional[list[ModelInfo]] = None
        self.problems: list[str] = []  # unreadable files found while scanning

    def refresh(self) -> list[ModelInfo]:
        models: list[ModelInfo] = []
        self.problems = []
        if self.models_dir.is_dir():
            self._scan(self.models_dir, models)
        models = [pair_transformer(m, models) for m in models]
        self._models = models
        return models

    def _scan(self, folder: Path, out: list[ModelInfo]) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                continue
            try:
                info = classify_path(entry)
            except ModelLoadError as exc:
                self.problems.append(str(exc))
                continue
            if info is not None:
                out.append(info)
            elif entry.is_dir():
                self._scan(entry, out)

    def models(self, kinds: Iterable[ModelKind] = ()) -> list[ModelInfo]:
        wanted = set(kinds)
        found = self._models if self._models is not None else self.refresh()
        return [m for m in found if not wanted or m.kind in wanted]

    def resolve(self, name_or_path: str, kinds: Iterable[ModelKind] = GENERATORS) -> ModelInfo:
        """Find a model by path, by name (file/folder stem), or by unique name prefix."""
        kinds = tuple(kinds)
        what = " or ".join(k.value for k in kinds)
        if not name_or_path:
            raise ModelNotFoundError(f"no {what} model chosen", detail=self.help())
        path = Path(name_or_path).expanduser()
        if path.exists():
            info = classify_path(path)
            if info is None and path.suffix.lower() in (".gguf", ".safetensors"):
                raise ModelNotFoundError(describe_file(path), detail=self.help())
            if info is None or info.kind not in kinds:
                found = info.kind.value if info else "nothing Panelsmith recognises"
                raise ModelNotFoundError(f"{path} is {found}, not a {what} model", detail=self.help())
            return pair_transformer(info, self.models((ModelKind.PIPELINE,)))
        if path.is_absolute() or os.sep in name_or_path:
            raise ModelNotFoundError(f"model file {path} does not exist", detail=self.help())
        found = self._by_name(name_or_path, kinds)
        if found is None and self._models is not None:
            self.refresh()  # the user may have added the model since the last scan
            found = self._by_name(name_or_path, kinds)
        if found is not None:
            return found
        raise ModelNotFoundError(
            f"no {what} model named {name_or_path!r} in {self.models_dir}; "
            f"put it in {self.models_dir / SUBFOLDERS[kinds[0]]}/ (any file or folder name) "
            "or pass --models DIR",
            detail=self.help(),
        )

    def _by_name(self, name: str, kinds: tuple[ModelKind, ...]) -> Optional[ModelInfo]:
        candidates = self.models(kinds)
        lowered = name.lower()
        for match in (
            [m for m in candidates if m.name == name],
            [m for m in candidates if m.name.lower() == lowered],
            [m for m in candidates if m.name.lower().startswith(lowered)],
        ):
            if len(match) == 1:
                return match[0]
            if len(match) > 1:
                names = ", ".join(str(m.path.relative_to(self.models_dir)) for m in match)
                raise ModelNotFoundError(f"model name {name!r} is ambiguous: {names}")
        return None

    def help(self) -> str:
        return f"Models folder: {self.models_dir}\n{FOLDER_LAYOUT}"
