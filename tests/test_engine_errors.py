"""engine.errors.one_line: the one readable line shared by the CLI, the engine and the window."""

from __future__ import annotations

import pytest

from engine.errors import MAX_LINE, one_line


@pytest.mark.parametrize("exc, line", [
    (KeyError("p-1"), "p-1"),
    (str(KeyError("p-1")), "p-1"),
    (ValueError('"quoted"'), "quoted"),
    (OSError("cannot identify image file '/tmp/a.png'"), "cannot identify image file '/tmp/a.png'"),
    (ValueError("'a' or 'b'"), "'a' or 'b'"),
    (RuntimeError("  first   line \n\n second line"), "first line"),
    (RuntimeError("\n\n"), "RuntimeError"),
    (ValueError(""), "ValueError"),
    ("", ""),
])
def test_one_line(exc, line):
    assert one_line(exc) == line


def test_one_line_is_cut_to_the_limit():
    assert one_line(ValueError("x" * 1000)) == "x" * (MAX_LINE - 1) + "…"
    assert one_line(ValueError("y" * 100), 80) == "y" * 79 + "…"
    assert one_line(ValueError("short"), 80) == "short"
