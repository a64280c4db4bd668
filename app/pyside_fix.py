"""Work around a PySide6 6.12.0 reference-count bug: ``SignalInstance.emit()`` returns ``True``
without taking a reference, so every signal emitted from Python drops one reference to ``True``.
After some thousands of emits, CPython < 3.12 (where ``True`` is not immortal) aborts with
"Fatal Python error: bool_dealloc". ``True`` and ``False`` are never legitimately freed, so giving
them a very large reserve of references is harmless and keeps long sessions alive.

Applied once on ``import app`` (see app/__init__.py); a no-op on Python 3.12+ and other versions.
"""

from __future__ import annotations

import ctypes
import sys

_RESERVE = 1 << 40
_applied = False


def affected() -> bool:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    try:
        from importlib.metadata import version

        return version("shiboken6").startswith("6.12.")
    except Exception:  # noqa: BLE001 - unknown install: be safe
        return True


def apply() -> None:
    global _applied
    if _applied or not affected():
        return
    for singleton in (True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += _RESERVE
    _applied = True
