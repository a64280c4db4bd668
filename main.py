"""Panelsmith entry point.

``python main.py [PROJECT]`` opens the window; ``python main.py SUBCOMMAND …`` runs the command line
(see ``--help``). Importing this module imports neither Qt widgets nor torch.
"""

from __future__ import annotations

import sys
from typing import Sequence


def _is_command_line(argv: Sequence[str]) -> bool:
    if not argv:
        return False
    first = argv[0]
    if first.startswith("-"):
        return True
    from app.cli.main import build_parser

    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    if first in subparsers.choices or len(argv) > 1:
        return True
    # One argument that is not a subcommand: a project to open, unless no such file exists (then
    # it is most likely a mistyped subcommand, which the command line reports).
    from pathlib import Path

    return not Path(first).exists()


def open_window(path: str | None) -> int:
    """Start the GUI (the sample project when ``path`` is None)."""
    from widgets.main_window import run

    return int(run(path) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from app.cli.main import main as cli_main

    if _is_command_line(argv):
        return cli_main(argv)
    try:
        return open_window(argv[0] if argv else None)
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        import os

        if os.environ.get("PANELSMITH_DEBUG"):
            raise
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
