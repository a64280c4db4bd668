"""Download a named model from the Hugging Face hub into the models folder, only with consent.

``download(repo_id, consent=True)`` fetches a whole repository (a diffusers pipeline, say) into
``<models>/<subfolder>/<repo name>/``, or one file (``filename``) into ``<models>/<subfolder>/``.
Without consent it raises a one-line :class:`EngineError` saying what would be downloaded, how
big it is when the hub can tell, and how to allow it. The hub address comes from ``HF_ENDPOINT``
(read at each call); network failures become ``could not reach the model hub: …``.
huggingface_hub is imported on first use only.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Optional

from engine.errors import one_line
from engine.jobs import EngineError
from engine.registry import default_models_dir

KINDS = {"checkpoint": "checkpoints", "lora": "loras", "ipadapter": "ipadapter", "controlnet": "controlnet",
         "instantid": "instantid", "upscaler": "upscale_models"}

# Whole-repository downloads take the safetensors weights and configs, not duplicate pickles/exports.
IGNORE = ["*.ckpt", "*.bin", "*.pt", "*.pth", "*.msgpack", "*.h5", "*.onnx", "*.onnx_data", "*.ot", "*.tflite",
          "*.mlmodel", "*.mlpackage/*", "*.gguf"]
ALLOW_HINT = "pass --yes (command line) or consent=True to allow it"


@dataclasses.dataclass
class DownloadPlan:
    repo_id: str
    filename: Optional[str]
    kind: str
    target: Path  # the folder (whole repository) or the file that will be written
    size: Optional[int] = None  # bytes, when the hub could tell

    def describe(self) -> str:
        what = f"{self.repo_id}/{self.filename}" if self.filename else f"{self.repo_id} (whole repository)"
        size = f"{human_size(self.size)}" if self.size is not None else "size unknown"
        return f"{what}, {size}, into {self.target}"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def plan(repo_id: str, filename: Optional[str] = None, kind: str = "checkpoint",
         models_dir: Optional[str | os.PathLike] = None, with_size: bool = True, timeout: float = 10) -> DownloadPlan:
    """Where a download would go and (when ``with_size`` and the hub answers) how big it is."""
    if kind not in KINDS:
        raise EngineError(f"unknown model kind {kind!r} (use {', '.join(KINDS)})")
    if not repo_id or repo_id.count("/") > 1 or repo_id.startswith("/") or ".." in repo_id:
        raise EngineError(f"{repo_id!r} is not a hub repository id (owner/name)")
    folder = (Path(models_dir).expanduser() if models_dir else default_models_dir()) / KINDS[kind]
    target = folder / filename if filename else folder / repo_id.split("/")[-1]
    result = DownloadPlan(repo_id, filename, kind, target)
    if with_size:
        result.size = _size(repo_id, filename, timeout)
    return result


def _size(repo_id: str, filename: Optional[str], timeout: float) -> Optional[int]:
    """Total size of what would be downloaded; None when the hub cannot be asked (never raises)."""
    try:
        from fnmatch import fnmatch

        from huggingface_hub import HfApi

        info = HfApi(endpoint=endpoint()).model_info(repo_id, files_metadata=True, timeout=timeout)
        sizes = {s.rfilename: s.size for s in info.siblings or []}
        if filename:
            return sizes.get(filename)
        kept = [size for name, size in sizes.items() if not any(fnmatch(name, p) for p in IGNORE)]
        return sum(s or 0 for s in kept) if kept else None
    except Exception:  # noqa: BLE001 - the size is only a courtesy
        return None


def download(repo_id: str, filename: Optional[str] = None, kind: str = "checkpoint",
             models_dir: Optional[str | os.PathLike] = None, consent: bool = False, timeout: float = 10,
             token: Optional[str] = None) -> Path:
    """Download into the models folder's subfolder for ``kind``; returns the folder or file written.

    Raises EngineError without ``consent`` (nothing is downloaded, nothing is written), and when
    the hub cannot be reached or does not have the repository or file."""
    target = plan(repo_id, filename, kind, models_dir, with_size=not consent, timeout=timeout)
    if not consent:
        raise EngineError(f"downloading a model needs your consent: would download {target.describe()}; "
                          f"{ALLOW_HINT}")
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download

    try:  # one quick request first: fails fast offline (the downloads retry with back-off)
        info = HfApi(endpoint=endpoint(), token=token).model_info(repo_id, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - one line for every hub failure
        raise _hub_error(exc, repo_id, filename) from exc
    if filename and info.siblings is not None and filename not in {s.rfilename for s in info.siblings}:
        raise EngineError(f"{repo_id} has no file {filename!r}")
    try:
        if filename:
            path = hf_hub_download(repo_id, filename, local_dir=target.target.parent if "/" not in filename
                                   else _root(target.target, filename), etag_timeout=timeout,
                                   endpoint=endpoint(), token=token)
        else:
            path = snapshot_download(repo_id, local_dir=target.target, ignore_patterns=IGNORE, etag_timeout=timeout,
                                     endpoint=endpoint(), token=token)
    except Exception as exc:  # noqa: BLE001 - one line for every hub failure
        raise _hub_error(exc, repo_id, filename) from exc
    return Path(path)


def _root(file_target: Path, filename: str) -> Path:
    """The folder a nested ``filename`` (a/b.safetensors) is written under."""
    return Path(*file_target.parts[: len(file_target.parts) - len(Path(filename).parts)])


def _hub_error(exc: BaseException, repo_id: str, filename: Optional[str]) -> EngineError:
    from huggingface_hub import errors

    if isinstance(exc, errors.LocalEntryNotFoundError):  # raised when the hub cannot be reached
        return EngineError(f"could not reach the model hub: {one_line(exc.__cause__ or exc, 200)} ({endpoint()})")
    if isinstance(exc, errors.GatedRepoError):
        return EngineError(f"{repo_id} is gated: accept its licence on the hub and log in (hf auth login)")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return EngineError(f"no repository {repo_id!r} on the model hub (or it is private)")
    if isinstance(exc, (errors.EntryNotFoundError, getattr(errors, "RemoteEntryNotFoundError", ()))):
        return EngineError(f"{repo_id} has no file {filename!r}")
    if isinstance(exc, errors.HfHubHTTPError) and getattr(exc, "response", None) is not None:
        status = getattr(exc.response, "status_code", "")
        if status and int(status) < 500:
            return EngineError(f"the model hub refused the download (HTTP {status})")
    return EngineError(f"could not reach the model hub: {one_line(exc, 200)} ({endpoint()})")


__all__ = ["DownloadPlan", "KINDS", "download", "plan"]
