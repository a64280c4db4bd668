"""Work-around for a reference-counting bug of PySide6/shiboken 6.12 on Python < 3.12.

Every call of a C++ method returning ``void`` drops one reference to ``None`` without having taken
it (shiboken assumes Python 3.12's immortal ``None``). After a few thousand calls — one painted
frame makes hundreds — ``None``'s count reaches zero and the interpreter aborts with
"Fatal Python error: none_dealloc". Until the pinned PySide6 or Python changes, give ``None`` a
reference count no session can use up (2**40). Python 3.12+ needs nothing: ``None`` is immortal.
"""

from __future__ import annotations

import ctypes
import sys

_PINNED = False


def pin_none() -> None:
    global _PINNED
    if _PINNED or sys.version_info >= (3, 12):
        return
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40  # ob_refcnt is the first field
    _PINNED = True
