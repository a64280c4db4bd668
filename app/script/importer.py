"""Import or update a script into a live document (one undo step) and report what it did."""

from __future__ import annotations

from .. import edits, layout
from ..document import Document
from ..project import ReadingOrder
from .builder import SETTINGS_KEY, build
from .parser import parse


def known_names(doc: Document) -> set[str]:
    """Card names and aliases (lower case): accepted as speakers even when not written in capitals."""
    names = set()
    for card in doc.project.characters:
        names.update(n.lower() for n in [card.name, *card.aliases] if n.strip())
    return names


def has_script(doc: Document) -> bool:
    return isinstance(doc.project.settings.get(SETTINGS_KEY), dict)


def import_script(doc: Document, text: str, *, source: str = "", update: bool = False,
                  size: layout.PageSize | None = None, direction: ReadingOrder | None = None,
                  create_cards: bool = False) -> dict:
    """Parse ``text``, build the book and push it as one undo step; returns the JSON summary.

    Raises :class:`~app.script.parser.ScriptError` (one line) when nothing in the script is usable.
    """
    script = parse(text, known_names(doc))
    built = build(doc.project, script, text, source=source, update=update, size=size, direction=direction,
                  create_cards=create_cards)
    title = script.title if script.title and not doc.project.title else None
    edits.set_book(doc, built.pages, built.characters, built.settings, "Update from Script" if update
                   else "Import Script", title=title)
    return built.summary
