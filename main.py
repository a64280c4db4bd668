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
    from app.cli import build_parser

    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    if first in subparsers.choices or len(argv) > 1:
        return True
    # One argument that is not a subcommand: a project to open, unless no such file exists (then
    # it is most likely a mistyped subcommand, which the command line reports).
    from pathlib import Path

    return not Path(first).exists()


def open_window(path: str | None) -> int:
    """Start the GUI: ``widgets.main_window.run`` when it exists, else a placeholder window."""
    import importlib.util

    if importlib.util.find_spec("widgets.main_window") is not None:
        from widgets.main_window import run

        return int(run(path) or 0)
    return _placeholder_window(path)


def _placeholder_window(path: str | None) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPixmap
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QScrollArea

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setWindowTitle(f"Panelsmith — {path or 'untitled'}")
    label = QLabel("Panelsmith: the page canvas is not built yet.")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    if path:
        from app.project_io import ProjectFileError, load_project
        from app.render import render_page

        try:
            project = load_project(path)
            if project.pages:
                label.setPixmap(QPixmap.fromImage(render_page(project, 0, dpi=72)))
        except ProjectFileError as exc:
            label.setText(str(exc))
    area = QScrollArea()
    area.setWidget(label)
    area.setWidgetResizable(True)
    window.setCentralWidget(area)
    window.resize(720, 960)
    window.show()
    return app.exec()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from app.cli import main as cli_main

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
