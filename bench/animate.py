"""Motion panels: seconds per frame of an AnimateDiff loop through the engine against the same
pipeline called bare, and peak memory.

    .venv/bin/python bench/animate.py [--runs N] [--steps N] [--frames N] [--size PX] [--models DIR --model NAME]

Without --models, builds the tiny random-weight SD 1.5 model and motion adapter (block widths 8
and 16) in a temporary folder. The bare side is ``AnimateDiffPipeline`` built from the same folder
and adapter with the same scheduler, steps, guidance and seed; the engine side is
``Engine.run(ANIMATE)`` with a progress callback (previews) and cancel checks. Runs alternate;
the figures are medians. Peak memory: CUDA's max allocated per side where a GPU is used, else the
process's peak RSS (both sides together). The last line is JSON (goal: ratio <= 1.05).
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from engine.api import Engine  # noqa: E402
from engine.device import DeviceOptions  # noqa: E402
from engine.diffusion.schedulers import make_scheduler  # noqa: E402
from engine.jobs import GenerationRequest, JobKind  # noqa: E402
from engine.registry import ModelKind  # noqa: E402


def _bare_pipe(base_path: Path, adapter_path: Path, device: str, dtype: torch.dtype):
    from diffusers import AnimateDiffPipeline, MotionAdapter, StableDiffusionPipeline

    from engine.diffusion.motion import load_motion_adapter
    from engine.registry import classify_path

    base = StableDiffusionPipeline.from_pretrained(base_path, local_files_only=True, safety_checker=None,
                                                   requires_safety_checker=False, torch_dtype=dtype)
    adapter = (MotionAdapter.from_pretrained(adapter_path, local_files_only=True, torch_dtype=dtype)
               if adapter_path.is_dir() else load_motion_adapter(classify_path(adapter_path), dtype))
    pipe = AnimateDiffPipeline.from_pipe(base, motion_adapter=adapter).to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--models", help="a models folder with an SD 1.5 model and a motion adapter")
    parser.add_argument("--model", default="tiny-motion-sd")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on CPU (1 = least noise)")
    args = parser.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        if args.models:
            root = Path(args.models)
        else:
            from tests.tiny_motion import write_motion_models

            root = write_motion_models(Path(tmp))
        engine = Engine(root, DeviceOptions(device=args.device))
        request = dict(kind=JobKind.ANIMATE, model=args.model, prompt="waves on a beach", seed=7, steps=args.steps,
                       scheduler="euler", guidance=7.0, width=args.size, height=args.size, frames=args.frames,
                       device=args.device)
        previews = []
        first = engine.run(GenerationRequest(**request), previews.append)  # load + warm up
        info = engine.registry.resolve(args.model)
        adapter = engine.registry.resolve(first.metadata["motion_adapter"], (ModelKind.MOTION_ADAPTER,))
        model = engine.backend.model(info, args.device)
        bare = _bare_pipe(info.path, adapter.path, args.device, model.choice.dtype)
        bare.scheduler = make_scheduler("euler", model.scheduler_config)

        def run_bare() -> None:
            bare(prompt="waves on a beach", num_frames=args.frames, height=args.size, width=args.size,
                 num_inference_steps=args.steps, guidance_scale=7.0,
                 generator=torch.Generator("cpu").manual_seed(7), output_type="np")

        run_bare()  # warm up
        cuda = args.device.startswith("cuda")
        bare_times, engine_times, peaks = [], [], {"bare": 0, "engine": 0}
        for _ in range(args.runs):
            for side in ("bare", "engine"):
                if cuda:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                started = time.perf_counter()
                if side == "bare":
                    run_bare()
                else:
                    engine.run(GenerationRequest(**request), previews.append, threading.Event())
                if cuda:
                    torch.cuda.synchronize()
                    peaks[side] = max(peaks[side], torch.cuda.max_memory_allocated())
                (bare_times if side == "bare" else engine_times).append(time.perf_counter() - started)
        engine.close()
    bare_s, engine_s = statistics.median(bare_times), statistics.median(engine_times)
    result = {"device": args.device, "frames": args.frames, "size": args.size, "steps": args.steps, "runs": args.runs,
              "bare_s_per_frame": round(bare_s / args.frames, 5), "engine_s_per_frame": round(engine_s / args.frames, 5),
              "ratio": round(engine_s / bare_s, 4), "goal": 1.05,
              "peak_mb": ({k: round(v / 2**20, 1) for k, v in peaks.items()} if cuda else
                          {"process_rss": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)})}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
