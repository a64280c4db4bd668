"""Manifest decoding speed: the decoders specialised per dataclass (``manifest.decode``) against the
generic one (``manifest.decode_generic``, the baseline) on the manifests of the bench books, plus the
checks a load runs around them (``check_raw_counts`` before, ``check_project`` after) and the whole of
``manifest_to_project`` (``to_project*_s``; with the generic decoder: ``to_project*_generic_decode_s``).

Reads ``manifest.json`` of ``.cache/bench/book48.comic`` and ``book200.comic`` (made by bench/book.py;
never rebuilt here) with zipfile, and times both decoders on the same data, alternating, ``--repeat``
times each, in CPU time (``time.process_time``): the figures are the fastest run, with the median beside.
The last line is JSON.

Run: ``.venv/bin/python bench/manifest_decode.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import statistics
import sys
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import manifest  # noqa: E402
from app.project import Project  # noqa: E402

BOOKS = {"48": ROOT / ".cache/bench/book48.comic", "200": ROOT / ".cache/bench/book200.comic"}


def read_manifest(path: Path) -> dict:
    """The manifest's data as it is in the file (JSON)."""
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("manifest.json"))


def project_fields(data: dict) -> dict:
    """The manifest's data as a load decodes it: migrated, with the fields ``Project`` decodes."""
    fields = {f.name for f in dataclasses.fields(Project)} - {"images"}
    return {k: v for k, v in manifest.migrate(data).items() if k in fields}


def to_project(data: dict, images: dict, decoder: Callable) -> Project:
    """``manifest.manifest_to_project`` (migrate, count, decode, check) with ``decoder`` as its decode."""
    kept, manifest.decode = manifest.decode, decoder
    try:
        return manifest.manifest_to_project(data, dict(images))
    finally:
        manifest.decode = kept


def cpu_times(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        fn()
        out.append(time.process_time() - start)
    return out


def time_book(name: str, path: Path, repeat: int) -> dict:
    """Both decoders alternating on one book's manifest, then the checks around them."""
    raw = read_manifest(path)
    data = project_fields(raw)
    generic, fast = [], []
    for _ in range(repeat):
        generic += cpu_times(lambda: manifest.decode_generic(Project, data, "manifest"), 1)
        fast += cpu_times(lambda: manifest.decode(Project, data, "manifest"), 1)
    project = manifest.decode(Project, data, "manifest")
    assert project == manifest.decode_generic(Project, data, "manifest")
    keys = project.referenced_images()
    counts = cpu_times(lambda: manifest.check_raw_counts(data), repeat)
    check = cpu_times(lambda: manifest.check_project(project, keys), repeat)
    images = dict.fromkeys(keys, b"")
    whole_generic, whole = [], []
    for _ in range(repeat):
        whole_generic += cpu_times(lambda: to_project(raw, images, manifest.decode_generic), 1)
        whole += cpu_times(lambda: to_project(raw, images, manifest.decode), 1)
    return {f"decode{name}_s": round(min(fast), 4), f"decode{name}_generic_s": round(min(generic), 4),
            f"ratio{name}": round(min(generic) / min(fast), 2),
            f"decode{name}_median_s": round(statistics.median(fast), 4),
            f"decode{name}_generic_median_s": round(statistics.median(generic), 4),
            f"check_project{name}_s": round(min(check), 4), f"check_raw_counts{name}_s": round(min(counts), 4),
            f"to_project{name}_s": round(min(whole), 4), f"to_project{name}_generic_decode_s": round(min(whole_generic), 4),
            f"panels{name}": sum(len(p.panels) for p in project.pages)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    start = time.process_time()
    manifest.decode(Project, {}, "manifest")  # builds the decoders, once a process
    result: dict[str, Any] = {"build_s": round(time.process_time() - start, 4)}
    for name, path in BOOKS.items():
        if not path.exists():
            print(f"{path} is missing: run bench/book.py first", file=sys.stderr)
            continue
        result.update(time_book(name, path, args.repeat))
        print(f"book{name}: {result[f'decode{name}_s']} s against {result[f'decode{name}_generic_s']} s generic "
              f"({result[f'ratio{name}']}×)", file=sys.stderr)
    if "ratio200" in result:
        result["ratio"] = result["ratio200"]
    result["loadavg"] = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None
    print(json.dumps(result))


if __name__ == "__main__":
    main()
