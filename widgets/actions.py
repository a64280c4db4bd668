"""The window's own actions, and the one place where every action goes into menus and toolbars.

:func:`build` creates the window's ``w.act_*`` actions (standard shortcuts; undo/redo from the
QUndoStack) and places them together with the actions of the window's controllers
(``w.generation``: :class:`widgets.generation.controller.GenerationController`, ``w.characters``:
:class:`widgets.identity.characters.Characters`) in the menu bar, the toolbars, the Panel dock, the
canvas context menu and the card library's context menu: the same ``QAction`` objects everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFontComboBox, QHBoxLayout, QPushButton, QToolBar,
                               QToolButton, QWidget)

from app import layout
from app.project import BalloonKind

from . import icons
from .canvas import Tool

if TYPE_CHECKING:
    from .main_window import MainWindow

TOOLS = [  # tool, label, shortcut, tip
    (Tool.SELECT, "Select", "V", "Select, move and resize (Shift: add to selection / keep aspect; Alt: no snapping)"
                                 "; E or double-click a panel's border: Edit Corners"),
    (Tool.PANEL, "Frame", "F", "Draw a new panel by dragging"),
    (Tool.KNIFE, "Knife", "K", "Drag a line across panels to split them, leaving the gutter (Shift: 45°)"),
    (Tool.REFRAME, "Reframe", "R", "Drag the image inside its frame; the wheel scales it"),
    (Tool.HAND, "Hand", "H", "Pan the page (also Space, middle button or Ctrl+drag)"),
]
PAN_ARROWS = {"left": "←", "right": "→", "up": "↑", "down": "↓"}
BALLOONS = [(BalloonKind.SPEECH, "Speech", "B"), (BalloonKind.THOUGHT, "Thought", ""),
            (BalloonKind.CAPTION, "Caption", "C"), (BalloonKind.SHOUT, "Shout", "")]


def redo_keys() -> list[QKeySequence]:
    """The platform's Redo keys plus Ctrl+Shift+Z and Ctrl+Y (Cmd on macOS), each once: a key
    bound twice to one action is an "ambiguous shortcut" to Qt, which then fires nothing."""
    keys: list[QKeySequence] = []
    for key in (*QKeySequence.keyBindings(QKeySequence.StandardKey.Redo), QKeySequence("Ctrl+Shift+Z"),
                QKeySequence("Ctrl+Y")):
        if not key.isEmpty() and key not in keys:
            keys.append(key)
    return keys


def _action(parent: QWidget, text: str, slot: Callable | None = None, shortcut=None, tip: str = "",
            checkable: bool = False) -> QAction:
    act = QAction(text, parent)
    if shortcut is not None:
        if isinstance(shortcut, list):
            act.setShortcuts(shortcut)
        else:
            act.setShortcut(QKeySequence(shortcut))
    if tip:
        act.setStatusTip(tip)
        act.setToolTip(f"{text.replace('&', '')} ({act.shortcut().toString()})\n{tip}" if act.shortcut().toString()
                       else f"{text.replace('&', '')}\n{tip}")
    act.setCheckable(checkable)
    if slot is not None:
        (act.toggled if checkable else act.triggered).connect(slot)
    return act


class _StableAction(QAction):
    """A toolbar twin of an undo/redo action with a fixed label (the toolbar must not jump about);
    its tooltip names the step, e.g. "Undo Move"."""

    def __init__(self, parent: QWidget, source: QAction, label: str) -> None:
        super().__init__(label, parent)
        self.source = source
        self.triggered.connect(source.trigger)
        source.changed.connect(self.sync)
        self.sync()

    def sync(self) -> None:
        try:
            self.setEnabled(self.source.isEnabled())
            self.setToolTip(f"{self.source.text().replace('&', '')} ({self.source.shortcut().toString()})")
        except RuntimeError:  # the source is being destroyed with the window
            pass


def _stable(parent: QWidget, source: QAction, label: str) -> QAction:
    return _StableAction(parent, source, label)


def _push_button(action: QAction, text: str) -> QPushButton:
    """A push button that triggers ``action`` and follows its enabled state and tooltip."""
    button = QPushButton(text)
    button.setDefault(False)
    button.clicked.connect(action.trigger)

    def sync() -> None:
        button.setEnabled(action.isEnabled())
        button.setToolTip(action.toolTip())

    action.changed.connect(sync)
    sync()
    return button


def _page_setup():
    """:mod:`widgets.page_setup`, imported when its dialog first opens (not at window start)."""
    from . import page_setup

    return page_setup


def build(w: "MainWindow") -> None:
    """Create ``w.act_*`` actions, then place them and the controllers' actions in the menu bar, the
    toolbars, the Panel dock and the context menus."""
    _create_actions(w)
    _build_menus(w)
    _build_toolbars(w)
    _share_actions(w)


def _create_actions(w: "MainWindow") -> None:
    view, doc, gen = w.view, w.doc, w.generation
    SK = QKeySequence.StandardKey
    w.act_new = _action(w, "&New…", lambda: _page_setup().open_new_comic(w), SK.New,
                        "Start a new comic: page size, pages, template, bleed, safe area, dpi, reading direction")
    w.act_page_setup = _action(w, "Page &Setup…", lambda: _page_setup().open_page_setup(w), None,
                               "Size, bleed, safe area, gutter, dpi and reading direction of this page (or all "
                               "pages), and the project's lettering size")
    w.act_open = _action(w, "&Open…", lambda: w.open_file(), SK.Open, "Open a .comic project")
    w.act_save = _action(w, "&Save", w.save, SK.Save, "Save the project")
    w.act_save_as = _action(w, "Save &As…", w.save_as, SK.SaveAs, "Save under a new name")
    w.act_export = _action(w, "&Export…", w.export, "Ctrl+E", "Export pages as PDF, CBZ or PNG")
    w.act_quit = _action(w, "&Quit", w.close, SK.Quit if QKeySequence.keyBindings(SK.Quit) else "Ctrl+Q")
    w.act_undo = doc.undo_stack.createUndoAction(w, "&Undo")
    w.act_undo.setShortcut(SK.Undo)
    w.act_redo = doc.undo_stack.createRedoAction(w, "&Redo")
    w.act_redo.setShortcuts(redo_keys())
    w.act_delete = _action(w, "&Delete", w.delete_selection, [QKeySequence(SK.Delete), QKeySequence("Backspace")],
                           "Delete the selected panels and balloons")
    w.act_select_all = _action(w, "Select &All", w.select_all, SK.SelectAll)
    # clipboard (w.clipboard: widgets/clipboard.py) and corner editing
    w.act_copy = _action(w, "&Copy", w.clipboard.copy, SK.Copy,
                         "Copy the selected panels and balloons (with their images) to the clipboard")
    w.act_cut = _action(w, "Cu&t", w.clipboard.cut, SK.Cut, "Copy the selection to the clipboard and delete it")
    w.act_paste = _action(w, "&Paste", lambda: w.clipboard.paste(), SK.Paste,
                          "Paste panels and balloons onto this page (new copies, one undo step)")
    w.act_duplicate = _action(w, "D&uplicate", w.clipboard.duplicate, "Ctrl+D",
                              "Duplicate the selection a few mm down and to the right")
    w.act_corners = _action(w, "Edit &Corners", view.set_corner_mode, "E",
                            "Drag single corners of the selected panels (also: double-click a panel's border; "
                            "Esc to finish)", checkable=True)
    view.cornerModeChanged.connect(w.act_corners.setChecked)
    w.act_merge = _action(w, "&Merge Panels", w.merge_selection, "Ctrl+M", "Merge the selected panels into one")
    w.act_split_h = _action(w, "Split &Horizontally", lambda: w.split_selection(False), None,
                            "Cut the selected panel into a top and a bottom half")
    w.act_split_v = _action(w, "Split &Vertically", lambda: w.split_selection(True), None,
                            "Cut the selected panel into a left and a right half")
    w.act_front = _action(w, "Bring to &Front", lambda: w.z_order("front"), "Ctrl+Shift+]")
    w.act_forward = _action(w, "Bring &Forward", lambda: w.z_order("up"), "Ctrl+]")
    w.act_backward = _action(w, "Send Bac&kward", lambda: w.z_order("down"), "Ctrl+[")
    w.act_back = _action(w, "Send to &Back", lambda: w.z_order("back"), "Ctrl+Shift+[")
    w.act_zoom_in = _action(w, "Zoom &In", lambda: view.zoom_by(1.25, False), [QKeySequence(SK.ZoomIn),
                                                                                 QKeySequence("Ctrl+=")])
    w.act_zoom_out = _action(w, "Zoom &Out", lambda: view.zoom_by(0.8, False), SK.ZoomOut)
    w.act_fit = _action(w, "&Fit Page", view.fit_page, "Ctrl+0")
    w.act_actual = _action(w, "&Actual Size", lambda: view.set_zoom_percent(100), "Ctrl+1")
    w.act_guides = _action(w, "Show &Guides", view.page_scene.set_show_guides, "Ctrl+;",
                           "Bleed (red), trim (black) and safe area (blue)", checkable=True)
    w.act_guides.setChecked(True)
    w.act_order = _action(w, "Show &Reading Order", view.page_scene.set_show_order, "Ctrl+R",
                          "Number the panels in reading order", checkable=True)
    w.act_snap = _action(w, "&Snap", lambda on: setattr(view, "snapping", on), "Ctrl+Shift+;",
                         "Snap to guides, gutters and other panels' edges (hold Alt to suspend)", checkable=True)
    w.act_snap.setChecked(True)
    w.act_add_page = _action(w, "&Add Page", w.pages_dock.add_page, "Ctrl+Shift+N")
    w.act_remove_page = _action(w, "&Remove Page", w.pages_dock.remove_page)

    w.tool_group = QActionGroup(w)
    w.tool_actions: dict[str, QAction] = {}
    for tool, label, key, tip in TOOLS:
        act = _action(w, label, None, key, tip, checkable=True)
        act.triggered.connect(lambda _=False, t=tool: view.set_tool(t))
        w.tool_group.addAction(act)
        w.tool_actions[tool.value] = act
    for kind, label, key in BALLOONS:
        act = _action(w, label, None, key or None, f"Click or drag to place a {label.lower()} balloon, then type",
                      checkable=True)
        act.triggered.connect(lambda _=False, k=kind: w.set_balloon_tool(k))
        w.tool_group.addAction(act)
        w.tool_actions[f"balloon:{kind.value}"] = act
    w.tool_actions["select"].setChecked(True)
    w.tool_group.addAction(gen.act_mask_tool)
    w.tool_actions[Tool.MASK.value] = gen.act_mask_tool


def _drawing_tools(w: "MainWindow") -> list[QAction]:
    """The tools of the Tools menu and toolbar: all but the mask brush, which is on the Mask toolbar."""
    return [a for a in w.tool_group.actions() if a is not w.generation.act_mask_tool]


def _build_menus(w: "MainWindow") -> None:
    gen, chars = w.generation, w.characters
    from .docks.script import install as install_script

    install_script(w)  # the Script dock and File ▸ Import Script…
    mb = w.menuBar()
    m = mb.addMenu("&File")
    m.addActions([w.act_new, w.act_open])
    w.recent_menu = m.addMenu("Open &Recent")
    m.addSeparator()
    m.addAction(w.act_import_script)
    m.addSeparator()
    m.addActions([w.act_save, w.act_save_as, w.act_export])
    m.addSeparator()
    m.addAction(w.act_quit)
    m = mb.addMenu("&Edit")
    m.addActions([w.act_undo, w.act_redo])
    m.addSeparator()
    m.addActions([w.act_cut, w.act_copy, w.act_paste, w.act_duplicate])
    m.addSeparator()
    m.addActions([w.act_delete, w.act_select_all])
    m.addSeparator()
    m.addAction(gen.act_preferences)
    w.edit_menu = m
    m = mb.addMenu("&Panel")
    m.addActions([w.act_merge, w.act_split_h, w.act_split_v])
    m.addAction(w.act_corners)
    m.addSeparator()
    m.addActions([w.act_front, w.act_forward, w.act_backward, w.act_back])
    m.addSeparator()
    m.addActions([gen.act_generate, gen.act_generate_page, gen.act_vary, gen.act_edit, gen.act_clear_mask])
    w.pan_menu = m.addMenu("Pan / Zoom Out")
    w.pan_menu.addActions([*gen.act_pan.values(), gen.act_zoom15, gen.act_zoom2])
    m.addAction(gen.act_upscale)
    m.addAction(gen.act_animate)
    w.panel_menu = m
    m = mb.addMenu("Pa&ge")
    m.addActions([w.act_add_page, w.act_remove_page])
    m.addAction(w.act_page_setup)
    tm = m.addMenu("Apply &Template")
    for name in layout.TEMPLATES:
        tm.addAction(name, lambda n=name: w.apply_template(n))
    m = mb.addMenu("&Tools")
    m.addActions(_drawing_tools(w))
    m = mb.addMenu("&View")
    m.addActions([w.act_zoom_in, w.act_zoom_out, w.act_fit, w.act_actual])
    m.addSeparator()
    m.addActions([w.act_guides, w.act_order, w.act_snap])
    m.addSeparator()
    w.docks_menu = m.addMenu("&Docks")
    for dock in (w.pages_dock, w.cards_dock, w.props_dock, w.variants_dock, w.jobs_dock, w.training_dock,
                 w.identity.dock):
        w.docks_menu.addAction(dock.toggleViewAction())
    w.characters_menu = mb.addMenu("&Characters")
    w.characters_menu.addActions([chars.act_sheet, chars.act_add_tiles, chars.act_train])
    w.characters_menu.aboutToShow.connect(chars.update_actions)
    w.docks_menu.addAction(w.script_dock.toggleViewAction())


ICONS = {  # window attribute (``w.<name>`` or ``w.generation.<name>``) -> Font Awesome 6 Free solid icon
    "act_new": "file", "act_open": "folder-open", "act_save": "floppy-disk", "act_export": "file-export",
    "act_merge": "object-group", "act_split_h": "grip-lines", "act_split_v": "grip-lines-vertical",
    "act_corners": "draw-polygon", "act_front": "angles-up", "act_back": "angles-down", "act_delete": "trash-can",
    "act_zoom_in": "magnifying-glass-plus", "act_zoom_out": "magnifying-glass-minus", "act_fit": "expand",
    "act_guides": "ruler-combined", "act_snap": "magnet", "act_order": "arrow-down-1-9",
    "act_generate": "wand-magic-sparkles", "act_generate_page": "images", "act_auto_pick": "circle-check",
    "act_upscale": "up-right-and-down-left-from-center", "act_vary": "wand-magic", "act_clear_mask": "eraser",
    "act_mask_tool": "paintbrush", "act_edit": "pen-to-square", "act_animate": "film",
}
TOOL_ICONS = {"select": "arrow-pointer", "panel": "vector-square", "knife": "scissors", "reframe": "crop-simple",
              "hand": "hand", "balloon:speech": "comment", "balloon:thought": "cloud",
              "balloon:caption": "closed-captioning", "balloon:shout": "burst"}
UNDO_ICONS = ("rotate-left", "rotate-right")
PAN_ICONS = {"left": "arrow-left", "right": "arrow-right", "up": "arrow-up", "down": "arrow-down"}


def icon(name: str, widget: QWidget):
    """A Font Awesome 6 Free solid icon (qtawesome's font) drawn in the palette's text colours."""
    palette = widget.palette()
    return icons.solid_icon(name, palette.color(palette.ColorRole.ButtonText),
                            palette.color(palette.ColorGroup.Disabled, palette.ColorRole.ButtonText))


def name_shortcut(action: QAction) -> None:
    """Tooltip "Name (Shortcut)" plus what the action does: every toolbar button names its key."""
    keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
    name = action.text().replace("&", "").rstrip("…").strip()
    head = f"{name} ({', '.join(keys[:2])})" if keys else name
    tip = action.statusTip()
    action.setToolTip(f"{head}\n{tip}" if tip and tip != name else head)


def _set_icons(w: "MainWindow") -> None:
    gen = w.generation
    for attr, name in ICONS.items():
        action = getattr(w, attr, None) or getattr(gen, attr, None)
        if action is not None:
            action.setIcon(icon(name, w))
    for key, name in TOOL_ICONS.items():
        w.tool_actions[key].setIcon(icon(name, w))


def _build_toolbars(w: "MainWindow") -> None:
    """One main toolbar of icons (file, undo, tools, panel, generate, view) and under it the
    tool-options bar (:mod:`widgets.tool_options`) with the current tool's options."""
    from .tool_options import ToolOptionsBar

    gen = w.generation
    _set_icons(w)
    tb = QToolBar("Main", w, objectName="MainToolbar")
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    tb.setIconSize(QSize(20, 20))
    undo, redo = _stable(w, w.act_undo, "Undo"), _stable(w, w.act_redo, "Redo")
    undo.setIcon(icon(UNDO_ICONS[0], w))
    redo.setIcon(icon(UNDO_ICONS[1], w))
    tb.addActions([w.act_new, w.act_open, w.act_save, w.act_export])
    tb.addSeparator()
    tb.addActions([undo, redo])
    tb.addSeparator()
    tb.addActions(w.tool_group.actions())
    tb.addSeparator()
    tb.addActions([w.act_merge, w.act_split_h, w.act_split_v, w.act_corners, w.act_front, w.act_back, w.act_delete])
    tb.addSeparator()
    tb.addActions([gen.act_generate, gen.act_generate_page, gen.act_animate])
    gen.repeat.setPrefix("×")
    tb.addWidget(gen.repeat)
    tb.addAction(gen.act_auto_pick)
    tb.addSeparator()
    tb.addActions([w.act_zoom_out, w.act_fit, w.act_zoom_in])
    tb.addSeparator()
    tb.addActions([w.act_guides, w.act_snap, w.act_order])
    for action in tb.actions():
        if not isinstance(action, _StableAction) and not action.isSeparator():
            name_shortcut(action)
    w.main_toolbar = tb
    w.addToolBar(tb)
    for a in (w.act_delete, w.act_merge, w.act_split_h, w.act_split_v, w.act_front, w.act_back):
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

    w.addToolBarBreak()
    w.tool_options = bar = ToolOptionsBar(w)
    bar.setIconSize(QSize(18, 18))
    w.template_combo = QComboBox(toolTip="Replace this page's panels by a template (undoable)")
    w.template_combo.addItem("—")
    w.template_combo.addItems(list(layout.TEMPLATES))
    w.template_combo.activated.connect(lambda i: i > 0 and w.apply_template(w.template_combo.itemText(i)))
    w.gutter_spin = QDoubleSpinBox(suffix=" mm", decimals=1, singleStep=0.5, keyboardTracking=False,
                                   toolTip="Space between panels; changing it re-flows the panels")
    w.gutter_spin.setRange(0, 30)
    w.gutter_spin.valueChanged.connect(w.set_gutter)
    w.order_combo = QComboBox(toolTip="Reading order of the page")
    w.order_combo.addItem("Left → right", "ltr")
    w.order_combo.addItem("Right → left", "rtl")
    w.order_combo.activated.connect(lambda i: w.set_reading_order(w.order_combo.itemData(i)))
    bar.add_section("layout", ["Template", w.template_combo, "Gutter", w.gutter_spin, "Read", w.order_combo])

    w.pan_buttons = {}
    pan: list = ["Pan"]
    for direction, act in gen.act_pan.items():
        act.setIcon(icon(PAN_ICONS[direction], w))
        button = QToolButton(autoRaise=True)
        button.setDefaultAction(act)
        button.setText(PAN_ARROWS[direction])
        w.pan_buttons[direction] = button
        pan.append(button)
    for act in (gen.act_zoom15, gen.act_zoom2):
        act.setIconText(act.text().replace("Zoom Out ", "Out "))
    w.extend_toolbar = bar.add_section("image", [*pan, gen.pan_amount, gen.act_zoom15, gen.act_zoom2,
                                                 gen.act_upscale, gen.refine_strength])

    w.font_combo = QFontComboBox(toolTip="Font of the selected balloons")
    w.font_combo.setMaximumWidth(200)
    w.font_combo.currentFontChanged.connect(lambda f: w.set_balloon_font(family=f.family()))
    w.font_size = QDoubleSpinBox(suffix=" pt", decimals=1, singleStep=0.5, keyboardTracking=False,
                                 toolTip="Lettering size of the selected balloons at print; a balloon grows to "
                                         "fit its text (the project's size: Page ▸ Page Setup…)")
    w.font_size.setRange(4, 72)
    w.font_size.setValue(9.0)
    w.font_size.valueChanged.connect(lambda v: w.set_balloon_font(font_size=v))
    w.lettering_toolbar = bar.add_section("lettering", ["Font", w.font_combo, w.font_size])

    gen.region_prompt.setFixedWidth(190)
    gen.edit_prompt.setFixedWidth(150)
    gen.act_edit.setIconText("Edit")
    w.mask_toolbar = bar.add_section("mask", [gen.mask_mode, "Size", gen.brush_size, "Feather", gen.feather,
                                              gen.act_clear_mask, gen.region_prompt, gen.act_vary,
                                              gen.edit_prompt, gen.act_edit])
    for action in (*gen.act_pan.values(), gen.act_zoom15, gen.act_zoom2, gen.act_upscale, gen.act_clear_mask,
                   gen.act_vary, gen.act_edit):
        name_shortcut(action)
    bar.finish()
    w.view.toolChanged.connect(bar.show_tool)
    w.addToolBar(bar)


def _share_actions(w: "MainWindow") -> None:
    """The Panel dock's buttons and the context menus: the same actions again."""
    gen, chars = w.generation, w.characters
    row = QHBoxLayout()
    w.generate_button = _push_button(gen.act_generate, "Generate")
    row.addWidget(w.generate_button)
    row.addWidget(_push_button(gen.act_generate_page, "Generate Page"))
    w.animate_button = _push_button(gen.act_animate, "Animate…")
    row.addWidget(w.animate_button)
    w.props_dock.actions_layout.addLayout(row)
    w.view.item_actions = [w.act_cut, w.act_copy, w.act_duplicate]
    w.view.panel_actions = [gen.act_generate, gen.act_animate, gen.act_vary, w.pan_menu, gen.act_upscale]
    w.cards_dock.card_actions["character"] = [chars.act_sheet, chars.act_add_tiles, chars.act_train]
