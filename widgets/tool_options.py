"""The tool-options bar under the main toolbar: only the current tool's options, as Krita and Clip
Studio Paint show them (mask: mode, brush size, feather; lettering: font and size; frames: gutter,
template and reading order; the panel image: pan, zoom out and upscale), or a short hint.

:mod:`widgets.actions` fills the sections with the window's own widgets and actions; the bar
follows the canvas's ``toolChanged`` signal and, under the Select tool, the selection (a selected
balloon shows the lettering options)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolBar, QToolButton, QWidget

SECTIONS = {  # tool -> the sections it shows, in this order
    "select": ("layout", "image"),
    "panel": ("layout",),
    "knife": ("layout",),
    "reframe": ("image",),
    "hand": (),
    "balloon": ("lettering",),
    "mask": ("mask",),
}
HINTS = {
    "panel": "Drag on the page to draw a panel",
    "knife": "Drag across panels to cut them (Shift: 45°)",
    "reframe": "Drag the image in its frame; the wheel scales it",
    "hand": "Drag to move the page (also Space, the middle button or Ctrl+drag)",
    "balloon": "Click or drag to place a balloon, then type",
    "mask": "Paint where Vary Region repaints; Alt+lasso removes",
}


class ToolOptionsBar(QToolBar):
    """A toolbar of named sections; :meth:`show_tool` shows those of one tool and its hint."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Tool Options", parent)
        self.setObjectName("ToolOptionsBar")
        self.setFloatable(False)
        self.sections: dict[str, QAction] = {}
        self.boxes: dict[str, QWidget] = {}
        self.hint = QLabel()
        self.hint.setObjectName("ToolHint")
        self.hint.setStyleSheet("color: palette(mid); padding-left: 10px;")
        self._hint_action: QAction | None = None
        self.tool = "select"
        self.balloon_selected = False

    def add_section(self, name: str, items: list[QWidget | QAction | str]) -> QWidget:
        """A section of widgets, actions (as tool buttons with their icon) and labels; returns its box."""
        box = QWidget()
        box.setObjectName(f"{name}Options")
        box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)  # no gaps between the fields
        row = QHBoxLayout(box)
        row.setContentsMargins(4, 0, 4, 0)
        row.setSpacing(4)
        if self.sections:
            line = QFrame(frameShape=QFrame.Shape.VLine, frameShadow=QFrame.Shadow.Sunken)
            row.addWidget(line)
        for item in items:
            if isinstance(item, str):
                widget: QWidget = QLabel(item)
            elif isinstance(item, QAction):
                widget = QToolButton(autoRaise=True)
                widget.setDefaultAction(item)
                widget.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            else:
                widget = item
            row.addWidget(widget)
        self.boxes[name] = box
        self.sections[name] = self.addWidget(box)
        return box

    def finish(self) -> None:
        """Add the hint after the sections and show the current tool's options."""
        self._hint_action = self.addWidget(self.hint)
        self.show_tool(self.tool)

    def visible_sections(self) -> list[str]:
        """The sections the current tool shows (the tests and the screenshot read them)."""
        return [name for name, action in self.sections.items() if action.isVisible()]

    def show_tool(self, tool: str) -> None:
        """Show ``tool``'s sections and hint (``tool``: a :class:`widgets.canvas.Tool` value)."""
        self.tool = tool
        names = list(SECTIONS.get(tool, ()))
        if tool == "select" and self.balloon_selected:
            names = ["layout", "lettering"]
        for name, action in self.sections.items():
            action.setVisible(name in names)
        self.hint.setText(HINTS.get(tool, ""))
        if self._hint_action is not None:
            self._hint_action.setVisible(bool(self.hint.text()))

    def set_balloon_selected(self, selected: bool) -> None:
        """Under the Select tool a selected balloon shows the lettering options instead of the image's."""
        if selected != self.balloon_selected:
            self.balloon_selected = selected
            self.show_tool(self.tool)
