"""Canvas benchmark: a page with 60 panels (with images) and 40 balloons, offscreen.

Measures (median of a few repeats):
  frame_ms  - drawing one full frame of the view into a QImage (1200 × 1600 px viewport)
  baseline_frame_ms - the same frame of a bare QGraphicsScene holding the same content (pixmap items of
              the full-size images scaled into clipping frames, balloon path and text items), in a plain
              QGraphicsView with the same size, transform and render hints; frames of both are
              interleaved in the same run, and ``frame_ratio`` is ours over the baseline
  frame_cpu_ms / baseline_frame_cpu_ms - the same frames' CPU time (the thread that draws them):
              what a frame costs whatever else the machine runs
  move20_ms - the whole gesture of dragging 20 selected items: press, 10 mouse moves, release,
              the undo command and the scene update from the document's signal
The last line of output is the figures as JSON.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/canvas.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QBrush, QImage, QPainter, QPen, QPixmap  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import (QApplication, QGraphicsItem, QGraphicsPixmapItem, QGraphicsPolygonItem,  # noqa: E402
                               QGraphicsScene, QGraphicsTextItem, QGraphicsView)

from app import edits, layout  # noqa: E402
from app.document import Document  # noqa: E402
from app.project import Balloon, BalloonKind, Panel, Project, Rect, new_id  # noqa: E402

PANELS, BALLOONS, MOVED, REPEATS = 60, 40, 20, 7


def build_document() -> Document:
    """A4 page, 6 × 10 panels each showing a 768 × 512 image, 40 speech/thought/caption/shout balloons."""
    page = layout.new_page(layout.PAGE_SIZES["A4"])
    cols, rows, g = 6, 10, 2.0
    area = page.safe_rect
    w = (area.w - g * (cols - 1)) / cols
    h = (area.h - g * (rows - 1)) / rows
    rng = np.random.default_rng(0)
    for i in range(PANELS):
        x = area.x + (i % cols) * (w + g)
        y = area.y + (i // cols) * (h + g)
        page.panels.append(Panel(id=new_id("panel"), points=Rect(x, y, w, h).points(), z=i))
    kinds = list(BalloonKind)
    for i in range(BALLOONS):
        x = area.x + (i % 5) * 36 + 3
        y = area.y + (i // 5) * 34 + 4
        kind = kinds[i % len(kinds)]
        tail = (x + 8, y + 22) if kind in (BalloonKind.SPEECH, BalloonKind.THOUGHT) else None
        page.balloons.append(Balloon(id=new_id("balloon"), kind=kind, rect=Rect(x, y, 30, 16),
                                     text=f"Balloon {i}: where did everybody go?", tail=tail, z=1000 + i))
    doc = Document(Project(pages=[page]))
    for i, panel in enumerate(page.panels):
        pixels = (rng.random((512, 768, 3)) * 40 + np.array([i * 4 % 255, 120, 200 - i * 3 % 200])).astype(np.uint8)
        edits.add_variant(doc, panel.id, Image.fromarray(pixels), kind="import")
    doc.undo_stack.clear()
    return doc


def wait_scaled(app: QApplication, view, timeout_s: float = 30.0) -> None:
    """Let the copies scaled off the GUI thread arrive (a zoom step's work, done once)."""
    end = time.perf_counter() + timeout_s
    while view.page_scene.pixmaps.pending and time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)
    app.processEvents()


CPU_MS: dict[int, list[float]] = {}  # id(view) → CPU milliseconds of each timed frame (this thread)


def time_frame(view) -> float:
    """Wall milliseconds of one frame; its CPU time (this thread's: the frame is drawn here) is
    noted in ``CPU_MS``, the steadier figure on a shared machine."""
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)
    c = time.thread_time()
    t = time.perf_counter()
    painter = QPainter(image)
    view.render(painter)
    painter.end()
    wall = (time.perf_counter() - t) * 1000
    CPU_MS.setdefault(id(view), []).append((time.thread_time() - c) * 1000)
    return wall


