"""Time plain vs identity/style-conditioned generation on the same tiny pipeline, in one run.

Also times face analysis with the built-in (dlib/CenterFace) backend when it is installed.
Prints a JSON object as its last line. Usage: python bench/identity.py [--repeats N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from engine.conditioning import AdapterFiles, CharacterCondition, StyleCondition  # noqa: E402
from engine.conditioning.apply import apply_conditioning, remove_conditioning  # noqa: E402
from tests import helpers_conditioning as H  # noqa: E402

STEPS, SIZE, GUIDANCE = 20, 64, 5.0


def _median(fn, repeats: int) -> float:
    fn()  # warm-up: first calls in a process can be slow
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _interleaved(cases: dict, repeats: int) -> dict:
    """Median seconds per case, cases run round-robin so that machine load hits all alike."""
    for fn in cases.values():
        fn()  # warm-up
    times: dict = {k: [] for k in cases}
    for _ in range(repeats):
        for k, fn in cases.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def _conditioned(pipe, conds, files):
    def go():
        applied = apply_conditioning(pipe, conds, width=SIZE, height=SIZE, guidance=GUIDANCE, adapters=files)
        try:
            H.run(applied.pipe, steps=STEPS, size=SIZE, guidance=GUIDANCE, **applied.call_kwargs)
        finally:
            remove_conditioning(applied)
    return go


def _face_analysis(repeats: int):
    try:
        from engine.faces.builtin import BuiltinBackend
        from skimage import data
    except Exception as exc:  # noqa: BLE001 - optional
        return None, f"unavailable: {exc}"
    try:
        backend = BuiltinBackend()
        img = data.astronaut()

        def go():
            faces = backend.detect(img)
            if faces:
                backend.embed(img, faces[0])
        return _median(go, repeats), "builtin (CenterFace + dlib), astronaut 512x512, detect + embed"
    except Exception as exc:  # noqa: BLE001
        return None, f"failed: {exc}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pipe = H.tiny_sd15()
        H.write_image_encoder(root / "image_encoder")
        files = AdapterFiles(ip_adapter=H.write_ip_adapter(root / "ip.safetensors", pipe.unet),
                             image_encoder=root / "image_encoder",
                             faceid=H.write_faceid(root / "faceid.safetensors", pipe.unet))
        rng = np.random.default_rng(0)
        ref = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
        face = CharacterCondition("c", rng.normal(size=512), cw=0)
        full = CharacterCondition("c", rng.normal(size=512), cw=100, reference_images=[ref])
        style = StyleCondition("s", [ref], sw=100)

        cases = {
            "plain": lambda: H.run(pipe, steps=STEPS, size=SIZE, guidance=GUIDANCE),
            "faceid": _conditioned(pipe, [face], files),
            "faceid_full": _conditioned(pipe, [full], files),
            "style": _conditioned(pipe, [style], files),
        }
        med = _interleaved(cases, args.repeats)
        plain, faceid, faceid_full, styled = med["plain"], med["faceid"], med["faceid_full"], med["style"]
        applied = apply_conditioning(pipe, [face], width=SIZE, height=SIZE, guidance=GUIDANCE, adapters=files)
        t = time.perf_counter()
        remove_conditioning(applied)
        remove_s = time.perf_counter() - t
        t = time.perf_counter()
        applied = apply_conditioning(pipe, [face], width=SIZE, height=SIZE, guidance=GUIDANCE, adapters=files)
        apply_s = time.perf_counter() - t
        faceid_gen = _median(lambda: H.run(pipe, steps=STEPS, size=SIZE, guidance=GUIDANCE, **applied.call_kwargs), args.repeats)
        remove_conditioning(applied)
        fa, fa_note = _face_analysis(args.repeats)

    result = {
        "pipeline": f"tiny SD1.5 topology, {SIZE}x{SIZE}, {STEPS} Euler steps, guidance {GUIDANCE}, CPU threads {torch.get_num_threads()}",
        "repeats": args.repeats,
        "plain_s": round(plain, 4),
        "faceid_cw0_s": round(faceid, 4),
        "faceid_cw100_appearance_s": round(faceid_full, 4),
        "style_s": round(styled, 4),
        "faceid_generate_only_s": round(faceid_gen, 4),
        "faceid_apply_s": round(apply_s, 4),
        "faceid_remove_s": round(remove_s, 4),
        "ratio_faceid_vs_plain": round(faceid / plain, 2),
        "ratio_style_vs_plain": round(styled / plain, 2),
        "face_analysis_s": None if fa is None else round(fa, 4),
        "face_analysis": fa_note,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
