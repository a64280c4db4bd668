"""Which engine the window's queue runs on: this computer (diffusers) or ComfyUI servers.

The same :class:`engine.comfyui.backend.ComfyEngine` as ``--comfyui`` on the command line. A server going
down is reported through ``on_event(kind, server, text)`` (called from the worker thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from engine.api import Engine

LOCAL = "local"
COMFYUI = "comfyui"
ENGINES = (LOCAL, COMFYUI)

ServerEvent = Callable[[str, str, str], None]


def make_engine(settings, on_event: Optional[ServerEvent] = None) -> "Engine":
    """The engine `settings` (an :class:`app.generation.queue.EngineSettings`) choose (imported on the first
    job: window start loads no engine)."""
    if settings.engine == COMFYUI:
        from engine.comfyui.backend import ComfyEngine
        from engine.comfyui.pool import ServerPool

        return ComfyEngine(ServerPool(list(settings.servers), settings.token, on_event=on_event))
    from engine.api import Engine
    from engine.device import DeviceOptions

    return Engine(settings.models_dir, DeviceOptions(device=settings.device, memory=settings.memory))


def down_note(server: str) -> str:
    """The note bar's line for a server that went down (the same words each time: shown once per run)."""
    return f"{server}: note: the ComfyUI server is down; its jobs move to another server and it is retried later"
