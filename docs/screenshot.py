"""Take the README screenshots of the real main window with the sample project.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshot.py [OUT_DIR]

screenshot.png: a panel selected, reading order shown. screenshot-editing.png: zoomed in, a speech
balloon's text being typed in place and the frame knife half-way across a panel, with its snap guide.
"""

from __future__ import annotations

import sys

from shot_setup import isolated_app, sample_window  # first: puts the repository on sys.path

from PySide6.QtCore import QTimer


def main() -> int:
    app, out_dir = isolated_app()
    window = sample_window()

    def pose() -> None:
        scene = window.view.page_scene
        page = scene.page
        if page is not None and page.panels:
            bound = [p for p in page.panels if p.characters or p.styles]
            scene.select_ids([(bound or page.panels)[0].id])
        window.act_order.setChecked(True)
        window.view.fit_page()

    def grab_main() -> None:
        window.grab().save(str(out_dir / "screenshot.png"))

    def pose_editing() -> None:
        from PySide6.QtCore import QPointF, Qt
        from PySide6.QtTest import QTest

        from app import edits
        from app.project import Rect
        from widgets.canvas import Tool

        view, scene = window.view, window.view.page_scene
        page = scene.page
        window.act_order.setChecked(False)
        panel = page.panels[3]
        b = panel.bbox
        bid = edits.add_balloon(window.doc, page.id, "speech", Rect(b.x + 6, b.y + 6, 44, 22), "", (b.x + 20, b.y + 40))
        view.set_zoom_percent(110)
        view.centerOn(b.x + b.w / 2, b.y + b.h / 2)
        view.edit_balloon_text(bid)
        QTest.keyClicks(view.viewport(), "Is that a footprint? Nobody has been here for years")
        view.set_tool(Tool.KNIFE)
        knife = view.mapFromScene(QPointF(b.x - 4, b.y + b.h * 0.62))
        QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, knife)
        end = view.mapFromScene(QPointF(b.right + 4, b.y + b.h * 0.55))
        QTest.mouseMove(view.viewport(), end)
        scene.snap_guide.show_lines([b.x], [], page.bleed_rect)

    def grab_editing() -> None:
        window.grab().save(str(out_dir / "screenshot-editing.png"))
        print(out_dir)
        app.quit()

    QTimer.singleShot(400, pose)
    QTimer.singleShot(1200, grab_main)
    QTimer.singleShot(1400, pose_editing)
    QTimer.singleShot(2200, grab_editing)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
