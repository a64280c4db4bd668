"""Running the command line in-process, as the tests of its commands do."""

from __future__ import annotations

from app.cli import main as cli


def run(capsys, *argv) -> tuple[int, str, str]:
    """``panelsmith ARGV...`` in this process: its exit code, stdout and stderr."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    """The single ``error:`` line (under 300 characters) that bad input must give."""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) < 300, err
    return lines[0]
