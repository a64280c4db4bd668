"""Book-scale operation figures for bench/book.py: one move's undo cost and a 48-page CBZ export.

``measure_move`` builds (or takes) a page of 6 panels × N variants and times ``edits.move_items`` of all
six panels, with the undo memory one step adds (tracemalloc, after the step's garbage is collected).
``measure_cbz48`` exports a project to CBZ at its own dpi and times it. Run alone it prints both, as
JSON on the last line (the CBZ project is built from the pictures shipped with scikit-image /
matplotlib, public domain or freely licensed sample images, 48 pages × 6 panels of 1024² art).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/book_ops.py
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from app import edits, layout  # noqa: E402
from app.document import Document  # noqa: E402
from app.images import encode_png  # noqa: E402

SAMPLE_DIRS = ("skimage/data", "matplotlib/mpl-data/sample_data")
SAMPLE_NAMES = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
                "hubble_deep_field.jpg", "grace_hopper.jpg", "retina.jpg", "brick.png", "gravel.png")


def sample_pictures(count: int, size: int = 1024) -> list[bytes]:
    """``count`` PNGs of ``size``² made from the sample photographs of installed packages."""
    found: list[Path] = []
    for entry in sys.path:
        for sub in SAMPLE_DIRS:
            folder = Path(entry) / sub
            found += [folder / n for n in SAMPLE_NAMES if (folder / n).is_file()]
    if not found:
        raise SystemExit("no sample pictures found (scikit-image or matplotlib sample data)")
    out = []
    for i in range(count):
        with Image.open(found[i % len(found)]) as img:
            img = img.convert("RGB")
        w, h = img.size
        side = min(w, h)
        # a different crop per use, so that no two images are the same bytes
        shift = (i // len(found)) * 7 % max(1, (max(w, h) - side) or 1)
        box = (shift, 0, shift + side, side) if w >= h else (0, shift, side, shift + side)
        out.append(encode_png(img.crop(box).resize((size, size), Image.Resampling.LANCZOS)))
    return out


def move_document(variants: int = 4, image: bytes | None = None) -> tuple[Document, str, list[str]]:
    """One A4 page of 6 panels, each with ``variants`` images in its history."""
    doc = Document()
    page_id = edits.add_page(doc, layout.PAGE_SIZES["A4"], "grid-2x3")
    png = image or encode_png(Image.new("RGB", (64, 64), (90, 120, 150)))
    panel_ids = [p.id for p in doc.project.page(page_id).panels]
    for n, pid in enumerate(panel_ids):
        edits.add_variants(doc, pid, [(png, n * 100 + k) for k in range(variants)], kind="generate",
                           prompt="a lighthouse at dusk, " * 4, params={"steps": 30, "guidance": 5.0})
    doc.undo_stack.clear()
    return doc, page_id, panel_ids


def measure_move(variants: int = 4, moves: int = 60) -> dict[str, float]:
    """``move_ms``: median time of one move of all 6 panels (one undo step); ``move_undo_kb``: the memory
    one such step keeps (mean over ``moves`` steps, measured in a second run under tracemalloc)."""
    doc, page_id, ids = move_document(variants)
    times = []
    for i in range(moves):
        d = 0.5 if i % 2 == 0 else -0.25
        t = time.perf_counter()
        edits.move_items(doc, page_id, ids, d, d)
        times.append(time.perf_counter() - t)
    doc, page_id, ids = move_document(variants)
    gc.collect()
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    for i in range(moves):
        d = 0.5 if i % 2 == 0 else -0.25
        edits.move_items(doc, page_id, ids, d, d)
    gc.collect()
    end, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    steps = doc.undo_stack.count()
    return {"move_ms": round(statistics.median(times) * 1000, 3),
            "move_undo_kb": round((end - start) / 1024 / max(1, steps), 2)}


def measure_move_baseline(moves: int = 60) -> dict[str, float]:
    """The floor of one undo step: a bare QUndoCommand that moves six plain records (no document),
    pushed on a QUndoStack; ``move_baseline_ms`` is its median time."""
    from PySide6.QtGui import QUndoCommand, QUndoStack

    class Move(QUndoCommand):
        def __init__(self, items: list[list[float]], d: float) -> None:
            super().__init__("move")
            self.items, self.d = items, d

        def redo(self) -> None:
            for item in self.items:
                item[0] += self.d
                item[1] += self.d

        def undo(self) -> None:
            for item in self.items:
                item[0] -= self.d
                item[1] -= self.d

    stack, items, times = QUndoStack(), [[0.0, 0.0] for _ in range(6)], []
    for i in range(moves):
        t = time.perf_counter()
        stack.push(Move(items, 0.5 if i % 2 == 0 else -0.25))
        times.append(time.perf_counter() - t)
    return {"move_baseline_ms": round(statistics.median(times) * 1000, 4)}


def measure_cbz48(project_path: str | os.PathLike, out: str | os.PathLike | None = None) -> dict[str, float]:
    """``cbz48_s``: seconds to export the project at ``project_path`` as a CBZ (at the project's dpi);
    ``cbz48_cpu_s``: the CPU seconds of this process meanwhile (all its threads)."""
    from app.export import export_cbz
    from app.project_io import load_project

    project = load_project(project_path)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(out) if out else Path(tmp) / "book.cbz"
        t, cpu = time.perf_counter(), time.process_time()
        export_cbz(project, target)
        return {"cbz48_s": round(time.perf_counter() - t, 2), "cbz48_cpu_s": round(time.process_time() - cpu, 2),
                "cbz48_mb": round(target.stat().st_size / 1e6, 1)}


def build_book(path: str | os.PathLike, pages: int = 48, dpi: int = 300) -> Path:
    """A ``pages``-page project of 6 panels each showing a 1024² sample picture, saved at ``path``."""
    from app.project_io import save_project

    pictures = sample_pictures(pages * 6)
    doc = Document()
    page_ids = edits.add_pages(doc, pages, layout.PAGE_SIZES["A4"], "grid-2x3")
    n = 0
    for page_id in page_ids:
        for panel in list(doc.project.page(page_id).panels):
            edits.add_variant(doc, panel.id, pictures[n], seed=n)
            n += 1
    edits.set_project_attrs(doc, dpi=dpi)
    save_project(doc.project, path)
    return Path(path)


def main() -> None:
    figures: dict[str, float] = {}
    figures.update(measure_move(4))
    many = measure_move(20)
    figures["move_ms_20_variants"] = many["move_ms"]
    figures["move_undo_kb_20_variants"] = many["move_undo_kb"]
    if "--no-cbz" not in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            book = build_book(Path(tmp) / "book48.comic")
            figures.update(measure_cbz48(book))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
