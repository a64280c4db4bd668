"""The face-analysis helper process ends when the window process dies (crash, kill -9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PARENT = textwrap.dedent("""
    import os, sys, time
    from PySide6.QtCore import QCoreApplication
    from app.background import BackgroundTasks

    app = QCoreApplication([])
    tasks = BackgroundTasks()
    got = []
    tasks.submit(os.getpid, done=lambda result, error: got.append(result))
    tasks.wait(60000)
    print(got[0], flush=True)
    time.sleep(120)
""")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its (dead) parent's reaper does not hold memory any more
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return True


def test_helper_process_exits_when_its_parent_is_killed():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = parent.stdout.readline().strip()
        assert line.isdigit(), f"the parent did not report its helper: {line!r}"
        helper = int(line)
        assert helper != parent.pid and _running(helper)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 5
        while _running(helper) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(helper), "the helper process outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
