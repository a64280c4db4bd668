"""Toolbar icons drawn from qtawesome's Font Awesome font without importing qtawesome: the same pixels."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QWidget

from widgets import actions, icons

NAMES = sorted({*actions.ICONS.values(), *actions.TOOL_ICONS.values(), *actions.UNDO_ICONS, *actions.PAN_ICONS.values()})


def test_every_toolbar_icon_matches_qtawesome_pixel_for_pixel(qtbot):
    qtawesome = pytest.importorskip("qtawesome")
    widget = QWidget()
    qtbot.addWidget(widget)
    palette = widget.palette()
    normal = palette.color(palette.ColorRole.ButtonText)
    disabled = palette.color(palette.ColorGroup.Disabled, palette.ColorRole.ButtonText)
    for name in NAMES:
        mine = actions.icon(name, widget)
        ref = qtawesome.icon(f"fa6s.{name}", color=normal, color_disabled=disabled)
        for side in (18, 20):
            for mode in (QIcon.Mode.Normal, QIcon.Mode.Disabled):
                got = mine.pixmap(QSize(side, side), mode).toImage()
                assert not got.isNull() and got == ref.pixmap(QSize(side, side), mode).toImage(), (name, side, mode)


def test_an_unknown_icon_name_is_refused(qapp):
    colour = qapp.palette().color(qapp.palette().ColorRole.Text)
    with pytest.raises(KeyError):
        icons.solid_icon("no-such-icon", colour, colour)
