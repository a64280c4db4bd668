"""The command line's entry point and its core subcommands: ``new``, ``info``, ``export``,
``doctor``, ``card add`` and ``bind``.

:func:`build_parser` registers every subcommand: this module's (:func:`register`), then those of
:mod:`.generation` (generate, vary, pan, upscale), :mod:`.faces` (faces, compare, swap),
:mod:`.training` (sheet, train) and :mod:`.models` (models list/download). A handler takes the
parsed arguments and returns an exit code (None means 0). Bad input raises :class:`CliError` (or
ValueError/KeyError, or a project file error), which :func:`main` turns into exit status 2 and one
line ``error: …`` on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from engine.errors import one_line

from . import faces, generation, models, motion, script, training
from .common import ArgumentParser, CliError, card as find_card, command, document, int_in, load, panel as find_panel, save
from .common import release_locks


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="panelsmith", description="Panelsmith: compose comic pages with AI-generated "
                            "panels on your own GPU. Without a subcommand, opens the window (with PROJECT if given).")
    parser.add_argument("--version", action=_VersionAction, help="show the program's version number and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    register(subparsers)
    generation.register(subparsers)
    motion.register(subparsers)
    faces.register(subparsers)
    training.register(subparsers)
    models.register(subparsers)
    script.register(subparsers)
    return parser


class _VersionAction(argparse.Action):
    """``--version``: prints ``panelsmith <version>`` and exits 0 (the version is looked up only then)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        print(f"panelsmith {_version()}")
        parser.exit()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("panelsmith")
    except Exception:  # noqa: BLE001 - not installed as a package
        return "0.1.0"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit status (0 ok, 2 bad input, 1 unexpected failure)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            raise CliError("no command given (see panelsmith --help)")
        if getattr(args, "allow_outside_paths", False):  # consent: the project may name files anywhere
            from ..safe_paths import allow_outside

            allow_outside(Path(args.path).parent)
        return int(args.func(args) or 0)
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except BrokenPipeError:  # output piped into a command that stopped reading (e.g. head)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        if os.environ.get("PANELSMITH_DEBUG"):
            raise
        code, message = _describe(exc)
        print(f"error: {message}", file=sys.stderr)
        return code
    finally:
        release_locks()  # project locks taken by the command (app.file_lock)


def _describe(exc: BaseException) -> tuple[int, str]:
    from engine.faces import FaceAnalysisError
    from engine.jobs import EngineError

    from ..export import ExportError
    from ..file_lock import ProjectLockedError
    from ..project_io import ProjectFileError, ProjectSaveError

    text = one_line(exc)
    if isinstance(exc, (CliError, ProjectFileError, ProjectSaveError, ExportError, EngineError, FaceAnalysisError,
                        ValueError, KeyError, ProjectLockedError)):
        return 2, text
    if isinstance(exc, OSError):
        reason = (exc.strerror or str(exc)).lower()
        return 2, f"{exc.filename}: {reason}" if exc.filename else reason
    return 1, f"unexpected {type(exc).__name__}: {text} (set PANELSMITH_DEBUG=1 for details)"


# --- new -------------------------------------------------------------------------------------------------

def cmd_new(args: argparse.Namespace) -> int:
    from .. import layout
    from ..page_presets import new_project
    from ..project_io import save_project

    path = Path(args.path)
    if path.exists() and not args.force:
        raise CliError(f"{path} already exists (use --force to replace it)")
    if not path.parent.is_dir():
        raise CliError(f"folder {path.parent} does not exist")
    size = layout.parse_page_size(args.size)
    if args.template and args.template not in layout.TEMPLATES:
        raise CliError(f"unknown template {args.template!r}: use one of {', '.join(layout.TEMPLATES)}")
    save_project(new_project(size, args.pages, args.template, args.dpi, title=path.stem), path)
    print(path)
    return 0


# --- info ------------------------------------------------------------------------------------------------