def bare_view(doc: Document, like) -> QGraphicsView:
    """A plain QGraphicsView over a bare QGraphicsScene of the same page, with ``like``'s size,
    transform and render hints."""
    from app.lettering import _REF_PX, MM_PER_PT, balloon_path, lettering_font, text_rect
    from widgets.canvas import style
    from widgets.canvas.geometry import image_rect, polygon

    page = doc.project.pages[0]
    scene = QGraphicsScene()
    scene.setBackgroundBrush(style.DESK)
    scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
    scene.addRect(QRectF(0, 0, page.width_mm, page.height_mm), QPen(Qt.PenStyle.NoPen), QBrush(Qt.GlobalColor.white))
    for panel in page.panels:
        frame = QGraphicsPolygonItem(polygon(panel.points))
        frame.setPen(QPen(Qt.GlobalColor.black, page.stroke_mm))
        frame.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
        pix = QPixmap.fromImage(QImage.fromData(doc.project.images[panel.image]))
        target = image_rect(panel.bbox, pix.width(), pix.height(), panel.placement)
        art = QGraphicsPixmapItem(pix, frame)
        art.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        art.setPos(target.topLeft())
        art.setScale(target.width() / pix.width())
        scene.addItem(frame)
    for balloon in page.balloons:
        outline = scene.addPath(balloon_path(balloon), QPen(Qt.GlobalColor.black, 0.35), QBrush(Qt.GlobalColor.white))
        outline.setZValue(balloon.z)
        text = QGraphicsTextItem(balloon.text)
        font = lettering_font(balloon.font)
        font.setPixelSize(_REF_PX)
        text.setFont(font)
        k = balloon.font_size * MM_PER_PT / _REF_PX  # the app's text: laid out at a reference size, scaled
        box = text_rect(balloon)
        text.setScale(k)
        text.setTextWidth(box.width() / k)
        text.setPos(box.topLeft())
        text.setZValue(balloon.z + 0.5)
        scene.addItem(text)
    view = QGraphicsView(scene)
    view.bare_scene = scene  # the view does not own its scene
    view.setRenderHints(like.renderHints())
    view.setSceneRect(like.sceneRect())
    view.resize(like.size())
    view.setTransform(like.transform())
    view.show()
    view.centerOn(like.mapToScene(like.viewport().rect().center()))
    return view


def time_move(view, ids: list[str], step: int) -> float:
    scene = view.page_scene
    scene.select_ids(ids)
    first = scene.items_by_id[ids[0]]
    box = first.box
    start = view.mapFromScene(QPointF(box.x + box.w / 2, box.y + box.h / 2))
    viewport = view.viewport()
    t = time.perf_counter()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 11):
        QTest.mouseMove(viewport, start + (start * 0).__class__(k * step, k * step // 2))
    end = start + start.__class__(10 * step, 5 * step)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    QApplication.processEvents()
    return (time.perf_counter() - t) * 1000


def main() -> dict:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from widgets.canvas import PageView

    doc = build_document()
    view = PageView(doc)
    view.resize(1200, 1600)
    view.show()
    app.processEvents()
    view.fit_page()
    app.processEvents()
    time_frame(view)  # warm caches (pixmap decode, glyphs, the copies scaled to this zoom)
    wait_scaled(app, view)
    bare = bare_view(doc, view)
    app.processEvents()
    time_frame(bare)
    frames, baseline = [], []
    CPU_MS.clear()
    for _ in range(REPEATS):  # interleaved, so that a change in the machine's load hits both alike
        frames.append(time_frame(view))
        baseline.append(time_frame(bare))
    frame_cpu, baseline_cpu = CPU_MS[id(view)][:], CPU_MS[id(bare)][:]
    page = doc.project.pages[0]
    ids = [p.id for p in page.panels[:10]] + [b.id for b in page.balloons[:10]]
    moves = []
    for r in range(REPEATS):
        before = doc.undo_stack.count()
        moves.append(time_move(view, ids, 4 if r % 2 == 0 else -4))
        assert doc.undo_stack.count() == before + 1, "a drag must be one undo step"
    frame_after = statistics.median(time_frame(view) for _ in range(3))
    result = {
        "panels": len(page.panels), "balloons": len(page.balloons), "moved_items": len(ids),
        "viewport_px": [view.viewport().width(), view.viewport().height()],
        "frame_ms_median": round(statistics.median(frames), 2),
        "frame_ms_min": round(min(frames), 2),
        "baseline_frame_ms_median": round(statistics.median(baseline), 2),
        "frame_ratio": round(statistics.median(frames) / statistics.median(baseline), 3),
        "frame_cpu_ms_median": round(statistics.median(frame_cpu), 2),
        "baseline_frame_cpu_ms_median": round(statistics.median(baseline_cpu), 2),
        "frame_cpu_ratio": round(statistics.median(frame_cpu) / max(1e-6, statistics.median(baseline_cpu)), 3),
        "load_avg_1min": round(os.getloadavg()[0], 1),
        "move20_gesture_ms_median": round(statistics.median(moves), 2),
        "move20_gesture_ms_max": round(max(moves), 2),
        "frame_after_moves_ms": round(frame_after, 2),
    }
    view.close()
    bare.close()
    return result


if __name__ == "__main__":
    figures = main()
    print(json.dumps(figures))
