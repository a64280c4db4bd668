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
    args = parser.parse_args()
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
        bare_times, engine_times = [], []
        for _ in range(args.runs):
            for fn, times in ((bare, bare_times), (through_engine, engine_times)):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
        bare_med, engine_med = statistics.median(bare_times), statistics.median(engine_times)
        print(f"bare   median {bare_med * 1000:.1f} ms  min {min(bare_times) * 1000:.1f} ms")
        print(f"engine median {engine_med * 1000:.1f} ms  min {min(engine_times) * 1000:.1f} ms")
        print(json.dumps({"bench": "engine", "steps": args.steps, "runs": args.runs,
                          "bare_median_s": round(bare_med, 4), "engine_median_s": round(engine_med, 4),
                          "overhead_ratio": round(engine_med / bare_med, 3),
                          "min_ratio": round(min(engine_times) / min(bare_times), 3),
                          "goal": 1.03, "loads": engine.loads, "torch_threads": torch.get_num_threads()}))
        engine.close()


if __name__ == "__main__":
    main()