def project_info(project) -> dict[str, Any]:
    """The ``info`` JSON of a project (see issue 2), with page ids and panel reading order, and the
    consistency scores (``identity``) of the panels that have an image and bound characters.

    Reads the manifest and each image's PNG header only; scores are those stored with each variant
    when it was generated (face models load only for a panel whose image was never scored)."""
    from ..image_store import image_header, png_size
    from ..project import SCHEMA_VERSION

    pages = []
    for page in project.pages:
        panels = []
        for panel in page.panels:
            key = panel.image
            image = None
            if key is not None and key in project.images:
                w, h = png_size(image_header(project.images, key))
                image = {"width": w, "height": h}
            entry = {"id": panel.id, "bbox_mm": [round(v, 3) for v in panel.bbox.as_list()],
                     "prompt": panel.prompt,
                     "characters": [{"card": b.card, "cw": b.weight} for b in panel.characters],
                     "styles": [{"card": b.card, "sw": b.weight} for b in panel.styles],
                     "image": image, "variants": len(panel.variants)}
            if image is not None and panel.characters:
                stored = _stored_identity(panel)
                if stored is None:  # an imported image, never scored: scored now (face models load)
                    from ..identity.consistency import panel_identity_scores

                    stored = panel_identity_scores(project, panel)
                entry["identity"] = stored
            panels.append(entry)
        pages.append({"id": page.id, "size_mm": [round(page.width_mm, 3), round(page.height_mm, 3)],
                      "direction": page.reading_order.value,
                      "reading_order": [p.id for p in page.panels_in_reading_order()],
                      "balloons": _balloons_info(page), "panels": panels})
    info = {"schema": SCHEMA_VERSION, "pages": pages,
            "characters": [{"id": c.id, "name": c.name, "references": len(c.references)} for c in project.characters],
            "styles": [{"id": c.id, "name": c.name, "references": len(c.references)} for c in project.styles]}
    return info


def _balloons_info(page) -> list[dict[str, Any]]:
    """Per balloon: id, kind, text and the panel it sits in (by its centre; null when in none)."""
    from ..layout import panel_of_balloon

    return [{"id": b.id, "kind": b.kind.value, "text": b.text, "panel": panel_of_balloon(page, b)}
            for b in page.balloons]


def _stored_identity(panel) -> list[dict] | None:
    """The consistency scores stored with the panel's current variant when it was generated (for
    the characters bound now); None when it has none."""
    variant = panel.current_variant()
    cached = variant.params.get("identity") if variant is not None else None
    if isinstance(cached, list) and all(isinstance(c, dict) and "card" in c for c in cached) \
            and sorted(c["card"] for c in cached) == sorted(b.card for b in panel.characters):
        return cached
    return None


def cmd_info(args: argparse.Namespace) -> int:
    print(json.dumps(project_info(load(args.path)), indent=2, ensure_ascii=False))
    return 0


# --- export ----------------------------------------------------------------------------------------------

def cmd_export(args: argparse.Namespace) -> int:
    from .. import export

    from .. import motion_export

    project = load(args.path)
    if args.panel and args.format in motion_export.LOOP_FORMATS:
        if args.bleed:
            raise CliError("--panel writes one panel's loop: it takes no --bleed")
        written = [motion_export.export_loop(project, args.panel, args.format, args.out, project_path=args.path)]
    elif args.panel:
        if args.format or args.bleed:
            raise CliError("--panel writes one panel's image (or with --format gif, webp or mp4 its loop): "
                           "it takes no --format png, pdf, cbz or --bleed")
        written = [export.export_panel(project, args.panel, args.out, project_path=args.path)]
    elif args.format in motion_export.LOOP_FORMATS:
        if args.format == "gif":
            raise CliError("gif writes one panel's loop: add --panel ID (a motion page is webp or mp4)")
        if args.bleed:
            raise CliError("a motion page takes no --bleed")
        written = [motion_export.export_motion_page(project, args.format, args.out, dpi=args.dpi,
                                                    project_path=args.path)]
    else:
        if not args.format:
            raise CliError("choose --format png, pdf or cbz (or --panel ID)")
        written = export.export(project, args.format, args.out, args.dpi, args.bleed, project_path=args.path,
                                lossless=args.lossless)
    for path in written:
        print(path)
    return 0


# --- doctor ----------------------------------------------------------------------------------------------

def cmd_doctor(args: argparse.Namespace) -> int:
    from engine import sysinfo

    if args.comfyui:
        from . import remote

        return remote.doctor(args)
    report = sysinfo.collect(args.models)
    print(json.dumps(report, indent=2) if args.json else sysinfo.format_report(report))
    return 0


# --- cards -----------------------------------------------------------------------------------------------

def _read_reference(path: str):
    from ..images import open_image

    return open_image(path, alpha=True, what="reference image")


def cmd_card_add(args: argparse.Namespace) -> int:
    from .. import edits

    doc = document(args.path)
    kind, name = ("character", args.character) if args.character is not None else ("style", args.style)
    images = [_read_reference(p) for p in args.ref]
    card_id = edits.add_card(doc, kind, name, images)
    save(doc)
    print(card_id)
    return 0


