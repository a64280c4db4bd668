"""Take the README screenshot: the real main window with the sample project, a panel selected.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshot.py [OUT.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import widgets  # noqa: E402,F401  (applies the PySide work-around)
from widgets.main_window import SAMPLE, MainWindow  # noqa: E402


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "screenshot.png")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    window.load(SAMPLE, keep_path=False)

    def pose() -> None:
        scene = window.view.page_scene
        page = scene.page
        if page is not None and page.panels:
            bound = [p for p in page.panels if p.characters or p.styles]
            scene.select_ids([(bound or page.panels)[0].id])
        window.act_order.setChecked(True)
        window.view.fit_page()

    def grab() -> None:
        window.grab().save(str(out))
        print(out)
        app.quit()

    QTimer.singleShot(400, pose)
    QTimer.singleShot(1200, grab)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
