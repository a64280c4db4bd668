"""Screenshot of the window while generating: Job Queue dock with progress and a live preview,
a mask painted on a panel for Vary Region, on tiny random-weight models (CPU, offline).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshot_generate.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from shot_setup import isolated_app, sample_window  # first: puts the repository on sys.path

from PySide6.QtCore import QPointF, QSettings, Qt, QTimer
from PySide6.QtTest import QTest


def main() -> int:
    app, out_dir = isolated_app()
    from tests.tiny_models import write_diffusers_model

    models = Path(tempfile.mkdtemp())
    write_diffusers_model(models / "checkpoints" / "tiny-sd")
    settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Panelsmith", "Panelsmith")
    settings.setValue("engine/modelsDir", str(models))
    settings.setValue("engine/device", "cpu")
    settings.sync()
    window = sample_window()
    gen = window.generation
    state: dict = {}

    def first() -> None:
        window.doc.project.settings.update({"model": "tiny-sd", "scheduler": "euler"})
        page = window.view.page_scene.page
        state["panel"] = page.panels_in_reading_order()[4].id  # the coffee cup: a real photo to mask
        state["jobs"] = gen.queue.submit_panels([page.panels_in_reading_order()[0].id],
                                                overrides={"steps": 3, "seed": 11})
        poll()

    def poll() -> None:
        if all(gen.queue.jobs[j].finished for j in state["jobs"]):
            paint()
        else:
            QTimer.singleShot(100, poll)

    def paint() -> None:
        view = window.view
        view.page_scene.select_ids([state["panel"]])
        gen.act_mask_tool.trigger()
        gen.brush_size.setValue(60)
        box = window.doc.project.find_panel(state["panel"])[1].bbox
        pts = [QPointF(box.x + box.w * fx, box.y + box.h * fy) for fx, fy in
               ((0.3, 0.3), (0.45, 0.28), (0.6, 0.32), (0.68, 0.4))]
        vp = view.viewport()
        QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.mapFromScene(pts[0]))
        for p in pts[1:]:
            QTest.mouseMove(vp, view.mapFromScene(p))
        QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view.mapFromScene(pts[-1]))
        gen.region_prompt.setText("a steaming teapot")
        gen.repeat.setValue(1)
        page = view.page_scene.page
        others = [p.id for p in page.panels_in_reading_order()[1:4]]
        state["page"] = gen.queue.submit_panels(others, overrides={"steps": 400})
        wait_running()

    def wait_running() -> None:
        job = gen.queue.jobs[state["page"][0]]
        if job.step >= 25 and job.preview is not None:
            window.grab().save(str(out_dir / "screenshot-generate.png"))
            print(out_dir / "screenshot-generate.png")
            window.doc.undo_stack.setClean()
            window.close()
            app.quit()
        else:
            QTimer.singleShot(100, wait_running)

    QTimer.singleShot(500, first)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
