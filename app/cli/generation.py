"""Command line for the engine: ``generate``, ``vary``, ``edit``, ``pan`` and ``upscale``.

Each command loads the project, runs its jobs on the local engine with a progress bar on the
terminal, records the results in the panels' variant histories (variant 0 is picked unless
``--stage-only``) and saves the project atomically after each panel, so an interruption keeps
what was finished and nothing half-done.
"""

from __future__ import annotations

import argparse
import sys

from engine.device import DEVICES
from engine.sampling import SCHEDULERS, scheduler_key

from . import remote
from .common import ALLOW_OUTSIDE_HELP, MODELS_HELP, CliError, document, float_above, int_in, panel as find_panel, save, command

SCHEDULER_HELP = ", ".join(SCHEDULERS)


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", metavar="DIR", help=MODELS_HELP)
    p.add_argument("--model", metavar="NAME|PATH", help="checkpoint or diffusers folder (name in the models folder)")
    p.add_argument("--steps", type=int_in(1, 500, "--steps"))
    p.add_argument("--seed", type=int_in(0, 2**32 - 1, "--seed"))
    p.add_argument("--variants", type=int_in(1, 64, "--variants"), help="images per panel (seeds seed, seed+1, …)")
    p.add_argument("--scheduler", type=scheduler_key, choices=SCHEDULERS, metavar="NAME", help=SCHEDULER_HELP)
    p.add_argument("--preset", choices=["fast", "quality"], help="steps and guidance preset for the model family")
    p.add_argument("--guidance", type=float_above(0, 50, "--guidance", "5"), metavar="SCALE")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--stage-only", action="store_true", help="add the results to the history without picking one")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--allow-outside-paths", action="store_true", help=ALLOW_OUTSIDE_HELP)
    p.add_argument("--resolution", type=int_in(64, 4096, "--resolution"), metavar="PX",
                   help="image area about PX×PX at the panel's aspect ratio (default: the model's native size)")
    remote.add_options(p)


def _overrides(args: argparse.Namespace) -> dict:
    return {"model": args.model, "steps": args.steps, "seed": args.seed, "variants": args.variants,
            "scheduler": args.scheduler, "preset": args.preset, "guidance": args.guidance, "device": args.device,
            "resolution": args.resolution}


def _panel_ids(doc, args: argparse.Namespace) -> list[str]:
    project = doc.project
    if getattr(args, "panel", None):
        return [find_panel(doc, args.panel, args.path).id]
    if getattr(args, "page", None) is not None:
        if not 1 <= args.page <= len(project.pages):
            raise CliError(f"--page must be between 1 and {len(project.pages)}")
        return [p.id for p in project.pages[args.page - 1].panels_in_reading_order()]
    if getattr(args, "all", False):
        return [p.id for page in project.pages for p in page.panels_in_reading_order()]
    empty = [p.id for page in project.pages for p in page.panels_in_reading_order() if p.image is None]
    if not empty:
        raise CliError("every panel has an image: choose --panel ID, --page N or --all to generate again")
    return empty


