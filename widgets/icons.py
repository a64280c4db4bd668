"""Toolbar icons: Font Awesome 6 Free solid glyphs from the font file that ships with qtawesome.

The glyphs are drawn the way ``qtawesome.icon("fa6s.NAME", color=..., color_disabled=...)`` draws
them (text of 0.875 × the icon's height, centred, in the normal or the disabled colour), without
importing qtawesome: its import pulls in qtpy, which star-imports every PySide6 class and loads a
dozen icon fonts, about half a second of the window's start.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QIcon, QIconEngine, QPainter, QPixmap

_FONT_GLOB = "fontawesome6-solid-webfont-*.ttf"
_font: tuple[str, dict[str, str]] | None = None


def _fonts_dir() -> Path:
    """qtawesome's bundled ``fonts`` folder, found without importing the package."""
    spec = importlib.util.find_spec("qtawesome")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("qtawesome is not installed (it ships the toolbar's icon font)")
    return Path(list(spec.submodule_search_locations)[0]) / "fonts"


def _solid_font() -> tuple[str, dict[str, str]]:
    """(family, icon name → character) of the Font Awesome 6 solid font, registered once."""
    global _font
    if _font is None:
        ttf = sorted(_fonts_dir().glob(_FONT_GLOB))[-1]
        font_id = QFontDatabase.addApplicationFontFromData(ttf.read_bytes())
        families = QFontDatabase.applicationFontFamilies(font_id)
        if not families:
            raise OSError(f"{ttf}: not a usable font")
        charmap_path = ttf.with_name(ttf.name.replace("-webfont-", "-webfont-charmap-")).with_suffix(".json")
        codes = json.loads(charmap_path.read_text(encoding="utf-8"))
        _font = (families[0], {name: chr(int(code, 16)) for name, code in codes.items()})
    return _font


class GlyphEngine(QIconEngine):
    """Draws one glyph in ``color``, or in ``disabled`` for a disabled icon."""

    def __init__(self, family: str, char: str, color: QColor, disabled: QColor) -> None:
        super().__init__()
        self.family, self.char, self.color, self.disabled = family, char, QColor(color), QColor(disabled)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:  # noqa: ARG002
        painter.save()
        painter.setPen(self.disabled if mode == QIcon.Mode.Disabled else self.color)
        font = QFont()
        font.setFamily(self.family)
        font.setPixelSize(round(0.875 * rect.height()))
        font.setStyleName("Solid")
        painter.setFont(font)
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter | Qt.AlignmentFlag.AlignVCenter), self.char)
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pix = QPixmap(size)
        pix.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pix)
        self.paint(painter, QRect(QPoint(0, 0), size), mode, state)
        painter.end()
        return pix

    def clone(self) -> "GlyphEngine":
        return GlyphEngine(self.family, self.char, self.color, self.disabled)


def solid_icon(name: str, color: QColor, disabled: QColor) -> QIcon:
    """The Font Awesome 6 Free solid icon ``name`` (e.g. ``"scissors"``); KeyError for an unknown name."""
    family, chars = _solid_font()
    return QIcon(GlyphEngine(family, chars[name], color, disabled))
