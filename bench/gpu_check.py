"""The short check a lent GPU runs (under 8 minutes): one JSON line per check, a JSON summary last.

    bash bench/gpu_check.sh                 # on the lent GPU (device cuda)
    bash bench/gpu_check.sh --smoke         # here, on the CPU: the same checks with tiny models
    bash bench/gpu_check.sh --only device gguf_flux

Checks: the device and dtype the engine picks; each memory mode on a tiny model through the engine; a tiny
GGUF FLUX transformer on the device against the CPU; a tiny v-prediction SDXL file; then every family at real
size with random weights (bench/real_size.py --device cuda, with the 6-panel page; --smoke: its --tiny
configs on the CPU). Each check runs in its own process with a time limit; one that fails, raises or runs
out of time gives ``{"check": NAME, "ok": false, "error": "<one line>"}`` and the others still run. The
exit status is 0 only when every check is ok.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]

#: how much longer a check may take in --smoke mode (tiny models, but a shared 2-core CPU)
SMOKE_TIME_SCALE = 4


def check_device(device: str) -> dict[str, Any]:
    import torch

    from engine.device import DeviceOptions, choose_device

    choice = choose_device(DeviceOptions(device=device))
    out: dict[str, Any] = dict(device=choice.device, dtype=choice.dtype_name, torch=torch.__version__)
    if device.startswith("cuda"):
        free, total = torch.cuda.mem_get_info()
        out.update(gpu=torch.cuda.get_device_name(), free_gib=round(free / 2**30, 1), total_gib=round(total / 2**30, 1))
        out["ok"] = choice.device == "cuda" and choice.dtype_name in ("bf16", "fp16")
    else:
        out["ok"] = choice.device == device and choice.dtype_name in ("fp32", "bf16")
    return out


def check_memory_modes(device: str) -> dict[str, Any]:
    import tempfile

    import numpy as np

    from engine.api import Engine
    from engine.device import DeviceOptions
    from engine.jobs import GenerationRequest
    from tests.tiny_models import write_diffusers_model

    root = Path(tempfile.mkdtemp())
    write_diffusers_model(root / "checkpoints" / "tiny-sd")
    images, modes, notes = {}, {}, {}
    for mode in ("auto", "none", "model_offload", "sequential_offload"):
        engine = Engine(root, DeviceOptions(device=device, memory=mode))
        engine.on_note = lambda p, m=mode: notes.__setitem__(m, p.note)
        r = engine.run(GenerationRequest(model="tiny-sd", prompt="a cat", seed=3, steps=4, scheduler="euler",
                                         guidance=5.0))
        images[mode] = np.asarray(r.images[0]).astype(int)
        modes[mode] = next(iter(engine.backend.cache._models.values())).memory_mode
        engine.close()
    diff = max(int(np.abs(images[m] - images["none"]).max()) for m in images)
    # on the CPU there is nothing to offload: every mode runs as "none" (the plumbing is what is checked)
    return dict(ok=modes["auto"] == "none" and diff <= 2, modes=modes, max_pixel_difference=diff,
                offload_exercised=device != "cpu", note=notes.get("auto", ""))


def check_gguf_flux(device: str) -> dict[str, Any]:
    import tempfile

    import numpy as np
    import torch

    from engine.device import DeviceOptions, choose_device
    from engine.diffusion.pipelines import load_model
    from engine.registry import ModelRegistry
    from tests.tiny_single_files import write_flux_folder, write_flux_gguf

    root = Path(tempfile.mkdtemp())
    (root / "diffusion_models").mkdir(parents=True)
    pipe = write_flux_folder(root / "checkpoints" / "tiny-flux")
    write_flux_gguf(root / "diffusion_models" / "tiny-flux-Q8_0.gguf", pipe.transformer)
    info = ModelRegistry(root).resolve("tiny-flux-Q8_0")
    out, model = {}, None
    for where in dict.fromkeys(("cpu", device)):
        opts = DeviceOptions(device=where, dtype="fp32")
        model = load_model(info, choose_device(opts), opts)
        out[where] = model.base(prompt="a cat", num_inference_steps=2, width=32, height=32, output_type="np",
                                generator=torch.Generator().manual_seed(0), max_sequence_length=16).images[0]
    weight = model.base.transformer.transformer_blocks[0].ff.net[0].proj.weight
    difference = float(np.abs(out["cpu"] - out[device]).max())
    return dict(ok=difference < 0.02 and type(weight).__name__ == "GGUFParameter", cpu_vs_device=difference,
                weight_type=type(weight).__name__, weight_device=str(weight.device))


def check_vpred_sdxl(device: str) -> dict[str, Any]:
    import tempfile

    from engine.api import Engine
    from engine.device import DeviceOptions
    from engine.jobs import GenerationRequest
    from tests.tiny_single_files import write_sdxl_single_file

    root = Path(tempfile.mkdtemp())
    (root / "checkpoints").mkdir()
    write_sdxl_single_file(root / "checkpoints" / "noob-vpred.safetensors", v_pred=True, ztsnr=True)
    engine = Engine(root, DeviceOptions(device=device))
    r = engine.run(GenerationRequest(model="noob-vpred", prompt="a fox", seed=1, steps=4, scheduler="euler",
                                     guidance=5.0, width=64, height=64))
    cfg = next(iter(engine.backend.cache._models.values())).scheduler_config
    return dict(ok=cfg.prediction_type == "v_prediction" and r.images[0].size == (64, 64),
                prediction_type=cfg.prediction_type, dtype=r.metadata["dtype"])


#: name -> (seconds allowed on the GPU, the check); each runs in a child process of its own
CHECKS: dict[str, tuple[int, Callable[[str], dict[str, Any]]]] = {
    "device": (60, check_device),
    "memory_modes": (240, check_memory_modes),
    "gguf_flux": (240, check_gguf_flux),
    "vpred_sdxl": (240, check_vpred_sdxl),
}
REAL_SIZE_SECONDS = 330


def _one_line(text: str, fallback: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    return (lines[-1] if lines else fallback)[:300]


def run_check(name: str, command: list[str], limit: float) -> list[dict[str, Any]]:
    """Run `command`, which prints JSON objects (one a line), within `limit` seconds: its objects tagged
    with `name`, or one ``ok: false`` object whose ``error`` is one line (its last line of stderr, or why
    it gave nothing)."""
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return [dict(check=name, ok=False, error=f"timed out after {limit:g} s")]
    seconds = round(time.monotonic() - started, 1)
    results = []
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            try:
                results.append({"check": name, **json.loads(line), "seconds": seconds})
            except json.JSONDecodeError:
                pass
    if done.returncode != 0 or not results:
        why = _one_line(done.stderr, f"exit status {done.returncode} and no JSON line")
        return results + [dict(check=name, ok=False, error=why, seconds=seconds)]
    return results


def real_size_command(device: str, smoke: bool) -> list[str]:
    command = [sys.executable, str(ROOT / "bench" / "real_size.py"), "--device", device]
    return command + (["--tiny"] if smoke else [])


def run_all(device: str, smoke: bool, only: list[str], emit: Callable[[dict[str, Any]], None]) -> bool:
    """Every check (or those in `only`), each result emitted as it comes; True when all are ok."""
    scale = SMOKE_TIME_SCALE if smoke else 1
    ok = True
    for name, (limit, _fn) in CHECKS.items():
        if only and name not in only:
            continue
        command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--device", device]
        for result in run_check(name, command, limit * scale):
            ok = ok and bool(result.get("ok"))
            emit(result)
    if not only or "real_size" in only:
        results = run_check("real_size", real_size_command(device, smoke), REAL_SIZE_SECONDS * scale)
        for result in results:
            if "real_size" in result:  # the bench's summary line: its families were emitted already
                continue
            result.setdefault("ok", "error" not in result and "skipped" not in result)
            ok = ok and bool(result["ok"])
            emit(result)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", help="default: cuda; cpu with --smoke")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny models and real_size --tiny: proves the checks and their JSON without a GPU")
    parser.add_argument("--only", nargs="*", default=[], choices=[*CHECKS, "real_size"], help="run only these")
    parser.add_argument("--child", choices=list(CHECKS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    device = args.device or ("cpu" if args.smoke else "cuda")
    if args.child:
        print(json.dumps(CHECKS[args.child][1](device)), flush=True)
        return 0
    summary: dict[str, bool] = {}

    def emit(result: dict[str, Any]) -> None:
        key = result["check"] if result["check"] != "real_size" else f"real_size:{result.get('family', '?')}"
        summary[key] = summary.get(key, True) and bool(result.get("ok"))
        print(json.dumps(result), flush=True)

    ok = run_all(device, args.smoke, args.only, emit)
    print(json.dumps({"gpu_check": summary, "device": device, "smoke": args.smoke, "ok": ok}), flush=True)
    return 0 if ok else 1


def _repository_first() -> None:
    """Run as a script, this folder comes first on sys.path, where bench/engine.py would hide the engine
    package: the repository's packages go first instead."""
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]


if __name__ == "__main__":
    _repository_first()
    sys.exit(main())
