"""What a ComfyUI server is: version, devices, memory, node packs Panelsmith can use and its model files.

Shared by ``doctor --comfyui`` and Preferences ▸ Engine ▸ Test Connection.
"""

from __future__ import annotations

from typing import Any

from .client import ComfyClient
from .graphs import NODE_PACKS, model_lists, node_packs

_DEVICE_KEYS = ("name", "type", "index", "vram_total", "vram_free")


def server_report(client: ComfyClient, object_info: dict | None = None) -> dict[str, Any]:
    """`doctor --comfyui --json`'s entry for one server (reads /system_stats and /object_info)."""
    stats = client.system_stats()
    info = object_info if object_info is not None else client.object_info()
    system = stats.get("system") if isinstance(stats.get("system"), dict) else {}
    devices = []
    for d in stats.get("devices") or []:
        if isinstance(d, dict):
            devices.append({k: d.get(k) for k in _DEVICE_KEYS
                            if isinstance(d.get(k), (str, int, float, type(None)))})
    models = model_lists(info)
    return {"server": client.name,
            "comfyui_version": str(system.get("comfyui_version", "")),
            "python_version": (str(system.get("python_version", "")).split() or [""])[0],
            "pytorch_version": str(system.get("pytorch_version", "")),
            "ram_total": system.get("ram_total"), "ram_free": system.get("ram_free"),
            "devices": devices, "node_packs": node_packs(info),
            "checkpoints": len(models.get("checkpoints", [])),
            "models": models}


def report_lines(report: dict[str, Any]) -> list[str]:
    """The report as text lines (doctor's text output, the Test Connection result)."""
    lines = [f"ComfyUI server {report['server']}: ComfyUI {report['comfyui_version']}, "
             f"torch {report['pytorch_version']}"]
    for d in report["devices"]:
        vram = d.get("vram_total")
        size = f", {vram / 2**30:.1f} GiB" if isinstance(vram, (int, float)) else ""
        lines.append(f"  device: {d.get('name')} ({d.get('type')}{size})")
    for pack in NODE_PACKS:
        lines.append(f"  {pack}: {'present' if report['node_packs'].get(pack) else 'missing'}")
    lines.append(f"  checkpoints: {report['checkpoints']}")
    return lines
