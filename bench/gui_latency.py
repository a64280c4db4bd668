"""GUI responsiveness: the longest gap of a 5 ms GUI-thread QTimer while the worker generates.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_latency.py [--jobs N] [--steps N]

Runs tiny-model jobs through `EngineWorker` (progress with previews every step) while the
GUI thread's timer records its tick gaps. Prints JSON last (goal: max gap <= 50 ms).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QCoreApplication, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.api import Engine  # noqa: E402
from engine.device import DeviceOptions  # noqa: E402
from engine.jobs import GenerationRequest  # noqa: E402
from app.workers import EngineWorker  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    from tests.tiny_models import write_diffusers_model  # imports torch in the GUI thread, before timing

    with tempfile.TemporaryDirectory() as tmp:
        write_diffusers_model(Path(tmp) / "checkpoints" / "tiny-sd")
        worker = EngineWorker(Engine(tmp, DeviceOptions(device="cpu")))
        gaps: list[float] = []
        last = [time.perf_counter()]
        measuring = [False]
        done = [0]
        progress = [0]

        def tick() -> None:
            now = time.perf_counter()
            if measuring[0]:
                gaps.append(now - last[0])
            last[0] = now

        def on_result(_result) -> None:
            done[0] += 1
            if done[0] == 1:  # the first job loads the model; measure the rest
                measuring[0] = True
                last[0] = time.perf_counter()
            if done[0] == args.jobs + 1:
                app.quit()

        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(tick)
        worker.result.connect(on_result)
        worker.failed.connect(lambda f: (print("failed:", f.message), app.quit()))
        worker.progress.connect(lambda p: progress.__setitem__(0, progress[0] + 1))
        worker.start()
        timer.start()
        for index in range(args.jobs + 1):
            worker.submit(GenerationRequest(model="tiny-sd", prompt="a harbour at night", seed=index, steps=args.steps,
                                            scheduler="euler", variants=2, width=64, height=64))
        started = time.perf_counter()
        app.exec()
        elapsed = time.perf_counter() - started
        timer.stop()
        worker.stop()
        QCoreApplication.processEvents()
    print(f"{len(gaps)} ticks, {progress[0]} progress signals, {elapsed:.1f} s")
    print(json.dumps({"bench": "gui_latency", "jobs": args.jobs, "steps": args.steps, "ticks": len(gaps),
                      "max_gap_ms": round(max(gaps) * 1000, 1), "p99_gap_ms": round(
                          sorted(gaps)[int(len(gaps) * 0.99) - 1] * 1000, 1),
                      "median_gap_ms": round(statistics.median(gaps) * 1000, 2), "goal_ms": 50}))


if __name__ == "__main__":
    main()
