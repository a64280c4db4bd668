"""Training captions from a character card: trigger word first, then description, then view tags."""
from __future__ import annotations

import re
from typing import Iterable, Optional, Sequence

DEFAULT_TRIGGER_PREFIX = "ps"


def default_trigger(name: str) -> str:
    """A rare-looking trigger word from a card name, e.g. ``Mira Vale`` → ``psmiravale``."""
    word = re.sub(r"[^a-z0-9]", "", name.lower())
    return DEFAULT_TRIGGER_PREFIX + (word or "character")


def _clean(text: str) -> str:
    return " ".join(text.replace("\n", " ").split()).strip(" ,")


def caption(description: str, trigger: str, view_tags: Iterable[str] = ()) -> str:
    """``"<trigger>, <description>, <tag>, <tag>"``; empty parts are skipped, duplicates dropped."""
    parts: list[str] = []
    for part in [trigger, description, *view_tags]:
        part = _clean(part)
        if part and part.lower() not in (p.lower() for p in parts):
            parts.append(part)
    if not parts:
        raise ValueError("a caption needs a trigger word or a description")
    return ", ".join(parts)


def captions_for(description: str, trigger: str, count: int,
                 view_tags: Optional[Sequence[Sequence[str]]] = None) -> list[str]:
    """One caption per image; ``view_tags[i]`` (from a character sheet) is appended to image ``i``."""
    if view_tags is not None and len(view_tags) != count:
        raise ValueError(f"{len(view_tags)} view tag lists for {count} images")
    return [caption(description, trigger, view_tags[i] if view_tags else ()) for i in range(count)]
