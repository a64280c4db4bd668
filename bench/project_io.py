"""Project file speed: a 48-page project (6 panels a page, each with a 1024 × 1024 image).

Times ``save_project`` (atomic: temp file, fsync, backup, thumbnail) and ``load_project`` against
writing and reading the same PNG bytes as a plain zip (stored; written without and with fsync). Images are distinct
gradients with a little noise, so their PNGs are realistically sized (about 1 MB each).
The last line is JSON with the figures and the ratios.

Run: ``.venv/bin/python bench/project_io.py [--pages N] [--repeat N]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from app import layout, render  # noqa: E402
from app.images import encode_png, image_key  # noqa: E402
from app.project import Project, Variant, new_id  # noqa: E402
from app.project_io import load_project, save_project  # noqa: E402

SIZE = 1024


def make_image(rng: np.random.Generator) -> bytes:
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    a, b, c = rng.uniform(0.2, 1.0, 3)
    phase = rng.uniform(0, 6.28, 3)
    channels = [127 + 120 * np.sin(6.28 * (a * x + b * y) * (k + 1) * c + phase[k]) for k in range(3)]
    noise = rng.integers(0, 6, (SIZE, SIZE, 3), dtype=np.uint8)
    pixels = np.clip(np.stack(channels, -1), 0, 249).astype(np.uint8) + noise
    return encode_png(Image.fromarray(pixels, "RGB"))


def make_project(pages: int) -> Project:
    rng = np.random.default_rng(48)
    project = Project(title="bench")
    for _ in range(pages):
        page = layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x3")
        for panel in page.panels:
            png = make_image(rng)
            key = image_key(png)
            project.images[key] = png
            variant = Variant(id=new_id("var"), image=key, kind="generate", seed=int(rng.integers(0, 2**31)))
            panel.variants.append(variant)
            panel.current = variant.id
        project.pages.append(page)
    return project


def plain_zip_write(path, images: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for key, png in images.items():
            zf.writestr(f"images/{key}.png", png)


def plain_zip_write_fsync(path: Path, images: dict[str, bytes]) -> None:
    """The same, made durable: the least any crash-safe save must do."""
    with open(path, "wb") as f:
        plain_zip_write(f, images)
        f.flush()
        os.fsync(f.fileno())


def plain_zip_read(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    t = time.perf_counter()
    project = make_project(args.pages)
    total = sum(len(v) for v in project.images.values())
    print(f"made {len(project.images)} images, {total / 1e6:.0f} MB of PNG, in {time.perf_counter() - t:.1f} s")

    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
        folder = Path(tmp)
        comic, plain = folder / "bench.comic", folder / "plain.zip"
        def cold_save() -> None:  # no decoded images left over from the previous round
            render.clear_image_cache()
            save_project(project, comic)

        save_s = timed(cold_save, args.repeat)
        load_s = timed(lambda: load_project(comic), args.repeat)
        zip_write_s = timed(lambda: plain_zip_write(plain, project.images), args.repeat)
        zip_read_s = timed(lambda: plain_zip_read(plain), args.repeat)
        zip_fsync_s = timed(lambda: plain_zip_write_fsync(plain, project.images), args.repeat)
        assert load_project(comic) == project
        size = comic.stat().st_size
    result = {
        "pages": args.pages, "images": len(project.images), "png_mb": round(total / 1e6, 1),
        "file_mb": round(size / 1e6, 1),
        "save_s": round(save_s, 3), "zip_write_s": round(zip_write_s, 3),
        "load_s": round(load_s, 3), "zip_read_s": round(zip_read_s, 3),
        "zip_write_fsync_s": round(zip_fsync_s, 3),
        "save_ratio": round(save_s / zip_write_s, 2), "save_ratio_vs_fsync_zip": round(save_s / zip_fsync_s, 2),
        "load_ratio": round(load_s / zip_read_s, 2),
    }
    print(f"save {save_s:.3f} s (plain zip {zip_write_s:.3f} s), load {load_s:.3f} s (plain zip {zip_read_s:.3f} s)")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
