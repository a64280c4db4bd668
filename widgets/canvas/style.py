"""Colours and sizes of the canvas chrome (guides, selection, handles), in one place."""

from PySide6.QtGui import QColor

DESK = QColor("#5b5f66")           # area around the page
BLEED_FILL = QColor("#eef0f3")
PAGE_FILL = QColor("#ffffff")
TRIM_LINE = QColor("#1d1f22")
BLEED_LINE = QColor("#d9534f")
SAFE_LINE = QColor("#2a9df4")
EMPTY_PANEL = QColor("#f4f5f7")
EMPTY_TEXT = QColor("#8a9099")
SELECTION = QColor("#1e88ff")
HANDLE_FILL = QColor("#ffffff")
CORNER_FILL = QColor("#ffd60a")    # Edit Corners handles
CORNER_LINE = QColor("#1d1f22")
INVALID_LINE = QColor("#ff3b30")   # a corner drag that would be refused
SNAP_LINE = QColor("#ff2bd6")
KNIFE_LINE = QColor("#ff3b30")
CHARACTER_BADGE = QColor("#0f8b8d")
STYLE_BADGE = QColor("#7b3fbf")
ORDER_BADGE = QColor("#ff8a00")

HANDLE_PX = 9          # resize handle size on screen
SNAP_PX = 7            # snapping distance on screen
NUDGE_MM = 0.5         # arrow key step
NUDGE_BIG_MM = 5.0     # Shift+arrow step
MIN_PANEL_MM = 5.0     # a drawn panel smaller than this is ignored
