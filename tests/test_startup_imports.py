"""Window start stays light: no heavy library, no engine back-end and no helper process before a job runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Imported on first use only (a job, an analysis, a training run), never to show the window.
HEAVY = ("scipy", "scipy.ndimage", "onnx", "onnxruntime", "torch", "diffusers", "transformers", "safetensors",
         "insightface", "cv2", "dlib", "engine.diffusion", "engine.faces.builtin", "engine.faces.insight",
         "engine.faces.swap", "engine.training.trainer", "engine.conditioning.apply", "engine.comfyui.backend",
         "engine.hub", "engine.api", "engine.upscale",
         # the window's own start: icons without qtawesome/qtpy (which star-import every Qt class), no file
         # lock, process pool or page-setup dialog until they are used
         "qtawesome", "qtpy", "filelock", "concurrent.futures.process", "widgets.page_setup", "app.script.builder",
         # numpy comes with the first job, face analysis or image import (engine.faces, the conditions, imageops)
         "numpy", "engine.faces", "engine.conditioning", "engine.imageops",
         # the generation and training code loads with the first job, run, dialog or menu that needs it: the
         # registry (and the model families, samplers), the request builder, the worker threads, the card
         # editor; the clipboard code with the first copy or paste, the socket with the first save
         "engine.training", "engine.registry", "engine.families", "engine.sampling", "app.generation.request",
         "app.generation.result", "app.generation.card_model", "app.workers", "app.sheet", "app.identity.conditions",
         "widgets.identity.card_editor", "app.clipboard", "socket",
         # the engine's job types with the first job, the prompt flags with the preset menu, the Animate dialog
         "engine.jobs", "engine.prompt_flags", "widgets.generation.animate")

START = """
import json, sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[1])
app = QApplication(sys.argv[:1])
from widgets.main_window import SAMPLE, MainWindow
window = MainWindow()
window.show()
window.load(SAMPLE, keep_path=False, offer_recovery=False)
for _ in range(5):
    app.processEvents()
print(json.dumps({"panels": sum(1 for _ in window.doc.project.iter_panels()),
                  "helper_started": window.tasks._executor is not None,
                  "heavy": sorted(m for m in HEAVY if m in sys.modules)}))
window.doc.undo_stack.setClean()
window.close()
"""


def test_window_start_on_the_sample_imports_nothing_heavy(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           "PANELSMITH_RECOVERY_DIR": str(tmp_path / "recovery")}
    code = f"HEAVY = {HEAVY!r}\n{START}"
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "settings")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["panels"] >= 6  # the sample project really was opened
    assert report["heavy"] == []
    # the sample's bound panel carries its stored consistency score: no face job (and no helper
    # process importing onnx) starts just because the window opened
    assert report["helper_started"] is False


SETTLED = START.replace("for _ in range(5):\n    app.processEvents()\n", """import time
end = time.perf_counter() + 3
while time.perf_counter() < end and "filelock" not in sys.modules:
    app.processEvents()
    time.sleep(0.01)
time.sleep(0.2)  # the helper thread finishes its imports
""")


def test_the_first_saves_modules_load_on_a_helper_thread_once_the_window_has_settled(tmp_path):
    """What the first save imports (the file lock) loads after the first frame, off the GUI thread,
    so that Ctrl+S does not stall the window importing it."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           "PANELSMITH_RECOVERY_DIR": str(tmp_path / "recovery")}
    code = (f"HEAVY = ('filelock', 'socket')\nimport threading, builtins\nmain = threading.main_thread()\n"
            f"real = builtins.__import__\non_gui = []\n"
            f"def spy(name, *a, **k):\n    if name == 'filelock' and threading.current_thread() is main and "
            f"'filelock' not in sys.modules:\n        on_gui.append(name)\n    return real(name, *a, **k)\n"
            f"import sys\nbuiltins.__import__ = spy\n{SETTLED}\nprint(json.dumps(on_gui))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "settings")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    report, on_gui = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert report["heavy"] == ["filelock", "socket"]  # loaded, without a save
    assert on_gui == []  # and not by the GUI thread
