"""Qt widgets of Panelsmith: the main window, the page canvas and the docks."""

from .qt_compat import pin_none

pin_none()
