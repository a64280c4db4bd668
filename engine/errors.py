"""One readable line from an exception, for status bars, job messages and ``error:`` lines."""

from __future__ import annotations

#: Error lines stay short enough to read in a status bar or a terminal (the CLI's contract: < 300).
MAX_LINE = 240


def one_line(exc: BaseException | str, limit: int = MAX_LINE) -> str:
    """The first non-empty line of ``exc`` with runs of whitespace folded and the quotes of a quoted
    text (as ``str(KeyError(...))`` gives) removed, cut to ``limit`` characters; the class name when
    it says nothing. Quotes inside the text (``cannot open 'a.png'``) are kept."""
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    else:
        text = str(exc)
    text = _unquote(text.strip())
    lines = [line for line in (" ".join(part.split()) for part in text.splitlines()) if line]
    line = lines[0] if lines else (type(exc).__name__ if isinstance(exc, BaseException) else "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _unquote(text: str) -> str:
    """``'text'`` -> ``text`` when the whole text is one quoted string; anything else unchanged."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and text[0] not in text[1:-1]:
        return text[1:-1]
    return text
