"""Screenshots of File ▸ New… and Page ▸ Page Setup… with the sample project.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshot_page_setup.py [OUT_DIR]

screenshots/new-comic.png: the New Comic dialog set to B5 (JIS) with the manga-5 template.
screenshots/page-setup.png: Page Setup of the sample page, changed to US comic, with its panels and
balloons carried along in the preview and a 10 pt lettering size.
"""

from __future__ import annotations

import sys

from shot_setup import isolated_app, sample_window  # first: puts the repository on sys.path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest


def main() -> int:
    app, out_dir = isolated_app()
    shots = out_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    window = sample_window()

    def new_comic() -> None:
        window.act_new.trigger()
        dialog = window.page_setup_dialog
        dialog.form.preset.setFocus()
        QTest.keyClick(dialog.form.preset, Qt.Key.Key_Down)  # B5 (JIS)
        QTimer.singleShot(400, lambda: (dialog.grab().save(str(shots / "new-comic.png")), dialog.reject()))

    def page_setup() -> None:
        window.act_page_setup.trigger()
        dialog = window.page_setup_dialog
        dialog.form.preset.setCurrentIndex(dialog.form.preset.findData("US-comic"))
        dialog.form.lettering.setValue(10.0)
        QTimer.singleShot(400, lambda: (dialog.grab().save(str(shots / "page-setup.png")), dialog.reject(),
                                        print(shots), app.quit()))

    QTimer.singleShot(400, new_comic)
    QTimer.singleShot(1400, page_setup)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