class _Progress:
    """A terminal progress bar (tqdm on stderr) fed by the engine's JobProgress."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label, self.quiet, self.bar = label, quiet, None

    def __call__(self, progress) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=progress.total, desc=self.label, unit="step", file=sys.stderr, leave=False)
        self.bar.n = progress.step
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _engine(args: argparse.Namespace):
    from engine.api import Engine

    if getattr(args, "comfyui", None):
        return remote.engine(args)
    from engine.device import DeviceOptions

    engine = Engine(args.models, DeviceOptions(device=args.device))
    if not getattr(args, "quiet", False):
        engine.on_note = lambda progress: print(f"note: {progress.note}", file=sys.stderr)
    return engine


def _run(doc, args: argparse.Namespace, panel_ids: list[str], kind, **request_kwargs) -> int:
    from ..generation.request import Overrides
    from ..generation.run import prepare, run_panel_job

    engine = _engine(args)
    if getattr(args, "comfyui", None):
        return remote.run_panels(doc, args, engine, panel_ids, kind, _overrides(args), **request_kwargs)
    try:
        for panel_id in panel_ids:
            overrides = Overrides.of(kind, _overrides(args), models_dir=args.models, registry=engine.registry,
                                     **request_kwargs)
            prepared = prepare(doc, panel_id, overrides)
            for note in prepared.notes:
                print(f"note: {note}", file=sys.stderr)
            bar = _Progress(panel_id, args.quiet)
            try:
                result, ids = run_panel_job(doc, panel_id, engine, prepared, select=not args.stage_only,
                                            progress=bar)
            finally:
                bar.close()
            save(doc)
            seeds = ", ".join(str(s) for s in result.seeds)
            w, h = result.images[0].size
            print(f"{panel_id}: {len(ids)} variant(s) {w}x{h}, seeds {seeds}"
                  f"{'' if args.stage_only else f', picked {ids[0]}'}")
            for warning in result.metadata.get("warnings") or []:
                print(f"note: {warning}", file=sys.stderr)
    finally:
        engine.close()
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from engine.jobs import JobKind

    doc = document(args.path)
    return _run(doc, args, _panel_ids(doc, args), JobKind.GENERATE, prompt=args.prompt)


def _read_mask(path: str):
    from ..images import open_image

    return open_image(path, what="mask").convert("L")


def cmd_vary(args: argparse.Namespace) -> int:
    from engine.jobs import JobKind
    from PIL import Image

    from ..generation.request import current_image

    doc = document(args.path)
    [panel_id] = _panel_ids(doc, args)
    image = current_image(doc.project, doc.project.find_panel(panel_id)[1])
    mask = _read_mask(args.mask).resize(image.size, Image.Resampling.BILINEAR).point(lambda v: 255 if v >= 128 else 0)
    if mask.getbbox() is None:
        raise CliError(f"mask {args.mask} is black everywhere: paint white where the panel should change")
    overrides = {} if args.feather is None else {"feather_px": args.feather}
    return _run(doc, args, [panel_id], JobKind.VARY_REGION, mask=mask, prompt=args.prompt, extra=overrides)


def cmd_pan(args: argparse.Namespace) -> int:
    from engine.jobs import JobKind

    from ..generation.request import pan_spec

    doc = document(args.path)
    [panel_id] = _panel_ids(doc, args)
    spec = pan_spec(args.direction, args.amount, args.zoom_out)
    return _run(doc, args, [panel_id], JobKind.OUTPAINT, outpaint=spec, prompt=args.prompt)


def cmd_edit(args: argparse.Namespace) -> int:
    from engine.families import cannot_edit_message, family_of
    from engine.jobs import JobKind
    from engine.registry import ModelRegistry

    from ..generation.request import choose_model, current_image

    doc = document(args.path)
    [panel_id] = _panel_ids(doc, args)
    current_image(doc.project, doc.project.find_panel(panel_id)[1])  # a panel without an image cannot be edited
    if not args.prompt.strip():
        raise CliError("--prompt is empty: say what to change in the image")
    if not getattr(args, "comfyui", None):
        registry = ModelRegistry(args.models)
        project_dir = doc.path.parent if doc.path else None
        info = registry.resolve(choose_model(doc.project, registry, args.model, project_dir))
        if not getattr(family_of(info.arch.value), "can_edit", False):
            raise CliError(f"{args.path}: panel {panel_id}: {cannot_edit_message(info.name, info.arch.value)}")
    return _run(doc, args, [panel_id], JobKind.EDIT, prompt=args.prompt)


def _check_upscale_size(width: int, height: int, dpi: int, panel_id: str) -> None:
    """Refuse an upscale whose result would be larger than an image may be (one line with the dpi that fits)."""
    from ..images import MAX_IMAGE_PIXELS, pixel_problem

    side = int(MAX_IMAGE_PIXELS ** 0.5)
    if pixel_problem((width, height)) is None and max(width, height) <= side:
        return
    fits = int(dpi * min((MAX_IMAGE_PIXELS / (width * height)) ** 0.5, side / max(width, height))) - 1
    raise CliError(f"upscale --dpi {dpi} is too big for panel {panel_id}: {width} × {height} px, more than "
                   f"{MAX_IMAGE_PIXELS:,} pixels or {side} px a side; use --dpi {max(fits, 1)} or less")


def cmd_upscale(args: argparse.Namespace) -> int:
    from engine.api import Engine
    from engine.device import DeviceOptions
    from engine.jobs import JobKind

    from ..generation.request import Overrides
    from ..generation.result import apply_result
    from ..generation.run import prepare

    doc = document(args.path)
    [panel_id] = _panel_ids(doc, args)
    if args.refine_model and args.refine is None:
        raise CliError("--refine-model needs --refine STRENGTH")
    engine = remote.engine(args) if args.comfyui else Engine(args.models, DeviceOptions(device=args.device))
    try:
        overrides = {"model": args.model or "", "dpi": args.dpi, "device": args.device, "refine_strength": args.refine,
                     "refine_model": args.refine_model, "steps": args.steps, "scheduler": args.scheduler,
                     "seed": args.seed}
        request = prepare(doc, panel_id, Overrides.of(JobKind.UPSCALE, overrides, models_dir=args.models,
                                                      registry=engine.registry)).request
        _check_upscale_size(request.width, request.height, args.dpi or doc.project.dpi, panel_id)
        bar = _Progress(f"{panel_id} refine", args.quiet or args.refine is None)
        try:
            result = engine.run(request, bar)
        finally:
            bar.close()
    finally:
        engine.close()
    ids = apply_result(doc, panel_id, result)
    save(doc)
    source = request.init_image.size
    extra = f", {result.metadata['tiles']} tiles" if "tiles" in result.metadata else ""
    print(f"{panel_id}: {source[0]}x{source[1]} -> {request.width}x{request.height} "
          f"({result.metadata.get('method')}{extra}), picked {ids[0]}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = command(subparsers, "generate", cmd_generate, "generate panels on the local GPU (or CPU)",
                "Generate images for panels from their prompts and bound cards. Without --panel, --page "
                "or --all, generates every panel that has no image yet.")
    p.add_argument("path", metavar="PATH")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--panel", metavar="ID")
    which.add_argument("--page", type=int_in(1, 100000, "--page"), metavar="N", help="page number, from 1")
    which.add_argument("--all", action="store_true", help="every panel of every page")
    p.add_argument("--prompt", help="use this prompt instead of the panel's")
    _add_engine_options(p)

    p = command(subparsers, "vary", cmd_vary, "repaint a masked region of a panel (inpainting)")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--panel", metavar="ID", required=True)
    p.add_argument("--mask", metavar="MASK.png", required=True, help="white where to repaint; any size")
    p.add_argument("--prompt", required=True, help="what to paint in the region")
    p.add_argument("--feather", type=int_in(0, 512, "--feather"), metavar="PX",
                   help="blend band in pixels (default 8); pixels farther from the mask stay identical")
    _add_engine_options(p)

    p = command(subparsers, "edit", cmd_edit, "edit a panel's image by instruction (reference-edit models)",
                "The panel's current image is the first reference and --prompt the instruction "
                "(\"night, rain, she now wears a red coat\"); bound cards add their references. Needs a "
                "FLUX.2 klein, Qwen-Image-Edit or FLUX.1 Kontext model. The result is a new variant.")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--panel", metavar="ID", required=True)
    p.add_argument("--prompt", required=True, help="the instruction: what to change")
    _add_engine_options(p)

    p = command(subparsers, "pan", cmd_pan, "extend a panel's image in a direction, or zoom out (outpainting)")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--panel", metavar="ID", required=True)
    p.add_argument("--direction", choices=["left", "right", "up", "down"])
    p.add_argument("--amount", type=float_above(0, 4, "--amount", "0.25"), help="fraction of the image's width or height (default 0.25)")
    p.add_argument("--zoom-out", type=float_above(1, 4, "--zoom-out", "1.5"), metavar="FACTOR", help="1.5, 2 or any factor up to 4")
    p.add_argument("--prompt", help="what to paint in the new area (default: the panel's prompt)")
    _add_engine_options(p)

    p = command(subparsers, "upscale", cmd_upscale, "bring a panel's image to print resolution")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--panel", metavar="ID", required=True)
    p.add_argument("--dpi", type=int_in(72, 2400, "--dpi"), help="target dpi (default: the project's)")
    p.add_argument("--models", metavar="DIR")
    p.add_argument("--model", metavar="NAME", help="upscaler model (needs spandrel); default Lanczos")
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--refine", type=float_above(0, 1, "--refine", "0.3"), metavar="STRENGTH",
                   help="after upscaling, refine with img2img over overlapping tiles (0..1, e.g. 0.3)")
    p.add_argument("--refine-model", metavar="NAME|PATH", help="checkpoint for the refine (default: the project's)")
    p.add_argument("--steps", type=int_in(1, 500, "--steps"), help="refine steps")
    p.add_argument("--scheduler", type=scheduler_key, choices=SCHEDULERS, metavar="NAME",
                   help=f"refine scheduler: {SCHEDULER_HELP}")
    p.add_argument("--seed", type=int_in(0, 2**32 - 1, "--seed"), help="refine seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--allow-outside-paths", action="store_true", help=ALLOW_OUTSIDE_HELP)
    remote.add_options(p)
