"""Command line for ComfyUI servers: ``--comfyui URL[,URL...]`` / ``--comfyui-token`` on generate, vary, pan
and upscale; ``models list --comfyui`` and ``doctor --comfyui``.

Panels run at once over the servers (each takes one running and one waiting job); results are applied on
the main thread in the order they finish and the project is saved after each. Ctrl+C deletes waiting jobs
from the servers' queues and interrupts running ones before exiting. The token is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from .common import CliError, save

TOKEN_ENV = "PANELSMITH_COMFYUI_TOKEN"


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--comfyui", metavar="URL[,URL...]",
                   help="run on these ComfyUI servers instead of this computer (--model is a server checkpoint)")
    p.add_argument("--comfyui-token", metavar="TOKEN",
                   help=f"Bearer token for the servers (default ${TOKEN_ENV}); never written anywhere")


def token(args: argparse.Namespace) -> str:
    return getattr(args, "comfyui_token", None) or os.environ.get(TOKEN_ENV, "")


def pool(args: argparse.Namespace, on_event=None):
    from engine.comfyui.pool import ServerPool

    urls = [u for u in (args.comfyui or "").split(",") if u.strip()]
    if not urls:
        raise CliError("--comfyui needs at least one server URL")
    return ServerPool(urls, token(args), on_event=on_event)


def engine(args: argparse.Namespace):
    from engine.comfyui.backend import ComfyEngine

    def on_event(kind: str, server: str, text: str) -> None:
        if kind == "down":
            print(f"note: {text}; its jobs move to another server", file=sys.stderr)

    servers = pool(args)
    if len(servers.servers) > 1:  # with one server, the error itself says it
        servers.on_event = on_event
    return ComfyEngine(servers)


def run_panels(doc, args: argparse.Namespace, engine, panel_ids: list[str], kind, overrides: dict,
               **request_kwargs) -> int:
    """Prepare every panel's request, run them at once on the pool, record each result once as it finishes."""
    from ..generation.request import Overrides
    from ..generation.run import finish_result, prepare

    prepared = []
    for panel_id in panel_ids:
        item = prepare(doc, panel_id, Overrides.of(kind, overrides, models_dir=getattr(args, "models", None),
                                                   registry=engine.registry, **request_kwargs))
        for note in item.notes:
            print(f"note: {note}", file=sys.stderr)
        prepared.append((panel_id, item))
    cancel = threading.Event()
    finished: queue.Queue = queue.Queue()

    def work(panel_id: str, item) -> None:
        try:
            finished.put((panel_id, engine.run(item.request, None, cancel), None))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            finished.put((panel_id, None, exc))

    workers = max(1, len(engine.pool.servers) * engine.pool.slots)
    executor = ThreadPoolExecutor(max_workers=min(workers, len(prepared)) or 1, thread_name_prefix="comfyui")
    try:
        for panel_id, item in prepared:
            executor.submit(work, panel_id, item)
        for _ in prepared:
            while True:
                try:
                    panel_id, result, error = finished.get(timeout=0.2)
                    break
                except queue.Empty:
                    continue
            if error is not None:
                raise error
            ids = finish_result(doc, panel_id, result, select=not args.stage_only)
            save(doc)
            seeds = ", ".join(str(s) for s in result.seeds)
            w, h = result.images[0].size
            print(f"{panel_id}: {len(ids)} variant(s) {w}x{h}, seeds {seeds}"
                  f"{'' if args.stage_only else f', picked {ids[0]}'} on {result.metadata.get('server')}",
                  flush=True)
            for warning in result.metadata.get("warnings") or []:
                print(f"note: {warning}", file=sys.stderr)
    except BaseException:
        cancel.set()  # waiting jobs leave the servers' queues, running ones are interrupted
        raise
    finally:
        executor.shutdown(wait=True)
    return 0


# -- models list / doctor -------------------------------------------------------------------------------

def models_list(args: argparse.Namespace) -> int:
    servers = pool(args)
    lists = servers.models()
    if args.json:
        print(json.dumps({"server": servers.servers[0].name, "models": lists}, indent=2))
        return 0
    print(f"ComfyUI server {servers.servers[0].name}:")
    for kind, names in lists.items():
        if names:
            print(f"  {kind} ({len(names)}):")
            for name in names:
                print(f"    {name}")
    return 0


def doctor(args: argparse.Namespace) -> int:
    from engine.comfyui.report import report_lines, server_report

    servers = pool(args)
    report = []
    for state in servers.servers:
        entry = server_report(state.client, servers.server_info(state))
        entry.pop("models")
        report.append(entry)
    if args.json:
        print(json.dumps({"comfyui": report}, indent=2))
        return 0
    for r in report:
        for line in report_lines(r):
            print(line)
    return 0
