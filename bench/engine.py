"""Engine overhead: the same tiny-pipeline generation called bare and through the engine.

    .venv/bin/python bench/engine.py [--runs N] [--steps N]

Builds the tiny random-weight models in a temporary folder, then alternates bare
`pipe(...)` calls with `Engine.run(...)` (registry, presets, progress with previews,
cancel checks) on the same loaded weights. Prints JSON last: the overhead ratio of the
medians (goal <= 1.03).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline  # noqa: E402

from engine.api import Engine  # noqa: E402
from engine.device import DeviceOptions  # noqa: E402
from engine.jobs import GenerationRequest  # noqa: E402
from tests.tiny_models import write_diffusers_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = least noise on a busy machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_diffusers_model(Path(tmp) / "checkpoints" / "tiny-sd")
        engine = Engine(tmp, DeviceOptions(device="cpu"))
        request = GenerationRequest(model="tiny-sd", prompt="a lighthouse", seed=7, steps=args.steps,
                                    scheduler="euler", guidance=7.0, width=64, height=64)
        previews = []
        engine.run(request, previews.append)  # load + warm up
        bare_pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True, safety_checker=None,
                                                            requires_safety_checker=False)
        bare_pipe.set_progress_bar_config(disable=True)
        bare_pipe.scheduler = EulerDiscreteScheduler.from_config(bare_pipe.scheduler.config)

        def bare() -> None:
            bare_pipe("a lighthouse", width=64, height=64, num_inference_steps=args.steps, guidance_scale=7.0,
                      generator=torch.Generator().manual_seed(7))

        def through_engine() -> None:
            engine.run(request, lambda p: None, threading.Event())

        bare()
        wall = {"bare": [], "engine": []}
        cpu = {"bare": [], "engine": []}
        for _ in range(args.runs):
            for name, fn in (("bare", bare), ("engine", through_engine)):
                start_wall, start_cpu = time.perf_counter(), time.process_time()
                fn()
                wall[name].append(time.perf_counter() - start_wall)
                cpu[name].append(time.process_time() - start_cpu)
        med = {k: {n: statistics.median(v[n]) for n in v} for k, v in (("wall", wall), ("cpu", cpu))}
        for name in ("bare", "engine"):
            print(f"{name:6} wall median {med['wall'][name] * 1000:.1f} ms (min {min(wall[name]) * 1000:.1f}), "
                  f"cpu median {med['cpu'][name] * 1000:.1f} ms")
        # CPU time is the figure of record: wall time swings with other load on a shared machine.
        print(json.dumps({"bench": "engine", "steps": args.steps, "runs": args.runs, "torch_threads": args.threads,
                          "bare_cpu_median_s": round(med["cpu"]["bare"], 4),
                          "engine_cpu_median_s": round(med["cpu"]["engine"], 4),
                          "overhead_ratio": round(med["cpu"]["engine"] / med["cpu"]["bare"], 3),
                          "wall_median_ratio": round(med["wall"]["engine"] / med["wall"]["bare"], 3),
                          "wall_min_ratio": round(min(wall["engine"]) / min(wall["bare"]), 3),
                          "goal": 1.03, "loads": engine.loads}))
        engine.close()


if __name__ == "__main__":
    main()
