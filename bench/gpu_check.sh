#!/usr/bin/env bash
# The short check a lent GPU runs (under 8 minutes): one JSON line per check, a JSON summary last.
#   bash bench/gpu_check.sh            (from the repository root; PYTHON=... to pick the interpreter)
# Checks: the device and dtype the engine picks; each memory mode on a tiny model through the engine;
# a tiny GGUF FLUX transformer on the GPU against the CPU; a tiny v-prediction SDXL file; then every family at
# real size with random weights (bench/real_size.py --device cuda, with the 6-panel page).
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
STATUS=()

check() {  # check NAME SECONDS PYTHON-CODE: the code prints one JSON object
    local name="$1" limit="$2" code="$3" out rc
    out=$(timeout "$limit" "$PY" -c "$code" 2>/tmp/gpu_check_$name.err | grep '^{' | tail -1)
    rc=$?
    if [ -z "$out" ]; then
        out=$(printf '{"check": "%s", "ok": false, "error": %s}' "$name" \
              "$("$PY" -c 'import json,sys; print(json.dumps((sys.stdin.read().strip().splitlines() or ["timed out or no output"])[-1][:300]))' < /tmp/gpu_check_$name.err)")
    fi
    echo "$out"
    STATUS+=("$out")
}

check device 60 '
import json, torch
from engine.device import DeviceOptions, choose_device
c = choose_device(DeviceOptions())
free, total = torch.cuda.mem_get_info()
print(json.dumps({"check": "device", "ok": c.device == "cuda" and c.dtype_name in ("bf16", "fp16"), "device": c.device,
                  "dtype": c.dtype_name, "gpu": torch.cuda.get_device_name(), "free_gib": round(free / 2**30, 1),
                  "total_gib": round(total / 2**30, 1), "torch": torch.__version__}))'

check memory_modes 240 '
import json, tempfile, time, numpy as np
from pathlib import Path
from engine.api import Engine
from engine.device import DeviceOptions
from engine.jobs import GenerationRequest
from tests.tiny_models import write_diffusers_model
root = Path(tempfile.mkdtemp()); write_diffusers_model(root / "checkpoints" / "tiny-sd")
images, modes, notes = {}, {}, {}
for mode in ("auto", "none", "model_offload", "sequential_offload"):
    engine = Engine(root, DeviceOptions(device="cuda", memory=mode))
    engine.on_note = lambda p, m=mode: notes.__setitem__(m, p.note)
    r = engine.run(GenerationRequest(model="tiny-sd", prompt="a cat", seed=3, steps=4, scheduler="euler", guidance=5.0))
    images[mode] = np.asarray(r.images[0]).astype(int)
    modes[mode] = engine.backend.cache._models[next(iter(engine.backend.cache._models))].memory_mode
    engine.close()
diff = max(int(np.abs(images[m] - images["none"]).max()) for m in images)
print(json.dumps({"check": "memory_modes", "ok": modes["auto"] == "none" and diff <= 2, "modes": modes,
                  "max_pixel_difference": diff, "note": notes.get("auto", "")}))'

check gguf_flux 240 '
import json, tempfile, numpy as np, torch
from pathlib import Path
from engine.device import DeviceOptions, choose_device
from engine.diffusion.pipelines import load_model
from engine.registry import ModelRegistry
from tests.tiny_single_files import write_flux_folder, write_flux_gguf
root = Path(tempfile.mkdtemp()); (root / "diffusion_models").mkdir(parents=True)
pipe = write_flux_folder(root / "checkpoints" / "tiny-flux")
write_flux_gguf(root / "diffusion_models" / "tiny-flux-Q8_0.gguf", pipe.transformer)
info = ModelRegistry(root).resolve("tiny-flux-Q8_0")
out = {}
for device in ("cpu", "cuda"):
    opts = DeviceOptions(device=device, dtype="fp32")
    m = load_model(info, choose_device(opts), opts)
    out[device] = m.base(prompt="a cat", num_inference_steps=2, width=32, height=32, output_type="np",
                         generator=torch.Generator().manual_seed(0), max_sequence_length=16).images[0]
w = m.base.transformer.transformer_blocks[0].ff.net[0].proj.weight
d = float(np.abs(out["cpu"] - out["cuda"]).max())
print(json.dumps({"check": "gguf_flux", "ok": d < 0.02 and type(w).__name__ == "GGUFParameter", "cpu_vs_cuda": d,
                  "weight_device": str(w.device)}))'

check vpred_sdxl 240 '
import json, tempfile
from pathlib import Path
from engine.api import Engine
from engine.device import DeviceOptions
from engine.jobs import GenerationRequest
from tests.tiny_single_files import write_sdxl_single_file
root = Path(tempfile.mkdtemp()); (root / "checkpoints").mkdir()
write_sdxl_single_file(root / "checkpoints" / "noob-vpred.safetensors", v_pred=True, ztsnr=True)
engine = Engine(root, DeviceOptions(device="cuda"))
r = engine.run(GenerationRequest(model="noob-vpred", prompt="a fox", seed=1, steps=4, scheduler="euler", guidance=5.0,
                                 width=64, height=64))
cfg = engine.backend.cache._models[next(iter(engine.backend.cache._models))].scheduler_config
print(json.dumps({"check": "vpred_sdxl", "ok": cfg.prediction_type == "v_prediction" and r.images[0].size == (64, 64),
                  "prediction_type": cfg.prediction_type, "dtype": r.metadata["dtype"]}))'

real=$(timeout 330 "$PY" bench/real_size.py --device cuda 2>/tmp/gpu_check_real.err | tee /dev/stderr | tail -1)
if [ -n "$real" ]; then
    echo "$real" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); [print(json.dumps({"check": "real_size", **r})) for r in d["real_size"]]'
    STATUS+=("$(echo "$real" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({"check": "real_size", "ok": all("error" not in r for r in d["real_size"])}))')")
else
    STATUS+=('{"check": "real_size", "ok": false, "error": "timed out or failed"}')
    echo "${STATUS[-1]}"
fi

printf '%s\n' "${STATUS[@]}" | "$PY" -c '
import json, sys
checks = [json.loads(x) for x in sys.stdin if x.strip()]
print(json.dumps({"gpu_check": {c["check"]: c.get("ok", False) for c in checks},
                  "ok": all(c.get("ok", False) for c in checks)}))'
