"""The Qt binding must not leak references to None/True (PySide6 6.12.0 did, and Python aborted)."""

import subprocess
import sys

SCRIPT = """
import sys
from PySide6.QtCore import QObject, Signal
class Emitter(QObject):
    fired = Signal(bool)
o = Emitter()
none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
for _ in range(20000):
    o.setObjectName("x")
    o.fired.emit(True)
print(sys.getrefcount(None) - none_before, sys.getrefcount(True) - true_before)
"""


def test_void_calls_and_emits_keep_singletons_alive():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"Qt binding crashed the interpreter: {run.stderr[-300:]}"
    none_delta, true_delta = map(int, run.stdout.split())
    assert abs(none_delta) < 100 and abs(true_delta) < 100
