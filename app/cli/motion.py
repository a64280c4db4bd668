"""Command line for motion panels: ``animate`` (an AnimateDiff loop for one panel).

The loop is generated on the local engine with a progress bar, added to the panel's history as one
variant (picked unless ``--stage-only``) and the project is saved atomically; an interrupted or
failed run changes nothing. ``export --format gif|webp|mp4`` writes loops (see :mod:`app.motion_export`).
"""

from __future__ import annotations

import argparse
import sys

from engine.device import DEVICES

from .common import ALLOW_OUTSIDE_HELP, MODELS_HELP, command, document, int_in, panel as find_panel, save


def cmd_animate(args: argparse.Namespace) -> int:
    from engine.api import Engine
    from engine.device import DeviceOptions
    from engine.jobs import JobKind

    from ..generation.request import Overrides, current_image
    from ..generation.run import prepare, run_panel_job
    from .generation import _Progress

    doc = document(args.path)
    panel = find_panel(doc, args.panel, args.path)
    extra = {"init_image": current_image(doc.project, panel)} if args.continuity else {}
    engine = Engine(args.models, DeviceOptions(device=args.device))
    try:
        fields = {"model": args.model, "steps": args.steps, "seed": args.seed, "frames": args.frames,
                  "fps": args.fps, "device": args.device}
        overrides = Overrides.of(JobKind.ANIMATE, fields, models_dir=args.models, registry=engine.registry,
                                 extra=extra)
        prepared = prepare(doc, panel.id, overrides)
        for note in prepared.notes:
            print(f"note: {note}", file=sys.stderr)
        bar = _Progress(f"{panel.id} animate", args.quiet)
        try:
            result, ids = run_panel_job(doc, panel.id, engine, prepared, select=not args.stage_only, progress=bar)
        finally:
            bar.close()
    finally:
        engine.close()
    save(doc)
    w, h = result.images[0].size
    meta = result.metadata
    print(f"{panel.id}: loop of {len(result.images)} frames {w}x{h} at {meta.get('fps')} fps, seed {result.seeds[0]}, "
          f"motion adapter {meta.get('motion_adapter')}{'' if args.stage_only else f', picked {ids[0]}'}")
    for warning in meta.get("warnings") or []:
        print(f"note: {warning}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = command(subparsers, "animate", cmd_animate, "make a panel a short loop (AnimateDiff motion panel)",
                "Generate a loop from the panel's prompt, cards and style with an AnimateDiff motion adapter "
                "(SD 1.5 or SDXL; put the adapter in the models folder's motion_adapters/). The loop is a new "
                "variant; print exports keep its still frame, export --format gif|webp|mp4 writes it.")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--panel", metavar="ID", required=True)
    p.add_argument("--frames", type=int_in(2, 128, "--frames"), default=16, metavar="N", help="frames (default 16)")
    p.add_argument("--fps", type=int_in(1, 60, "--fps"), default=8, metavar="N", help="frames per second (default 8)")
    p.add_argument("--steps", type=int_in(1, 500, "--steps"))
    p.add_argument("--seed", type=int_in(0, 2**32 - 1, "--seed"))
    p.add_argument("--models", metavar="DIR", help=MODELS_HELP)
    p.add_argument("--model", metavar="NAME|PATH", help="SD 1.5 or SDXL checkpoint or diffusers folder")
    p.add_argument("--continuity", action="store_true",
                   help="start every frame from the panel's current image (first-frame continuity, SD 1.5)")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--stage-only", action="store_true", help="add the loop to the history without picking it")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--allow-outside-paths", action="store_true", help=ALLOW_OUTSIDE_HELP)