def cmd_bind(args: argparse.Namespace) -> int:
    from .. import edits
    from ..project import CharacterCard

    doc = document(args.path)
    card = find_card(doc, args.card, args.path)
    find_panel(doc, args.panel, args.path)
    is_char = isinstance(card, CharacterCard)
    if is_char and args.sw is not None:
        raise CliError(f"{args.card} is a character card: give its weight with --cw")
    if not is_char and args.cw is not None:
        raise CliError(f"{args.card} is a style card: give its weight with --sw")
    edits.bind_card(doc, args.panel, args.card, args.cw if is_char else args.sw)
    save(doc)
    return 0


def _card_usage(args: argparse.Namespace) -> int:
    raise CliError("card needs an action: card add PATH --character NAME|--style NAME --ref IMG…")


# --- registration ----------------------------------------------------------------------------------------

def register(subparsers: argparse._SubParsersAction) -> None:
    """The core subcommands: new, info, export, doctor, card, bind."""
    p = command(subparsers, "new", cmd_new, "create a project file")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--size", default="A4", metavar="NAME|WxHmm",
                   help="A4, B5, US-comic, webtoon, or a custom size such as 150x200mm (default A4)")
    p.add_argument("--pages", type=int_in(1, 1000, "--pages"), default=1, metavar="N")
    p.add_argument("--template", metavar="NAME", help="panel template for each page (e.g. grid-2x2, manga-5)")
    p.add_argument("--dpi", type=int_in(36, 2400, "--dpi"), metavar="N", help="export resolution")
    p.add_argument("--force", action="store_true", help="replace an existing file")

    p = command(subparsers, "info", cmd_info, "print a project's pages, panels and cards as JSON")
    p.add_argument("path", metavar="PATH")

    p = command(subparsers, "export", cmd_export, "export pages as PNG, PDF or CBZ, or one panel's image",
                "Export pages as PNG, PDF or CBZ (animated panels print their still frame), one panel's "
                "image (--panel ID), one panel's loop (--panel ID --format gif|webp|mp4), or a motion page: "
                "the first page with its animated panels playing in place (--format webp|mp4).")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--format", choices=["png", "pdf", "cbz", "gif", "webp", "mp4"])
    p.add_argument("--panel", metavar="ID", help="write this panel's current image at full resolution "
                   "(with --format gif, webp or mp4: its loop)")
    p.add_argument("--out", required=True, metavar="OUT", help="folder (png), file (pdf, cbz, gif, webp, mp4, --panel)")
    p.add_argument("--dpi", type=int_in(36, 2400, "--dpi"), metavar="N",
                   help="default: the project's (300); a motion page: 96")
    p.add_argument("--bleed", action="store_true", help="include the bleed around the trim")
    p.add_argument("--lossless", action="store_true", help="pdf: keep the art lossless (no JPEG compression)")

    p = command(subparsers, "doctor", cmd_doctor, "report Python, Qt, torch, devices, onnxruntime and models")
    p.add_argument("--json", action="store_true")
    p.add_argument("--models", metavar="DIR", help="models folder (default $PANELSMITH_MODELS)")
    p.add_argument("--comfyui", metavar="URL", help="report a ComfyUI server: version, devices, memory, node packs")
    p.add_argument("--comfyui-token", metavar="TOKEN", help="Bearer token (default $PANELSMITH_COMFYUI_TOKEN)")

    card = command(subparsers, "card", _card_usage, "manage character and style cards")
    card_sub = card.add_subparsers(dest="card_command", metavar="ACTION", parser_class=ArgumentParser)
    p = command(card_sub, "add", cmd_card_add, "add a character or style card with reference images")
    p.add_argument("path", metavar="PATH")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--character", metavar="NAME")
    who.add_argument("--style", metavar="NAME")
    p.add_argument("--ref", nargs="+", default=[], metavar="IMG", help="reference images")

    p = command(subparsers, "bind", cmd_bind, "bind a card to a panel")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--panel", required=True, metavar="ID")
    p.add_argument("--card", required=True, metavar="ID")
    weight = p.add_mutually_exclusive_group()
    weight.add_argument("--cw", type=int_in(0, 100, "--cw"), metavar="N", help="character weight 0-100")
    weight.add_argument("--sw", type=int_in(0, 1000, "--sw"), metavar="N", help="style weight 0-1000")
