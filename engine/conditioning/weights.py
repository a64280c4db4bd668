"""Safe, cached loading of adapter weights (torch backend).

Only safetensors are read, except IP-Adapter/InstantID `.bin` files, which are read with
`torch.load(weights_only=True)` (tensors only, no code). Results are cached by file path,
size and modification time, so a second job with the same adapters reads nothing from disk.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import torch

from engine.jobs import ModelLoadError

_CACHE: "OrderedDict[tuple, Any]" = OrderedDict()
_LOCK = threading.Lock()
CACHE_SIZE = 8


def _key(kind: str, path: Path, *extra: Any) -> tuple:
    st = path.stat()
    return (kind, str(path.resolve()), st.st_size, st.st_mtime_ns, *extra)


def _cached(key: tuple, build: Callable[[], Any]) -> Any:
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = build()
    with _LOCK:
        _CACHE[key] = value
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def load_ip_adapter_state_dict(path: Path) -> dict[str, dict[str, torch.Tensor]]:
    """{"image_proj": {...}, "ip_adapter": {...}} from a flat .safetensors or a nested .bin."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"adapter file {path} does not exist")

    def build() -> dict:
        sd = read_nested(path, ("image_proj", "ip_adapter"))
        if sd is None:
            raise ModelLoadError(f"{path.name}: adapters must be .safetensors (or .bin)")
        if not isinstance(sd, dict) or not sd.get("image_proj") or not sd.get("ip_adapter"):
            raise ModelLoadError(f"{path.name} is not an IP-Adapter (no image_proj / ip_adapter weights)")
        return sd

    return _cached(_key("ip", path), build)


def read_nested(path: Path, heads: tuple[str, ...]) -> Any:
    """A nested ``{head: {key: tensor}}`` state dict from a flat .safetensors (``head.key`` names) or a
    .bin/.pt/.pth read with ``torch.load(weights_only=True)``; None for any other suffix. A file that
    cannot be read is one ModelLoadError line naming it."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            flat = load_file(str(path))
        except Exception as exc:  # noqa: BLE001 - corrupt file
            raise ModelLoadError(f"{path.name} is not a valid .safetensors file ({exc})") from None
        sd: dict[str, dict[str, torch.Tensor]] = {h: {} for h in heads}
        for k, v in flat.items():
            head, _, rest = k.partition(".")
            if head in sd:
                sd[head][rest] = v
        return sd
    if path.suffix in (".bin", ".pt", ".pth"):
        try:
            return torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - pickled code, truncated or not a torch file
            reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(f"{path.name} could not be read as tensors only ({reason})") from None
    return None


def load_lora_state_dict(path: Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ModelLoadError(f"{path.name}: LoRA files must be .safetensors")
    if not path.is_file():
        raise ModelLoadError(f"LoRA file {path} does not exist")

    def build() -> dict:
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # noqa: BLE001
            raise ModelLoadError(f"{path.name} is not a valid .safetensors file ({exc})") from None

    return _cached(_key("lora", path), build)


def load_image_encoder(folder: Path, dtype: torch.dtype, device: torch.device):
    """(CLIPVisionModelWithProjection, CLIPImageProcessor) from a local folder."""
    folder = Path(folder)
    config = folder / "config.json"
    if not config.is_file():
        raise ModelLoadError(f"image encoder folder {folder} has no config.json")

    def build():
        from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

        try:
            enc = CLIPVisionModelWithProjection.from_pretrained(str(folder), local_files_only=True, use_safetensors=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelLoadError(f"image encoder {folder} could not be loaded ({exc})") from None
        enc = enc.to(device=device, dtype=dtype).eval()
        size = enc.config.image_size
        return enc, CLIPImageProcessor(size=size, crop_size=size)

    return _cached(_key("enc", config, str(dtype), str(device)), build)


def load_controlnet(folder: Path, dtype: torch.dtype, device: torch.device):
    """The InstantID IdentityNet (a diffusers ControlNetModel folder with safetensors)."""
    folder = Path(folder)
    config = folder / "config.json"
    if not config.is_file():
        raise ModelLoadError(f"ControlNet folder {folder} has no config.json")

    def build():
        from diffusers import ControlNetModel

        try:
            cn = ControlNetModel.from_pretrained(str(folder), local_files_only=True, use_safetensors=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelLoadError(f"IdentityNet {folder} could not be loaded ({exc})") from None
        return cn.to(device=device, dtype=dtype).eval()

    return _cached(_key("cn", config, str(dtype), str(device)), build)
