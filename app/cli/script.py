"""``script PATH --from SCRIPT.txt [--update] [--size NAME|WxHmm] [--direction ltr|rtl]``: lay out a book
from a comic script (or update it from an edited script) and print a JSON summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import CliError, command, document, save


def cmd_script(args: argparse.Namespace) -> int:
    from .. import layout
    from ..document import Document
    from ..project import ReadingOrder
    from ..script.importer import import_script
    from ..script.parser import read_script_file

    path = Path(args.path)
    text = read_script_file(args.script)
    size = layout.parse_page_size(args.size) if args.size else None
    if path.exists():
        doc = document(str(path))
    else:
        if args.update:
            raise CliError(f"{path} does not exist: import the script without --update to create it")
        if not path.parent.is_dir():
            raise CliError(f"folder {path.parent} does not exist")
        doc = Document(path=path)
        doc.project.title = path.stem
        doc.project.dpi = (size or layout.PAGE_SIZES["A4"]).dpi
    direction = ReadingOrder(args.direction) if args.direction else None
    summary = import_script(doc, text, source=str(args.script), update=args.update, size=size,
                            direction=direction, create_cards=args.create_cards)
    save(doc)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = command(subparsers, "script", cmd_script, "lay out pages, prompts, cast and lettering from a comic script",
                description="Create or update a project from a comic script (Full Script, markdown or Fountain "
                            "style) and print a JSON summary: pages, panels, balloons, bound, unknown_names, "
                            "problems (with line numbers).")
    p.add_argument("path", metavar="PATH", help="the project (created when it does not exist)")
    p.add_argument("--from", dest="script", required=True, metavar="SCRIPT.txt", help="the script file")
    p.add_argument("--update", action="store_true",
                   help="re-read an edited script: update by page and panel number, keep images, flag removed panels")
    p.add_argument("--size", metavar="NAME|WxHmm", help="page size for new pages (default: the project's, or A4)")
    p.add_argument("--direction", choices=["ltr", "rtl"], help="reading direction of the script's pages")
    p.add_argument("--create-cards", action="store_true", help="create an empty character card for each unknown name")
