"""Help menu: About, the keyboard shortcuts (read from the window's own actions) and the licences of the
models and fonts Panelsmith uses."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMainWindow, QMessageBox, QTextBrowser, QVBoxLayout, QWidget

ROOT = Path(__file__).resolve().parent.parent

LICENCES = """
<h3>Models</h3>
<p><b>Image models</b> (checkpoints, pipelines, LoRAs) are not shipped with Panelsmith: each keeps the licence
it was published under (for example the CreativeML Open RAIL-M or Open RAIL++-M licences of Stable Diffusion
models). Read the model card before publishing what you make with it.</p>
<p><b>insightface model packs</b> (antelopev2, buffalo_l) and inswapper are licensed for
<b>non-commercial research use only</b>; install one only if your use complies. Without one, Panelsmith uses
its own permissively licensed face detector and identity score.</p>
<h3>Fonts</h3>
<p><b>Comic Neue</b>, the bundled lettering font: SIL Open Font License 1.1
(resources/fonts/ComicNeue-LICENSE.txt).</p>
<p><b>Font Awesome Free 6</b>, the toolbar icons (the font file shipped with qtawesome, MIT licence): icon font SIL Open Font
License 1.1, icon designs CC BY 4.0 (Fonticons, Inc.).</p>
<h3>Panelsmith</h3>
<p>Built on Qt for Python (PySide6, LGPLv3), Pillow and, for generation, PyTorch and diffusers.</p>
"""


def version() -> str:
    import tomllib

    try:
        return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, KeyError, ValueError):
        return ""


def shortcuts_html(window: QMainWindow) -> str:
    """A table of every action of ``window`` that has a shortcut, sorted by name."""
    import html

    rows: dict[str, str] = {}
    for action in window.findChildren(QAction):
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        name = action.text().replace("&", "").rstrip("…").strip()
        if keys and name:
            rows[name] = ", ".join(dict.fromkeys(keys))
    body = "".join(f"<tr><td>{html.escape(n)}</td><td><b>{html.escape(k)}</b></td></tr>"
                   for n, k in sorted(rows.items(), key=lambda r: r[0].lower()))
    extra = ("<tr><td>Pan the view</td><td><b>Space+drag, middle drag, Ctrl+drag</b></td></tr>"
             "<tr><td>Nudge the selection</td><td><b>Arrows (Shift: more)</b></td></tr>"
             "<tr><td>Edit a selected balloon's text</td><td><b>Return; Esc ends</b></td></tr>")
    return f"<table cellspacing=6>{body}{extra}</table>"


class TextDialog(QDialog):
    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(520, 560)
        column = QVBoxLayout(self)
        self.browser = QTextBrowser(openExternalLinks=True)
        self.browser.setHtml(text)
        column.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        column.addWidget(buttons)


def install(window: QMainWindow) -> None:
    """Add the Help menu to ``window`` (sets ``act_about``, ``act_shortcuts``, ``act_licences``)."""
    menu = window.menuBar().addMenu("&Help")

    def show(title: str, text: str) -> None:
        window.help_dialog = TextDialog(title, text, window)
        window.help_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.help_dialog.show()

    window.act_shortcuts = menu.addAction("&Keyboard Shortcuts", lambda: show("Keyboard Shortcuts",
                                                                               shortcuts_html(window)))
    window.act_shortcuts.setShortcut(QKeySequence("Ctrl+/"))
    window.act_licences = menu.addAction("Model and Font &Licences", lambda: show("Licences", LICENCES))
    menu.addSeparator()
    window.act_about = menu.addAction("&About Panelsmith", lambda: QMessageBox.about(
        window, "About Panelsmith",
        f"<h3>Panelsmith {version()}</h3><p>Comic pages with AI-generated panels: page layout, lettering, "
        "characters that stay themselves, and print-ready export.</p>"))
    window.act_about.setMenuRole(QAction.MenuRole.AboutRole)
