"""Page and panel numbers as scripts write them: digits or English words (``TWENTY-ONE``)."""

from __future__ import annotations

import re

UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
RANGE_WORDS = {"-", "to", "and", "&", "through", "thru"}
_TOKEN = re.compile(r"[A-Za-z]+|\d+|&|[-\u2013\u2014]")


def tokens(text: str) -> list[str]:
    """Words, digit runs, ``&`` and dashes (as ``-``) of ``text``, lower-cased."""
    return ["-" if t in "\u2013\u2014" else t.lower() for t in _TOKEN.findall(text)]


def read_number(words: list[str], i: int) -> tuple[int | None, int]:
    """The number starting at ``words[i]`` and the index after it; (None, i) when there is none.

    ``hundred`` is accepted after a unit (``one hundred twenty``) so long books parse too.
    """
    if i >= len(words):
        return None, i
    word = words[i]
    if word.isdigit():
        return (int(word) if len(word) <= 6 else None), i + 1
    value: int | None = None
    if word in UNITS:
        value, i = UNITS[word], i + 1
        if i < len(words) and words[i] == "hundred":
            rest, j = read_number(words, i + 1)
            return value * 100 + (rest if rest is not None and rest < 100 else 0), (j if rest is not None
                                                                                    and rest < 100 else i + 1)
        return value, i
    if word in TENS:
        value, i = TENS[word], i + 1
        j = i + 1 if i < len(words) and words[i] == "-" else i
        if j < len(words) and words[j] in UNITS and 0 < UNITS[words[j]] < 10:
            value, i = value + UNITS[words[j]], j + 1
        return value, i
    return None, i


def read_range(words: list[str]) -> tuple[list[int], int]:
    """One number or a range (``two-three``, ``2 to 3``) at the start of ``words``; returns the numbers
    (empty when none) and how many words were used."""
    first, i = read_number(words, 0)
    if first is None:
        return [], 0
    if i >= len(words) or words[i] not in RANGE_WORDS:
        return [first], i
    second, k = read_number(words, i + 1)
    if second is None:
        return [first], i
    return [first, second], k
