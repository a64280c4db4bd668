"""What the command's modules share: the error type, the parser class, loading and saving a
project, looking up a panel or a card with one-line errors, number types for argparse and the
``--models`` help."""

from __future__ import annotations

import argparse
from typing import Callable, NoReturn


class CliError(Exception):
    """Bad command-line input; reported as ``error: …`` with exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises :class:`CliError` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see {self.prog} --help)")


Handler = Callable[[argparse.Namespace], "int | None"]

MODELS_HELP = ("models folder (default $PANELSMITH_MODELS, else models in the per-user data folder, "
               "e.g. ~/.local/share/Panelsmith/models)")


def command(subparsers: argparse._SubParsersAction, name: str, handler: Handler, help: str,
            description: str | None = None) -> argparse.ArgumentParser:
    """Add a subcommand whose handler is ``handler``; returns its parser for adding arguments."""
    parser = subparsers.add_parser(name, help=help, description=description or help)
    parser.set_defaults(func=handler)
    return parser


def load(path: str):
    from ..project_io import load_project

    return load_project(path)


#: Project locks taken by this command (released by ``main`` when the command ends).
HELD_LOCKS: list = []


def document(path: str):
    """The project at ``path`` for a command that changes it: the project is locked against other
    writers for the rest of the command, and a folder that cannot be written is refused now."""
    from ..document import Document
    from ..file_lock import ProjectLock
    from ..project_io import check_writable

    import os

    if not os.path.isfile(path):
        load(path)  # the loader's one line (no such file, a folder…)
    check_writable(path)
    HELD_LOCKS.append(ProjectLock(path).acquire())
    return Document(load(path), path)


def release_locks() -> None:
    while HELD_LOCKS:
        HELD_LOCKS.pop().release()


def panel(doc, panel_id: str, path: str):
    """The panel ``panel_id`` of the project at ``path``, or a CliError naming both."""
    panel = doc.project.panel_or_none(panel_id)
    if panel is None:
        raise CliError(f"no panel {panel_id!r} in {path}")
    return panel


def card(doc, card_id: str, path: str, character: bool = False):
    """The card ``card_id``; with ``character``, refuse a style card."""
    from ..project import CharacterCard

    try:
        card = doc.project.card(card_id)
    except KeyError:
        raise CliError(f"no card {card_id!r} in {path}") from None
    if character and not isinstance(card, CharacterCard):
        raise CliError(f"{card_id} is a style card: this command takes a character card")
    return card


def save(doc) -> None:
    from ..project_io import save_project

    save_project(doc.project, doc.path)
    doc.mark_saved()


ALLOW_OUTSIDE_HELP = ("let the project name files (LoRAs, --sref/--cref images in prompts, its model) "
                      "outside its folder and the models folder")


def int_in(lo: int, hi: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be between {lo} and {hi}")
        return value
    parse.__name__ = what
    return parse


def float_above(lo: float, hi: float, what: str, example: str) -> Callable[[str], float]:
    """An argparse type for a number in the range (lo, hi]."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, not {text!r}") from None
        if not lo < value <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be in ({lo:g}, {hi:g}], e.g. {example}")
        return value
    parse.__name__ = what
    return parse
