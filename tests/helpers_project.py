"""Test helpers for project files: random documents driven through app.edits, raw .comic writers."""

from __future__ import annotations

import copy
import errno
import io
import json
import os
import random
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from app import edits, layout
from app.document import Document
from app.images import encode_png, image_key
from app.project import BalloonKind, Placement, Project, Rect
from app.project_io import MIMETYPE


def tiny_png(rng: random.Random, size: tuple[int, int] | None = None) -> bytes:
    w, h = size or (rng.randint(4, 24), rng.randint(4, 24))
    pixels = np.random.default_rng(rng.getrandbits(32)).integers(0, 255, (h, w, 3), dtype=np.uint8)
    return encode_png(Image.fromarray(pixels, "RGB"))


def saved_book(path: Path) -> Document:
    """A saved two-page document with a balloon, reopened from its file (images read from it)."""
    from app.project import Balloon, new_id
    from app.project_io import load_project, save_project

    doc = Document()
    for _ in range(2):
        page = edits.add_page(doc, layout.PAGE_SIZES["A4"], "grid-2x2")
        for n, panel in enumerate(doc.project.page(page).panels):
            edits.add_variant(doc, panel.id, tiny_png(random.Random(n + 10 * len(doc.project.pages)), (120, 90)), seed=n)
    doc.project.pages[1].balloons.append(Balloon(id=new_id("bal"), kind=BalloonKind.SPEECH,
                                                 rect=Rect(20, 20, 50, 25), text="Hello", tail=(40, 60)))
    save_project(doc.project, path)
    return Document(load_project(path), path)


