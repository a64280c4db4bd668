"""LoRA training throughput on the tiny SD 1.5 model (CPU by default) and peak memory.

Prints a human summary, then one JSON line (last). Steps per second are measured from the
per-step callback after ``--warmup`` steps; CPU time per step is printed beside wall time because
wall time swings with other load on a shared machine. Peak memory: the process's peak RSS
(``resource.getrusage``: torch's tensors included) and the peak of Python-level allocations
(``tracemalloc``: excludes torch's C++ allocator), both over the training call.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    args = parser.parse_args()

    import torch

    from engine.training import TrainingRequest, train_lora
    from tests.helpers_training import training_images
    from tests.tiny_models import write_diffusers_model

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model = write_diffusers_model(Path(tmp) / "tiny-sd")
        request = TrainingRequest(base_model=str(model), images=training_images(args.images, args.resolution),
                                  captions=["psbench, a character"], output=str(Path(tmp) / "bench.safetensors"),
                                  steps=args.steps, rank=args.rank, resolution=args.resolution,
                                  batch_size=args.batch, learning_rate=1e-3, checkpoint_every=0,
                                  device=args.device, gradient_checkpointing=args.gradient_checkpointing)
        marks: list[tuple[float, float]] = []
        rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        started = time.perf_counter()
        result = train_lora(request, on_step=lambda s, t, loss: marks.append((time.perf_counter(), time.process_time())))
        total = time.perf_counter() - started
        _, py_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        lora_bytes = Path(result.lora_path).stat().st_size
    (w0, c0), (w1, c1) = marks[args.warmup - 1], marks[-1]
    timed = len(marks) - args.warmup
    steps_per_s = timed / (w1 - w0)
    cpu_per_step = (c1 - c0) / timed
    print(f"{timed} steps after {args.warmup} warm-up: {steps_per_s:.1f} steps/s wall, "
          f"{cpu_per_step * 1000:.1f} ms CPU per step; total with loading and saving {total:.2f} s")
    print(f"loss {result.loss_history[0]:.3f} -> {result.loss_history[-1]:.3f}; "
          f"peak RSS {rss_peak_kib / 1024:.0f} MiB (before training {rss_before_kib / 1024:.0f} MiB); "
          f"Python peak {py_peak / 2**20:.1f} MiB; LoRA file {lora_bytes / 1024:.0f} KiB")
    print(json.dumps({"bench": "train", "model": "tiny-sd15", "device": args.device, "steps": args.steps,
                      "warmup": args.warmup, "batch": args.batch, "resolution": args.resolution,
                      "rank": args.rank, "torch_threads": torch.get_num_threads(),
                      "steps_per_s": round(steps_per_s, 2), "cpu_ms_per_step": round(cpu_per_step * 1000, 2),
                      "total_s": round(total, 3), "peak_rss_mib": round(rss_peak_kib / 1024, 1),
                      "rss_before_mib": round(rss_before_kib / 1024, 1),
                      "python_peak_mib": round(py_peak / 2**20, 2), "lora_kib": round(lora_bytes / 1024, 1),
                      "first_loss": round(result.loss_history[0], 4), "last_loss": round(result.loss_history[-1], 4)}))


if __name__ == "__main__":
    main()
