"""The README screenshot of the window's chrome at a laptop's 1366 × 768: the main toolbar of icons
and the tool-options bar (a panel selected under the Select tool; then the Mask tool's options).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshot_chrome.py [OUT_DIR]

(QT_QPA_PLATFORM=offscreen works too.) Writes screenshots/chrome-1366.png and chrome-mask-1366.png.
"""

from __future__ import annotations

import sys

from shot_setup import isolated_app, sample_window  # first: puts the repository on sys.path

from PySide6.QtCore import QTimer


def main() -> int:
    app, out_dir = isolated_app()
    out = out_dir / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    window = sample_window()
    window.resize(1366, 768)

    def pose() -> None:
        scene = window.view.page_scene
        if scene.page is not None and scene.page.panels:
            scene.select_ids([scene.page.panels_in_reading_order()[0].id])
        window.view.fit_page()

    def grab(name: str) -> None:
        window.grab().save(str(out / name))

    def mask() -> None:
        window.generation.act_mask_tool.trigger()

    steps = [pose, lambda: grab("chrome-1366.png"), mask, lambda: grab("chrome-mask-1366.png"), app.quit]
    for i, step in enumerate(steps):
        QTimer.singleShot(800 + 400 * i, step)
    app.exec()
    window.doc.undo_stack.setClean()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
