"""System report for ``panelsmith doctor``: Python, Qt, torch and its devices, onnxruntime, models.

Heavy imports (torch, onnxruntime) happen inside the probing functions only, and a missing or
broken package is reported, never raised.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any


def python_info() -> dict[str, Any]:
    return {"version": platform.python_version(), "executable": sys.executable,
            "platform": platform.platform()}


def qt_info() -> dict[str, Any]:
    try:
        import PySide6
        from PySide6 import QtCore

        return {"pyside6": PySide6.__version__, "qt": QtCore.qVersion()}
    except Exception as exc:  # noqa: BLE001 - a report, not a failure
        return {"error": f"{type(exc).__name__}: {exc}"}


def torch_info() -> dict[str, Any]:
    """torch version, CUDA/MPS availability and the devices it sees."""
    try:
        import torch
    except Exception as exc:  # noqa: BLE001
        return {"installed": False, "error": f"{type(exc).__name__}: {exc}"}
    info: dict[str, Any] = {"installed": True, "version": torch.__version__,
                            "cuda": bool(torch.cuda.is_available()), "cuda_version": torch.version.cuda,
                            "devices": ["cpu"]}
    try:
        mps = getattr(torch.backends, "mps", None)
        info["mps"] = bool(mps and mps.is_available())
        if info["mps"]:
            info["devices"].append("mps")
        if info["cuda"]:
            for i in range(torch.cuda.device_count()):
                props = torch.cuda.get_device_properties(i)
                info["devices"].append(f"cuda:{i} {props.name} ({props.total_memory / 2**30:.1f} GiB)")
    except Exception as exc:  # noqa: BLE001
        info["error"] = f"{type(exc).__name__}: {exc}"
    return info


def onnxruntime_info() -> dict[str, Any]:
    try:
        import onnxruntime
    except Exception as exc:  # noqa: BLE001
        return {"installed": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"installed": True, "version": onnxruntime.__version__,
            "providers": list(onnxruntime.get_available_providers())}


def models_info(models_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The models folder (``$PANELSMITH_MODELS`` by default) and the models found in it."""
    try:
        from engine.registry import ModelRegistry
    except Exception as exc:  # noqa: BLE001
        return {"folder": str(models_dir or os.environ.get("PANELSMITH_MODELS", "")),
                "error": f"model registry unavailable: {exc}"}
    try:
        registry = ModelRegistry(models_dir)
        models = registry.models()
        return {"folder": str(registry.models_dir), "exists": registry.models_dir.is_dir(),
                "models": [{"name": m.name, "kind": m.kind.value, "arch": m.arch.value,
                            "path": str(m.path), "licence": m.licence} for m in models],
                "problems": list(registry.problems)}
    except Exception as exc:  # noqa: BLE001
        return {"folder": str(models_dir or ""), "error": f"{type(exc).__name__}: {exc}"}


def collect(models_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The full report as a JSON-ready dict."""
    return {"python": python_info(), "qt": qt_info(), "torch": torch_info(),
            "onnxruntime": onnxruntime_info(), "models": models_info(models_dir)}


def format_report(report: dict[str, Any]) -> str:
    """A human-readable version of :func:`collect`'s report."""
    lines = [f"Python      {report['python']['version']} ({report['python']['platform']})"]
    qt = report["qt"]
    lines.append(f"Qt          {qt.get('qt', '?')} (PySide6 {qt.get('pyside6', '?')})" if "error" not in qt
                 else f"Qt          error: {qt['error']}")
    torch = report["torch"]
    if torch.get("installed"):
        lines.append(f"torch       {torch['version']} (CUDA {torch.get('cuda_version') or 'none'})")
        lines.append(f"devices     {', '.join(torch['devices'])}")
    else:
        lines.append(f"torch       not available ({torch.get('error', '')})")
    ort = report["onnxruntime"]
    lines.append(f"onnxruntime {ort['version']}: {', '.join(ort['providers'])}" if ort.get("installed")
                 else f"onnxruntime not available ({ort.get('error', '')})")
    models = report["models"]
    if "error" in models:
        lines.append(f"models      {models.get('folder', '')}: {models['error']}")
    else:
        state = "" if models["exists"] else " (folder does not exist)"
        lines.append(f"models      {models['folder']}{state}: {len(models['models'])} found")
        for m in models["models"]:
            licence = f"  licence: {m['licence']}" if m.get("licence") else ""
            lines.append(f"  {m['kind']:<13} {m['arch']:<7} {m['name']}{licence}")
        for problem in models.get("problems", []):
            lines.append(f"  problem: {problem}")
    return "\n".join(lines)
