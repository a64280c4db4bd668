"""A real-sized book: open, save after a small change, autosave, Ctrl+S, ``info``, one move and CBZ export.

The books (6 panels a page, each with a 1024 × 1024 illustration; 3 character cards bound to 4
panels a page, with the consistency scores stored as generation stores them; one balloon a page)
are built once from public-domain pictures shipped with installed packages (``skimage.data``,
matplotlib's sample data): crops, flips, tiles and colour shifts of them, not random noise. They
are cached under ``.cache/bench/``. Every figure is measured next to a plain baseline in the same
run where there is one, each opening in a fresh process (its peak memory is that process's). The
last line is JSON with (at least) the keys ``open48_s``, ``open48_baseline_s``, ``open200_s``,
``open200_baseline_s``, ``open200_peak_mb``, ``save_change48_s``, ``save_change200_s``,
``autosave_max_gap_ms``, ``info_bound48_s``, ``move_ms``, ``move_undo_kb`` and ``cbz48_s`` (one
move of 6 panels × 4 variants as an undo step, and CBZ export of the 48 pages at 300 dpi, from
``bench/book_ops.py``); ``save48_max_gap_ms`` / ``save48_full_max_gap_ms`` are the longest
event-loop gaps while the window saves (Ctrl+S's action) after a one-balloon change, appended and
rewritten whole (Save As). Before the openings the measured checkout's modules are byte-compiled,
as an installed app's are (``open_byte_compiled``): the bare window's modules are compiled too.

``cbz48_cpu_s`` is the export's CPU seconds (all threads); ``--parts cbz1`` adds the same export held to
one CPU (``cbz48_one_core_s``, ``cbz48_one_core_cpu_s``), the baseline for its use of both cores.

Run: ``.venv/bin/python bench/book.py [--pages 48 200] [--parts open save autosave info ops cbz1]``
(``BOOK_CODE=<checkout>`` runs another checkout's code on the same books, for a before/after comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# BOOK_CODE=<another checkout> measures that checkout's code on the same books (a "before" figure).
CODE = Path(os.environ.get("BOOK_CODE") or ROOT)
sys.path.insert(0, str(CODE))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
CACHE = ROOT / ".cache" / "bench"
SIZE = 1024
PY = sys.executable


# --- building the books ------------------------------------------------------------------------------------

def _sources() -> list:
    """Public-domain pictures from installed packages, as RGB arrays."""
    import matplotlib.cbook
    import numpy as np
    import skimage.data
    from PIL import Image

    pics = []
    for name in ("astronaut", "coffee", "chelsea", "rocket", "cat", "retina", "immunohistochemistry",
                 "hubble_deep_field", "colorwheel"):
        a = getattr(skimage.data, name)()
        if a.ndim == 2:
            a = np.stack([a] * 3, -1)
        pics.append(np.asarray(Image.fromarray(a[..., :3]).convert("RGB")))
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        pics.append(np.asarray(Image.open(f).convert("RGB")))
    return pics


def _illustration(n: int) -> tuple[bytes, bytes | None]:
    """Picture ``n``: a crop (or 2×2 tile) of a source, flipped and colour-shifted; PNG bytes and the
    screen preview the application makes of an image it takes in (``app.images.stored_form``)."""
    import numpy as np
    from PIL import Image

    from app import image_previews
    from app.images import encode_png

    pics = _illustration.pics  # type: ignore[attr-defined]
    rng = np.random.default_rng(n)
    src = pics[n % len(pics)]
    h, w = src.shape[:2]
    side = int(min(h, w) * rng.uniform(0.45, 1.0))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = Image.fromarray(src[y:y + side, x:x + side])
    if n % 5 == 4:  # a tile of four crops of two pictures
        other = Image.fromarray(pics[(n * 7 + 3) % len(pics)]).resize((SIZE // 2, SIZE // 2))
        half = crop.resize((SIZE // 2, SIZE // 2))
        img = Image.new("RGB", (SIZE, SIZE))
        for i, part in enumerate((half, other, other.transpose(Image.Transpose.FLIP_LEFT_RIGHT), half)):
            img.paste(part, ((i % 2) * SIZE // 2, (i // 2) * SIZE // 2))
    else:
        img = crop.resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    gains = rng.uniform(0.75, 1.2, 3)
    arr = np.clip(np.asarray(img, dtype=np.float32) * gains + rng.uniform(-20, 20, 3), 0, 255).astype(np.uint8)
    picture = Image.fromarray(arr, "RGB")
    return encode_png(picture), image_previews.make(picture)


def _preview_of(png: bytes) -> bytes | None:
    """The preview of a stored image (for a book cached before previews were kept)."""
    from app import image_previews
    from app.images import decode_png

    return image_previews.make(decode_png(png))


def _add_previews(path: Path) -> None:
    """Give a book cached before the application kept image previews the previews it would have
    made when its images were taken in (an appending save, as the window's)."""
    from concurrent.futures import ProcessPoolExecutor

    from app import image_previews
    from app.project_io import load_project, save_project

    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
    project = load_project(path)
    keys = [k for k in project.images if image_previews.entry_name(k) not in names]
    if not keys:
        return
    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        for key, jpg in zip(keys, pool.map(_preview_of, (project.images[k] for k in keys), chunksize=4)):
            if jpg:
                image_previews.remember(key, jpg)
    save_project(project, path, backup=False)
    print(f"{path.name}: {len(keys)} previews added in {time.perf_counter() - t:.0f} s", file=sys.stderr)


def _init_worker() -> None:
    _illustration.pics = _sources()  # type: ignore[attr-defined]


def build(pages: int) -> Path:
    """The cached book of ``pages`` pages (built on first use)."""
    path = CACHE / f"book{pages}.comic"
    if path.exists():
        if (CODE / "app" / "image_previews.py").exists():  # not for an older checkout (BOOK_CODE)
            _add_previews(path)
        return path
    from concurrent.futures import ProcessPoolExecutor

    from app import image_previews, layout
    from app.image_store import ImageStore
    from app.images import image_key
    from app.project import Balloon, BalloonKind, CardBinding, CharacterCard, Project, Rect, Reference, Variant, new_id
    from app.project_io import save_project

    CACHE.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    n_images = pages * 6 + 3
    with ProcessPoolExecutor(max_workers=max(1, os.cpu_count() or 1), initializer=_init_worker) as pool:
        made = list(pool.map(_illustration, range(n_images), chunksize=4))
    project = Project(title=f"book {pages}", images=ImageStore())
    pngs = [png for png, _ in made]
    for png, preview in made:
        project.images[image_key(png)] = png
        if preview:
            image_previews.remember(image_key(png), preview)
    keys = [image_key(p) for p in pngs]
    cards = [CharacterCard(id=new_id("char"), name=name, references=[Reference(image=keys[-1 - i])])
             for i, name in enumerate(("Ada", "Ben", "Cleo"))]
    project.characters = cards
    for p in range(pages):
        page = layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x3")
        for i, panel in enumerate(page.panels):
            variant = Variant(id=new_id("var"), image=keys[p * 6 + i], seed=p * 6 + i, prompt="a scene")
            panel.variants.append(variant)
            panel.current = variant.id
            if i < 4:  # 4 bound panels a page, scored at generation as the queue does
                card = cards[(p + i) % 3]
                panel.characters.append(CardBinding(card=card.id, weight=80))
                variant.params["identity"] = [{"card": card.id, "score": round(0.5 + 0.01 * (i + p % 30), 4)}]
        page.balloons.append(Balloon(id=new_id("bal"), kind=BalloonKind.SPEECH, rect=Rect(20, 20, 50, 25),
                                     text=f"Page {p + 1}!", tail=(40, 60)))
        project.pages.append(page)
    tmp = path.with_suffix(".tmp.comic")
    save_project(project, tmp, backup=False)
    os.replace(tmp, path)
    print(f"built {path.name}: {n_images} images, {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s",
          file=sys.stderr)
    return path


# --- children (each in a fresh process) -----------------------------------------------------------------------

def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM (ru_maxrss may carry the parent's peak across fork and exec)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _first_frame(view_widget) -> None:
    """Process events until ``view_widget``'s viewport has painted once."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    painted = []

    class Spy(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                painted.append(True)
            return False

    spy = Spy()
    view_widget.viewport().installEventFilter(spy)
    deadline = time.perf_counter() + 600
    while not painted and time.perf_counter() < deadline:
        QApplication.processEvents()
    # and the events already queued (what the user would wait for before the window responds)
    for _ in range(3):
        QApplication.processEvents()
    view_widget.viewport().removeEventFilter(spy)


def _frame_clock() -> dict:
    """When the first frame was reached (wall clock, for the parent to subtract its spawn time from)
    and the process's CPU seconds until then."""
    return {"first_frame_at": time.time(), "cpu_to_frame_s": round(time.process_time(), 3)}


def child_open(path: str) -> dict:
    from PySide6.QtWidgets import QApplication

    from widgets.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.resize(1400, 900)
    window.load(path, offer_recovery=False, keep_path=False)
    window.show()
    _first_frame(window.view)
    figures = {"peak_mb": _peak_mb(), **_frame_clock()}
    del app
    return figures


def child_baseline(path: str) -> dict:
    """A bare window showing page 1's six images (read from the same file with zipfile)."""
    from PySide6.QtGui import QImage, QPixmap
    from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView, QMainWindow

    app = QApplication.instance() or QApplication([])
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        page = manifest["pages"][0]
        keys = [v["image"] for panel in page["panels"] for v in panel["variants"] if v["id"] == panel["current"]]
        scene = QGraphicsScene()
        for i, key in enumerate(keys):
            item = scene.addPixmap(QPixmap.fromImage(QImage.fromData(zf.read(f"images/{key}.png"))))
            item.setScale(0.25)
            item.setPos((i % 2) * 270, (i // 2) * 270)
    window = QMainWindow()
    view = QGraphicsView(scene)
    window.setCentralWidget(view)
    window.resize(1400, 900)
    window.show()
    _first_frame(view)
    figures = {"peak_mb": _peak_mb(), **_frame_clock()}
    del app
    return figures


def child_autosave(path: str) -> dict:
    """The longest event-loop gaps of the window on a changed book: an edit then at once the autosave
    (the first of the session; ``autosave_max_gap_ms``), the same again (a later autosave), the edit
    alone, and the same loop with nothing to do (the baseline: what this machine's load alone
    gives). Each window of time lasts until the autosave is written and at least 1 s, so that the
    edit's own aftermath (canvas, Pages dock, other docks) falls inside it."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app import edits
    from widgets.main_window import MainWindow

    os.environ["PANELSMITH_RECOVERY_DIR"] = tempfile.mkdtemp(prefix="bench-recovery-")
    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.load(path, offer_recovery=False)
    window.show()
    _first_frame(window.view)
    wait = QEventLoop.ProcessEventsFlag.WaitForMoreEvents  # sleep between events, as app.exec() does
    settle = time.perf_counter()
    while time.perf_counter() - settle < 1.0:
        app.processEvents()
    saver = window.autosave
    start = getattr(saver, "autosave_in_background", saver.autosave_now)  # the timer's slot
    busy = getattr(saver, "busy", lambda: False)
    clock, gaps = QElapsedTimer(), []

    def tick() -> None:
        gaps.append(clock.restart())
    timer = QTimer(interval=1, timeout=tick)
    timer.start()
    clock.start()

    def window_of(edit: bool, autosave: bool) -> tuple[int, float, float]:
        """(longest gap ms, GUI thread CPU s, autosave wall s) of one window of time."""
        for _ in range(20):
            app.processEvents()
        gaps.clear()
        clock.restart()
        t, cpu = time.perf_counter(), time.thread_time()
        if edit:
            page = window.doc.project.pages[0]
            edits.move_items(window.doc, page.id, [page.balloons[0].id], 3.0, 2.0)
        if autosave:
            start()
        written = None
        while busy() or time.perf_counter() - t < 1.0:
            app.processEvents(wait)
            if written is None and not busy():
                written = time.perf_counter() - t
        tick()
        return max(gaps), time.thread_time() - cpu, written or 0.0

    base_gap, base_cpu, _ = window_of(edit=False, autosave=False)
    first_gap, first_cpu, first_s = window_of(edit=True, autosave=True)
    again_gap, again_cpu, again_s = window_of(edit=True, autosave=True)
    edit_gap, edit_cpu, _ = window_of(edit=True, autosave=False)
    timer.stop()
    shutil.rmtree(os.environ["PANELSMITH_RECOVERY_DIR"], ignore_errors=True)
    return {"max_gap_ms": first_gap, "gui_cpu_s": round(first_cpu, 3), "autosave_s": round(first_s, 3),
            "again_max_gap_ms": again_gap, "again_gui_cpu_s": round(again_cpu, 3), "again_s": round(again_s, 3),
            "edit_max_gap_ms": edit_gap, "edit_gui_cpu_s": round(edit_cpu, 3),
            "baseline_max_gap_ms": base_gap, "baseline_gui_cpu_s": round(base_cpu, 3)}  # noqa: E501


def child_save(path: str) -> dict:
    """The longest event-loop gaps while the window saves a changed book through its Save action:
    appended (a copy of the book opened from the file), then rewritten whole (compacted)."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from app import edits
    from widgets.main_window import MainWindow

    os.environ["PANELSMITH_RECOVERY_DIR"] = tempfile.mkdtemp(prefix="bench-recovery-")
    work = Path(tempfile.mkdtemp(prefix="bench-save-", dir=CACHE)) / Path(path).name
    shutil.copyfile(path, work)
    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.load(work, offer_recovery=False)
    window.show()
    _first_frame(window.view)
    settle = time.perf_counter()  # the opening's own aftermath (page thumbnails, card pictures) first
    while time.perf_counter() - settle < 1.0:
        app.processEvents()
    out = {}
    for key, run in (("save48_max_gap_ms", window.save),
                     ("save48_full_max_gap_ms", lambda: window._save_to(work, compact=True))):
        for _ in range(20):
            app.processEvents()
        page = window.doc.project.pages[len(window.doc.project.pages) // 2]
        edits.move_items(window.doc, page.id, [page.balloons[0].id], 3.0, 2.0)
        clock, gaps = QElapsedTimer(), []

        def tick() -> None:
            gaps.append(clock.restart())
        timer = QTimer(interval=1, timeout=tick)
        timer.start()
        for _ in range(5):
            app.processEvents()
        gaps.clear()
        clock.start()
        t = time.perf_counter()
        assert run() and not window.doc.modified
        out[key.replace("max_gap_ms", "s")] = round(time.perf_counter() - t, 3)
        tick()
        timer.stop()
        out[key] = max(gaps)
    window.doc.undo_stack.setClean()
    window.close()
    shutil.rmtree(work.parent, ignore_errors=True)
    shutil.rmtree(os.environ["PANELSMITH_RECOVERY_DIR"], ignore_errors=True)
    return out


def child_ops(path: str) -> dict:
    """``bench/book_ops.py``: one move as an undo step (6 panels × 4 variants) and CBZ export of the book."""
    sys.path.insert(0, str(CODE / "bench"))
    import book_ops

    out = dict(book_ops.measure_move(4))
    out.update(book_ops.measure_move_baseline())
    out.update(book_ops.measure_cbz48(path))
    return out


def child_cbz_one_core(path: str) -> dict:
    """CBZ export of the book with this process held to one CPU (the baseline for the export's use of
    both cores): ``cbz48_one_core_s`` and its CPU seconds."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    sys.path.insert(0, str(CODE / "bench"))
    import book_ops

    out = book_ops.measure_cbz48(path)
    return {"cbz48_one_core_s": out["cbz48_s"], "cbz48_one_core_cpu_s": out["cbz48_cpu_s"]}


def child(kind: str, path: str) -> int:
    out = {"open": child_open, "baseline": child_baseline, "autosave": child_autosave, "save": child_save,
           "ops": child_ops, "cbz1": child_cbz_one_core}[kind](path)
    print(json.dumps(out))
    return 0


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def byte_compile() -> None:
    """Byte-compile the measured checkout's modules, as installing the app does (pip writes the
    ``.pyc`` files): run with ``PYTHONDONTWRITEBYTECODE=1``, a checkout would otherwise compile its
    ~120 modules from source at every start, which the bare window (compiled site-packages) never does."""
    import compileall

    for part in ("app", "engine", "widgets"):
        compileall.compile_dir(str(CODE / part), quiet=1)


def in_child(kind: str, path: Path) -> tuple[float, dict]:
    """Wall time of a fresh process doing ``kind`` (interpreter start included on both sides); the
    child's CPU seconds are added to its figures as ``cpu_s`` (this machine is shared: CPU time is
    the steadier figure). An opening child also reports when it reached its first frame: its
    figures then get ``to_frame_s``, from the spawn to that frame (process exit not included)."""
    t, cpu, spawned = time.perf_counter(), _children_cpu(), time.time()
    done = subprocess.run([PY, __file__, "--child", kind, str(path)], capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed: {done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if "first_frame_at" in figures:
        figures["to_frame_s"] = figures.pop("first_frame_at") - spawned
    return wall, {**figures, "cpu_s": round(_children_cpu() - cpu, 3)}


def open_figures(path: Path, repeats: int) -> dict:
    """Open the book and the bare window ``repeats`` times each, alternating (this machine is noisy);
    the medians. ``open_s`` is from the spawn to the first frame; ``process_s`` the whole process
    (exit included); ``cpu_s`` the whole process's CPU, ``cpu_to_frame_s`` until the first frame."""
    runs: dict[str, list[dict]] = {"open": [], "baseline": []}
    for _ in range(repeats):
        for kind in ("baseline", "open"):
            wall, figures = in_child(kind, path)
            runs[kind].append({**figures, "process_s": wall})

    def median(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    return {kind: {key: median(kind, key) for key in ("to_frame_s", "process_s", "cpu_s", "cpu_to_frame_s", "peak_mb")}
            for kind in runs}


# --- in-process figures ----------------------------------------------------------------------------------------

def save_change(path: Path, folder: Path) -> tuple[float, float, float]:
    """Save after moving one balloon (wall and CPU seconds: this machine is shared), and the
    baseline: appending the changed manifest to a file."""
    from app import edits
    from app.document import Document
    from app.project_io import load_project, project_to_manifest, save_project

    work = folder / path.name
    shutil.copyfile(path, work)
    doc = Document(load_project(work), work)
    page = doc.project.pages[len(doc.project.pages) // 2]
    edits.move_items(doc, page.id, [page.balloons[0].id], 2.0, 1.0)
    # as the window saves: with the document's page encodings (an older checkout has none)
    kw = {"encodings": doc.page_encodings} if hasattr(doc, "page_encodings") else {}
    save_project(doc.project, work, **kw)  # the first save after opening may draw the file's cover again
    edits.move_items(doc, page.id, [page.balloons[0].id], 2.0, 1.0)
    t, cpu = time.perf_counter(), time.process_time()
    save_project(doc.project, work, **kw)
    save_s, cpu_s = time.perf_counter() - t, time.process_time() - cpu
    manifest = json.dumps(project_to_manifest(doc.project), separators=(",", ":")).encode()
    t = time.perf_counter()
    with open(folder / "append.bin", "ab") as f:
        f.write(manifest)
        f.flush()
        os.fsync(f.fileno())
    return save_s, time.perf_counter() - t, cpu_s


def info_times(path: Path) -> tuple[float, float, float, float]:
    """``main.py info`` in a fresh process, and the baseline: manifest + PNG headers with zipfile
    (in a fresh process too); wall and CPU seconds of each."""
    t, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run([PY, str(CODE / "main.py"), "info", str(path)], capture_output=True, text=True, timeout=1800)
    info_s, info_cpu = time.perf_counter() - t, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"info failed: {done.stderr[-2000:]}")
    code = ("import json,sys,zipfile\nzf=zipfile.ZipFile(sys.argv[1]);m=json.loads(zf.read('manifest.json'))\n"
            "h=[zf.open(n).read(33) for n in zf.namelist() if n.startswith('images/')]\nprint(len(m['pages']),len(h))")
    t, cpu = time.perf_counter(), _children_cpu()
    subprocess.run([PY, "-c", code, str(path)], check=True, capture_output=True, timeout=600)
    return info_s, time.perf_counter() - t, info_cpu, _children_cpu() - cpu


PARTS = ("open", "save", "autosave", "info", "ops", "cbz1")  # cbz1: only when asked for


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[48, 200])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS[:-1]),
                        help="measure only these (save: save_change*, and the window's save gaps at 48 pages; "
                             "cbz1: the CBZ export held to one CPU, not measured unless asked for)")
    parser.add_argument("--repeats", type=int, default=3, help="openings of each side (alternating; medians)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    result: dict = {"load_avg_1min": round(os.getloadavg()[0], 1)}
    parts = set(args.parts)
    for pages in args.pages:
        path = build(pages)
        tag = str(pages)
        if "open" in parts:
            byte_compile()
            result["open_byte_compiled"] = True
            figures = open_figures(path, args.repeats)
            opened, base = figures["open"], figures["baseline"]
            result[f"open{tag}_s"] = round(opened["to_frame_s"], 3)
            result[f"open{tag}_baseline_s"] = round(base["to_frame_s"], 3)
            result[f"open{tag}_ratio"] = round(opened["to_frame_s"] / base["to_frame_s"], 2)
            result[f"open{tag}_process_s"] = round(opened["process_s"], 3)
            result[f"open{tag}_baseline_process_s"] = round(base["process_s"], 3)
            result[f"open{tag}_cpu_s"] = round(opened["cpu_s"], 3)
            result[f"open{tag}_baseline_cpu_s"] = round(base["cpu_s"], 3)
            result[f"open{tag}_cpu_to_frame_s"] = round(opened["cpu_to_frame_s"], 3)
            result[f"open{tag}_baseline_cpu_to_frame_s"] = round(base["cpu_to_frame_s"], 3)
            result[f"open{tag}_peak_mb"] = round(opened["peak_mb"], 1)
            result[f"open{tag}_baseline_peak_mb"] = round(base["peak_mb"], 1)
        if "save" in parts:
            with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                save_s, append_s, cpu_s = save_change(path, Path(tmp))
            result[f"save_change{tag}_s"] = round(save_s, 3)
            result[f"save_change{tag}_cpu_s"] = round(cpu_s, 3)
            result[f"save_change{tag}_baseline_s"] = round(append_s, 4)
        if pages == 48:
            if "autosave" in parts:
                _, auto = in_child("autosave", path)
                result["autosave_max_gap_ms"] = auto["max_gap_ms"]
                result["autosave_baseline_max_gap_ms"] = auto.get("baseline_max_gap_ms")
                result["autosave_write_s"] = auto.get("autosave_s")
                result["autosave_gui_cpu_s"] = auto.get("gui_cpu_s")
                result["autosave_again_max_gap_ms"] = auto.get("again_max_gap_ms")
                result["autosave_again_write_s"] = auto.get("again_s")
                result["edit_max_gap_ms"] = auto.get("edit_max_gap_ms")
                result["edit_gui_cpu_s"] = auto.get("edit_gui_cpu_s")
                result["autosave_baseline_gui_cpu_s"] = auto.get("baseline_gui_cpu_s")
                result["autosave_child_cpu_s"] = auto["cpu_s"]
            if "save" in parts:
                _, saved = in_child("save", path)
                saved.pop("cpu_s")
                result.update(saved)
            if "info" in parts:
                info_s, info_base, info_cpu, base_cpu = info_times(path)
                result["info_bound48_s"] = round(info_s, 3)
                result["info_bound48_baseline_s"] = round(info_base, 3)
                result["info_bound48_cpu_s"] = round(info_cpu, 3)
                result["info_bound48_baseline_cpu_s"] = round(base_cpu, 3)
            if "ops" in parts:
                _, ops = in_child("ops", path)
                ops.pop("cpu_s")
                result.update(ops)
                result["cbz48_load_avg_1min"] = round(os.getloadavg()[0], 1)
            if "cbz1" in parts:
                _, one = in_child("cbz1", path)
                one.pop("cpu_s")
                result.update(one)
                result["cbz48_one_core_load_avg_1min"] = round(os.getloadavg()[0], 1)
        print(f"{pages} pages: " + ", ".join(f"{k}={v}" for k, v in result.items() if k.startswith(
            (f"open{tag}", f"save_change{tag}"))), file=sys.stderr)
    result["load_avg_1min_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
