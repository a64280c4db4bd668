"""Screenshot of corner editing (Edit Corners mode) with the sample project.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshot_corners.py [OUT_DIR]

screenshot-corners.png: one panel already slanted by a corner drag, another panel in Edit Corners mode
with its diamond corner handles, a corner half-way through a drag, snapped to a neighbour's edge.
"""

from __future__ import annotations

import sys

from shot_setup import isolated_app, sample_window  # first: puts the repository on sys.path

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtTest import QTest


def main() -> int:
    app, out_dir = isolated_app()
    window = sample_window()

    def pose() -> None:
        from app import edits

        view, scene = window.view, window.view.page_scene
        page = scene.page
        panels = sorted(page.panels, key=lambda p: (round(p.bbox.y), p.bbox.x))
        first = panels[1]
        pts = list(first.points)
        i = max(range(len(pts)), key=lambda k: pts[k][0] + pts[k][1])  # bottom-right corner
        pts[i] = (pts[i][0] - 14, pts[i][1])
        edits.set_geometry(window.doc, page.id, {first.id: pts}, text="Move Corner")
        target = panels[2]
        view.fit_page()
        scene.select_ids([target.id])
        view.set_corner_mode(True)
        tp = list(target.points)
        j = min(range(len(tp)), key=lambda k: tp[k][0] - tp[k][1])  # bottom-left corner
        start = view.mapFromScene(QPointF(*tp[j]))
        QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
        for step in range(1, 7):
            QTest.mouseMove(view.viewport(), view.mapFromScene(QPointF(tp[j][0] + 2.3 * step, tp[j][1] - 0.5 * step)))

    def grab() -> None:
        window.grab().save(str(out_dir / "screenshot-corners.png"))
        print(out_dir)
        app.quit()

    QTimer.singleShot(400, pose)
    QTimer.singleShot(1400, grab)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
