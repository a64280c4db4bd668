"""Command line for the models folder: ``models list`` and ``models download``.

``models download`` fetches from the Hugging Face hub (``HF_ENDPOINT``) only with consent:
``--yes``, or a "y" typed at the question when stdin is a terminal; otherwise it refuses with
exit status 2 and one line saying what would be downloaded. Hub code lives in :mod:`engine.hub`.
"""

from __future__ import annotations

import argparse
import json
import sys

from .common import MODELS_HELP, ArgumentParser, CliError, float_above, command

KIND_CHOICES = ["checkpoint", "lora", "ipadapter", "controlnet", "instantid", "upscaler"]


def cmd_models(args: argparse.Namespace) -> int:
    raise CliError("models needs a subcommand: list or download (see panelsmith models --help)")


def cmd_models_list(args: argparse.Namespace) -> int:
    from engine.registry import ModelRegistry

    if args.comfyui:
        from . import remote

        return remote.models_list(args)
    registry = ModelRegistry(args.models)
    models = registry.refresh()
    rows = []
    for info in models:
        try:
            where = str(info.path.relative_to(registry.models_dir))
        except ValueError:
            where = str(info.path)
        rows.append({"name": info.name, "kind": info.kind.value, "arch": info.arch.value, "path": where,
                     "inpaint": info.inpaint, "variant": info.variant, "licence": info.licence})
    if args.json:
        print(json.dumps({"models_dir": str(registry.models_dir), "exists": registry.models_dir.is_dir(),
                          "models": rows, "problems": registry.problems}, indent=2))
        return 0
    if not rows:
        print(f"no models in {registry.models_dir}")
        print(registry.help())
    else:
        print(f"{len(rows)} model(s) in {registry.models_dir}:")
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            extra = ", ".join(x for x in (r["arch"] if r["arch"] != "unknown" else "",
                                          "inpaint" if r["inpaint"] else "", r["variant"]) if x)
            licence = f"  licence: {r['licence']}" if r["licence"] else ""
            print(f"  {r['name']:<{width}}  {r['kind']:<12} {r['path']}{f'  ({extra})' if extra else ''}{licence}")
    for problem in registry.problems:
        print(f"note: {problem}", file=sys.stderr)
    return 0


def cmd_models_download(args: argparse.Namespace) -> int:
    from engine import hub

    consent = bool(args.yes)
    if not consent and sys.stdin is not None and sys.stdin.isatty():
        target = hub.plan(args.repo_id, args.file, args.kind, args.models, timeout=args.timeout)
        print(f"Download {target.describe()}? [y/N] ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise CliError("download cancelled: nothing was downloaded")
        consent = True
    path = hub.download(args.repo_id, args.file, args.kind, args.models, consent=consent, timeout=args.timeout)
    print(f"downloaded {args.repo_id}{'/' + args.file if args.file else ''} to {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = command(subparsers, "models", cmd_models, "list the models folder, or download a model from the hub")
    sub = p.add_subparsers(dest="models_command", metavar="SUBCOMMAND", parser_class=ArgumentParser)

    q = command(sub, "list", cmd_models_list, "list the models Panelsmith finds in the models folder")
    q.add_argument("--models", metavar="DIR", help=MODELS_HELP)
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.add_argument("--comfyui", metavar="URL", help="list a ComfyUI server's checkpoints, LoRAs and other models")
    q.add_argument("--comfyui-token", metavar="TOKEN", help="Bearer token (default $PANELSMITH_COMFYUI_TOKEN)")

    q = command(sub, "download", cmd_models_download, "download a model from the Hugging Face hub (with consent)",
                "Download a hub repository (a diffusers pipeline) or one file (--file) into the models "
                "folder's subfolder for --kind. Asks first on a terminal; elsewhere needs --yes.")
    q.add_argument("repo_id", metavar="REPO_ID", help="owner/name on the hub")
    q.add_argument("--file", metavar="NAME", help="one file of the repository (e.g. model.safetensors)")
    q.add_argument("--kind", choices=KIND_CHOICES, default="checkpoint",
                   help="where it goes in the models folder (default checkpoint)")
    q.add_argument("--models", metavar="DIR", help="models folder")
    q.add_argument("--yes", action="store_true", help="allow the download without asking")
    q.add_argument("--timeout", type=float_above(0, 600, "--timeout", "30"), default=10.0, metavar="SECONDS", help="network timeout (default 10)")