def solid_png(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    return encode_png(Image.new("RGB", size, color))


def _page_and_panel(doc: Document, rng: random.Random):
    panels = [(page, panel) for page, panel in doc.project.iter_panels()]
    return rng.choice(panels) if panels else (None, None)


def _random_rect(rng: random.Random, page) -> Rect:
    w = rng.uniform(5, page.width_mm / 2)
    h = rng.uniform(5, page.height_mm / 2)
    return Rect(round(rng.uniform(0, page.width_mm - w), 3), round(rng.uniform(0, page.height_mm - h), 3),
                round(w, 3), round(h, 3))


def random_op(doc: Document, rng: random.Random) -> str:
    """Apply one random edit through app.edits (skipping impossible ones); returns its name."""
    project = doc.project
    pages = project.pages
    page = rng.choice(pages) if pages else None
    ops: list[tuple[str, Callable[[], object]]] = [
        ("add_page", lambda: edits.add_page(doc, rng.choice([None, *layout.PAGE_SIZES.values()]),
                                            rng.choice([None, *layout.TEMPLATES]))),
        ("add_card", lambda: edits.add_card(doc, rng.choice(["character", "style"]), f"card {rng.randint(0, 99)}",
                                            [tiny_png(rng) for _ in range(rng.randint(0, 2))])),
        ("project_attrs", lambda: edits.set_project_attrs(doc, dpi=rng.choice([150, 300, 600]),
                                                          title=rng.choice(["", "Tale", "Ünïcode ✓"]))),
    ]
    if page is not None:
        ops += [
            ("add_panel", lambda: edits.add_panel(doc, page.id, _random_rect(rng, page), prompt="a cat")),
            ("add_balloon", lambda: edits.add_balloon(
                doc, page.id, rng.choice(list(BalloonKind)), _random_rect(rng, page), text=rng.choice(["", "Hi!", "Long " * 12]),
                tail=rng.choice([None, (rng.uniform(0, page.width_mm), rng.uniform(0, page.height_mm))]))),
            ("template", lambda: edits.apply_template(doc, page.id, rng.choice(list(layout.TEMPLATES)))),
            ("page_props", lambda: edits.set_page_props(doc, page.id, gutter_mm=rng.choice([2.0, 4.0, 6.5]),
                                                        stroke_mm=rng.choice([0.3, 0.6, 1.2]))),
            ("move_page", lambda: edits.move_page(doc, page.id, rng.randrange(len(pages)))),
            ("remove_page", lambda: edits.remove_page(doc, page.id) if len(pages) > 1 else None),
        ]
        items = [*page.panels, *page.balloons]
        if items:
            item = rng.choice(items)
            ops += [
                ("move", lambda: edits.move_items(doc, page.id, [item.id], rng.uniform(-5, 5), rng.uniform(-5, 5))),
                ("delete", lambda: edits.delete_items(doc, page.id, [item.id])),
                ("z", lambda: edits.set_z_order(doc, page.id, item.id, rng.choice(["front", "back", "up", "down"]))),
            ]
        if page.balloons:
            b = rng.choice(page.balloons)
            ops.append(("balloon", lambda: edits.update_balloon(doc, page.id, b.id, text=rng.choice(["Oh", "No!\nYes"]),
                                                                font_size=rng.choice([7.0, 9.0, 14.0]))))
        if len(page.panels) >= 2:
            two = rng.sample(page.panels, 2)
            ops.append(("merge", lambda: edits.merge_panels(doc, page.id, [p.id for p in two])))
    _, panel = _page_and_panel(doc, rng)
    if panel is not None:
        cards = [*project.characters, *project.styles]
        ops += [
            ("split", lambda: edits.split_panel_evenly(doc, project.find_panel(panel.id)[0].id, panel.id,
                                                       rng.random() < 0.5, rng.uniform(0.3, 0.7))),
            ("fields", lambda: edits.set_panel_fields(doc, panel.id, prompt=rng.choice(["", "a dog", "rain"]),
                                                      seed=rng.choice([None, 1, 2**31]))),
            ("variant", lambda: edits.add_variant(doc, panel.id, tiny_png(rng), seed=rng.randint(0, 9))),
            ("placement", lambda: edits.set_placement(doc, panel.id, Placement(rng.uniform(-9, 9), rng.uniform(-9, 9),
                                                                               rng.uniform(0.5, 3)))),
        ]
        if panel.variants:
            v = rng.choice(panel.variants)
            ops += [("pick", lambda: edits.pick_variant(doc, panel.id, rng.choice([None, v.id]))),
                    ("discard", lambda: edits.discard_variant(doc, panel.id, v.id)),
                    ("favourite", lambda: edits.set_favourite(doc, panel.id, v.id, rng.random() < 0.5))]
        if cards:
            card = rng.choice(cards)
            ops += [("bind", lambda: edits.bind_card(doc, panel.id, card.id)),
                    ("unbind", lambda: edits.unbind_card(doc, panel.id, card.id))]
    if project.characters or project.styles:
        card = rng.choice([*project.characters, *project.styles])
        ops += [("remove_card", lambda: edits.remove_card(doc, card.id)),
                ("add_refs", lambda: edits.add_references(doc, card.id, [tiny_png(rng)]))]
    name, op = rng.choice(ops)
    try:
        op()
    except (ValueError, KeyError):
        return f"{name} (refused)"
    return name


def random_document(seed: int, n_ops: int = 30) -> Document:
    rng = random.Random(seed)
    doc = Document()
    edits.add_page(doc, rng.choice(list(layout.PAGE_SIZES.values())), rng.choice([None, "grid-2x2", "manga-5"]))
    for _ in range(n_ops):
        random_op(doc, rng)
    return doc


def pruned(project: Project) -> Project:
    """The project as a saved file holds it: only referenced images."""
    out = copy.deepcopy(project)
    out.images = {k: v for k, v in project.images.items() if k in project.referenced_images()}
    return out


def write_comic(path: Path, manifest: dict | bytes | str, images: dict[str, bytes] | None = None,
                mimetype: str | None = MIMETYPE, extra: list[tuple[str, bytes]] = (),
                deflate_manifest: bool = True) -> Path:
    """A raw .comic zip, for hostile and old-schema files."""
    with zipfile.ZipFile(path, "w") as zf:
        if mimetype is not None:
            zf.writestr("mimetype", mimetype)
        data = manifest if isinstance(manifest, (bytes, str)) else json.dumps(manifest)
        zf.writestr("manifest.json", data, compress_type=zipfile.ZIP_DEFLATED if deflate_manifest else zipfile.ZIP_STORED)
        for key, png in (images or {}).items():
            zf.writestr(f"images/{key}.png", png)
        for name, payload in extra:
            zf.writestr(zipfile.ZipInfo(name), payload)
    return path


def read_manifest(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("manifest.json"))


def rewrite_manifest(src: Path, dst: Path, change: Callable[[dict], object]) -> Path:
    """Copy a .comic file with its manifest changed by ``change`` (which edits the dict in place)."""
    with zipfile.ZipFile(src) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        images = {n[len("images/"):-4]: zf.read(n) for n in zf.namelist() if n.startswith("images/")}
    change(manifest)
    return write_comic(dst, manifest, images)


def pil_from_png(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


def key_of(png: bytes) -> str:
    return image_key(png)


class FullDisk(io.RawIOBase):
    """A file object that fails with ENOSPC after ``budget`` bytes."""

    def __init__(self, fd: int, budget: int) -> None:
        self.f = os.fdopen(fd, "wb")
        self.budget = budget

    def write(self, data) -> int:
        if self.budget < len(data):
            raise OSError(errno.ENOSPC, "No space left on device")
        self.budget -= len(data)
        return self.f.write(data)

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.f.tell()

    def seek(self, *args) -> int:
        return self.f.seek(*args)

    def flush(self) -> None:
        if not self.f.closed:
            self.f.flush()

    def fileno(self) -> int:
        return self.f.fileno()

    def close(self) -> None:
        self.f.close()
        super().close()


def paused_writer(pause_when: str) -> str:
    """Python source of ``Slow``, a stand-in for ``project_io._open_for_write`` in a subprocess
    script (which imports os and time): when ``pause_when`` holds (an expression over ``self.n``,
    the writes so far, and ``self.total``, the bytes written), it prints WRITING and sleeps, so
    that the test can kill the process in the middle of a save."""
    return f"""
class Slow:
    def __init__(self, fd):
        self.f = os.fdopen(fd, "wb")
        self.n = self.total = 0
    def write(self, data):
        self.n += 1
        if {pause_when}:
            self.f.flush()
            print("WRITING", flush=True)
            time.sleep(60)
        self.total += len(data)
        return self.f.write(data)
    def __getattr__(self, name):
        return getattr(self.f, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.f.close()
"""


def kill_while_saving(script: str, while_paused: Callable[[], None]) -> int:
    """Run ``script`` (which saves with :func:`paused_writer`) in a subprocess, call ``while_paused``
    once it pauses mid-save, then SIGKILL it; returns its exit status."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    try:
        assert proc.stdout.readline().strip() == "WRITING"
        while_paused()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    return proc.returncode
