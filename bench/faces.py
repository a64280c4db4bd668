"""Benchmark: built-in face analysis (CenterFace detection + dlib descriptor) per image.

Usage: python bench/faces.py [--repeat N] [IMAGE]   (default: skimage's astronaut)
Prints a human line, then JSON as the last line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("image", nargs="?")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()

    from engine.faces import to_rgb_array
    from engine.faces.builtin import BuiltinBackend

    if args.image:
        img, name = to_rgb_array(args.image), os.path.basename(args.image)
    else:
        import skimage.data

        img, name = skimage.data.astronaut(), "skimage.astronaut"
    be = BuiltinBackend()
    t0 = time.perf_counter()
    faces = be.detect(img)  # first call loads models
    if faces:
        be.embed(img, faces[0])
    load_s = time.perf_counter() - t0
    det, emb, total = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        faces = be.detect(img)
        t1 = time.perf_counter()
        for f in faces:
            be.embed(img, f)
        t2 = time.perf_counter()
        det.append(t1 - t0)
        emb.append(t2 - t1)
        total.append(t2 - t0)
    res = {
        "bench": "faces", "backend": be.name, "image": name, "size": [img.shape[1], img.shape[0]],
        "faces": len(faces), "repeat": args.repeat, "first_call_s": round(load_s, 4),
        "detect_s": round(float(np.median(det)), 4), "embed_s": round(float(np.median(emb)), 4),
        "per_image_s": round(float(np.median(total)), 4), "cpu_count": os.cpu_count(),
    }
    print(f"{res['backend']}: {res['per_image_s'] * 1000:.0f} ms/image "
          f"(detect {res['detect_s'] * 1000:.0f} ms, embed {res['embed_s'] * 1000:.0f} ms, {len(faces)} face)")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
