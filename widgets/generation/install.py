"""Generation controls of the main window, installed by :func:`install` in one place.

Adds: Generate / Generate Page / repeat ×N (panel toolbar, panel menu, Panel dock), the Job Queue
and Training docks, the mask brush tool with its toolbar and Vary Region, pan arrows and zoom-out
buttons, a status-bar offer to extend an image that no longer fills its resized panel, the
Preferences dialog and the Characters menu (character sheet, add tiles to card, train LoRA).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QMenu,
                               QPushButton, QSpinBox, QToolBar, QToolButton)

from app import sheet
from app.generation.queue import JobQueue
from app.generation.request import pan_spec
from app.project import CharacterCard
from app.placement import uncovered_sides
from app.training_job import CardTrainer
from engine.jobs import JobKind

from ..canvas import Tool
from ..canvas.mask import MaskMode
from .jobs_dock import JobQueueDock
from .preferences import PreferencesDialog, load_engine_settings
from .training_dock import TrainDialog, TrainingDock

if TYPE_CHECKING:
    from ..main_window import MainWindow

PAN_ARROWS = (("left", "←"), ("right", "→"), ("up", "↑"), ("down", "↓"))


class GenerationUI(QObject):
    """Owns the job queue and the trainer of a window, and the widgets that drive them."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.view = window.view
        self.last_message = ""
        self.queue = JobQueue(self.doc, load_engine_settings(window.settings), self, tasks=window.tasks)
        self.trainer = CardTrainer(self.doc, self.queue.settings.models_dir, self)
        self._build_docks()
        self._build_actions()
        self._build_toolbars()
        self._build_menus()
        self._build_offer()
        self.queue.message.connect(self.show_message)
        self.trainer.message.connect(self.show_message)
        self.trainer.failed.connect(lambda text: self.show_message(f"Training: {text}"))
        for signal in (self.trainer.finished, self.trainer.failed, self.trainer.cancelled):
            signal.connect(self.update_actions)
        self.view.maskChanged.connect(self.update_actions)
        self.view.page_scene.selectionChanged.connect(self.update_actions)
        self.doc.itemsChanged.connect(self._check_offer)
        self.view.page_scene.selectionChanged.connect(self._check_offer)
        self.update_actions()

    # --- building ---------------------------------------------------------------------------------

    def _build_docks(self) -> None:
        w = self.window
        self.jobs_dock = JobQueueDock(self.queue, w)
        self.training_dock = TrainingDock(self.trainer, w)
        w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.jobs_dock)
        w.tabifyDockWidget(self.jobs_dock, self.training_dock)
        self.jobs_dock.raise_()
        w.resizeDocks([self.jobs_dock], [300], Qt.Orientation.Vertical)
        for dock in (self.jobs_dock, self.training_dock):
            w.docks_menu.addAction(dock.toggleViewAction())

    def _action(self, text: str, slot, shortcut: str | None = None, tip: str = "") -> QAction:
        act = QAction(text, self.window)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setToolTip(f"{text} ({shortcut})\n{tip}" if shortcut else f"{text}\n{tip}")
        act.setStatusTip(tip)
        act.triggered.connect(lambda *_: slot())
        return act

    def _build_actions(self) -> None:
        a = self._action
        self.act_generate = a("Generate", self.generate_selected, "Ctrl+G",
                              "Generate images for the selected panels (queued, in reading order)")
        self.act_generate_page = a("Generate Page", self.generate_page, "Ctrl+Shift+G",
                                   "Generate every panel of this page, in reading order (queued)")
        self.act_vary = a("Vary Region", self.vary_region, "Ctrl+Shift+V",
                          "Repaint the masked part of the panel image with the region prompt")
        self.act_clear_mask = a("Clear Mask", self.clear_mask, None, "Remove the painted mask")
        self.act_zoom15 = a("Zoom Out 1.5×", lambda: self.extend(zoom_out=1.5), None,
                            "Outpaint around the image: 1.5× larger, the original stays in place")
        self.act_zoom2 = a("Zoom Out 2×", lambda: self.extend(zoom_out=2.0), None,
                           "Outpaint around the image: 2× larger, the original stays in place")
        self.act_pan = {d: a(f"Pan {d.title()}", lambda d=d: self.extend(direction=d), None,
                             f"Extend the image {d}wards by the pan amount (outpainting)") for d, _ in PAN_ARROWS}
        self._build_upscale_actions()
        self.act_auto_pick = QAction("Use First Result", self.window, checkable=True, checked=True,
                                     toolTip="Show the first new image in the panel; off: only add results to "
                                             "the History dock")
        self.act_preferences = a("Preferences…", self.preferences, "Ctrl+,", "Models folder, device, defaults")
        self.act_sheet = a("Create Character Sheet", self.create_sheet, None,
                           "Add a page of views and expressions of the character (generate it with Generate Page)")
        self.act_add_tiles = a("Add Selected Tiles to Card", self.add_tiles, None,
                               "Make the selected panels' images references of the character card")
        self.act_train = a("Train LoRA…", self.train, None, "Train a LoRA of the character in the background")
        # the mask brush is one of the canvas tools
        w = self.window
        self.act_mask_tool = QAction("Mask", w, checkable=True, shortcut=QKeySequence("M"),
                                     toolTip="Mask brush (M)\nPaint where Vary Region repaints the panel image")
        self.act_mask_tool.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.act_mask_tool.toggled.connect(lambda on: on and self.view.set_tool(Tool.MASK))
        w.tool_group.addAction(self.act_mask_tool)
        w.tool_actions[Tool.MASK.value] = self.act_mask_tool

    def _build_toolbars(self) -> None:
        w = self.window
        tb = w.panel_toolbar
        tb.addSeparator()
        tb.addActions([self.act_generate, self.act_generate_page])
        tb.addWidget(QLabel(" ×"))
        self.repeat = QSpinBox(minimum=1, maximum=50, value=1, toolTip="Repeat ×N: queue N jobs with "
                               "incrementing seeds")
        self.repeat.setObjectName("RepeatSpin")
        tb.addWidget(self.repeat)
        tb.addAction(self.act_auto_pick)
        self._build_upscale_toolbar(tb)

        w.addToolBarBreak()
        tb = QToolBar("Extend", w, objectName="ExtendToolbar")
        self.pan_buttons = {}
        for direction, arrow in PAN_ARROWS:
            button = QToolButton(text=arrow)
            button.setDefaultAction(self.act_pan[direction])
            button.setText(arrow)
            self.pan_buttons[direction] = button
            tb.addWidget(button)
        self.pan_amount = QDoubleSpinBox(minimum=0.05, maximum=4.0, singleStep=0.05, value=0.25, decimals=2,
                                         toolTip="Pan amount: fraction of the image's width or height")
        tb.addWidget(self.pan_amount)
        tb.addActions([self.act_zoom15, self.act_zoom2])
        w.addToolBar(tb)
        self.extend_toolbar = tb

        tb = QToolBar("Mask", w, objectName="MaskToolbar")
        tb.addAction(self.act_mask_tool)
        self.mask_mode = QComboBox(toolTip="Brush adds to the mask, eraser removes, lasso fills a drawn outline "
                                           "(Alt+lasso removes)")
        for mode in MaskMode:
            self.mask_mode.addItem(mode.value.title(), mode.value)
        self.mask_mode.currentIndexChanged.connect(
            lambda _: setattr(self.view, "mask_mode", MaskMode(self.mask_mode.currentData())))
        tb.addWidget(self.mask_mode)
        self.brush_size = QSpinBox(minimum=1, maximum=1024, value=int(self.view.brush_px), suffix=" px",
                                   toolTip="Brush size in image pixels")
        self.brush_size.valueChanged.connect(lambda v: setattr(self.view, "brush_px", float(v)))
        tb.addWidget(self.brush_size)
        tb.addWidget(QLabel(" Feather "))
        self.feather = QSpinBox(minimum=0, maximum=512, value=8, suffix=" px",
                                toolTip="Blend band around the mask; pixels farther away stay identical")
        tb.addWidget(self.feather)
        tb.addAction(self.act_clear_mask)
        self.region_prompt = QLineEdit(placeholderText="What to paint in the region…", clearButtonEnabled=True)
        self.region_prompt.setMinimumWidth(220)
        self.region_prompt.returnPressed.connect(self.vary_region)
        tb.addWidget(self.region_prompt)
        tb.addAction(self.act_vary)
        w.addToolBar(tb)
        self.mask_toolbar = tb

        row = QHBoxLayout()
        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(False)
        self.generate_button.clicked.connect(self.generate_selected)
        self.generate_button.setToolTip(self.act_generate.toolTip())
        page_button = QPushButton("Generate Page")
        page_button.clicked.connect(self.generate_page)
        row.addWidget(self.generate_button)
        row.addWidget(page_button)
        w.props_dock.actions_layout.addLayout(row)

    def _build_menus(self) -> None:
        w = self.window
        m = w.panel_menu
        m.addSeparator()
        m.addActions([self.act_generate, self.act_generate_page, self.act_vary, self.act_clear_mask])
        pan = m.addMenu("Pan / Zoom Out")
        pan.addActions([*self.act_pan.values(), self.act_zoom15, self.act_zoom2])
        m.addAction(self.act_upscale)
        edit = next((a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == "Edit"), None)
        if edit is not None:
            edit.addSeparator()
            edit.addAction(self.act_preferences)
        self.characters_menu = w.menuBar().addMenu("&Characters")
        self.characters_menu.addActions([self.act_sheet, self.act_add_tiles, self.act_train])
        self.characters_menu.aboutToShow.connect(self.update_actions)
        cards = w.cards_dock.lists.get("character")
        if isinstance(cards, QListWidget):
            cards.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            cards.customContextMenuRequested.connect(self._card_menu)

    def _card_menu(self, pos) -> None:
        cards = self.window.cards_dock.lists["character"]
        item = cards.itemAt(pos)
        if item is None:
            return
        cards.setCurrentItem(item)
        self.update_actions()
        menu = QMenu(cards)
        menu.addActions([self.act_sheet, self.act_add_tiles, self.act_train])
        menu.exec(cards.viewport().mapToGlobal(pos))

    def _build_offer(self) -> None:
        sb = self.window.statusBar()
        self.offer_button = QPushButton()
        self.offer_button.setObjectName("ExtendOffer")
        self.offer_button.setFlat(False)
        self.offer_button.clicked.connect(self._accept_offer)
        self.offer_dismiss = QToolButton(text="✕", toolTip="Keep the panel as it is")
        self.offer_dismiss.clicked.connect(self._dismiss_offer)
        sb.addWidget(self.offer_button)
        sb.addWidget(self.offer_dismiss)
        self._offer: tuple[str, str, float] | None = None
        self._dismissed: set[tuple] = set()
        self._show_offer(None)

    # --- helpers ----------------------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        self.last_message = text
        self.window.statusBar().showMessage(text, 10000)

    def selected_panels(self) -> list[str]:
        """Selected panels of the shown page, in reading order."""
        page = self.view.page_scene.page
        ids = set(self.view.page_scene.selected_panel_ids())
        return [p.id for p in page.panels_in_reading_order() if p.id in ids] if page else []

    def _single_panel(self) -> str:
        ids = self.selected_panels()
        if len(ids) != 1:
            self.show_message("Select one panel first")
            return ""
        return ids[0]

    def update_actions(self) -> None:
        ids = self.selected_panels()
        self.act_generate.setEnabled(bool(ids))
        self.generate_button.setEnabled(bool(ids))
        self.act_generate_page.setEnabled(self.view.page_scene.page is not None)
        has_image = False
        if len(ids) == 1:
            has_image = self.doc.project.find_panel(ids[0])[1].image is not None
        for act in (*self.act_pan.values(), self.act_zoom15, self.act_zoom2, self.act_upscale):
            act.setEnabled(has_image)
        layer = self.view.mask_layer
        self.act_vary.setEnabled(layer is not None and layer.panel_id in ids)
        self.act_clear_mask.setEnabled(layer is not None)
        card = self.current_card()
        self.act_sheet.setEnabled(card is not None)
        self.act_train.setEnabled(card is not None and not self.trainer.running)
        self.act_add_tiles.setEnabled(card is not None and bool(ids))

    # --- generation -------------------------------------------------------------------------------

    def generate_selected(self) -> list[str]:
        ids = self.selected_panels()
        if not ids:
            self.show_message("Select a panel to generate")
            return []
        return self.queue.submit_panels(ids, repeat=self.repeat.value(), select=self.act_auto_pick.isChecked())

    def generate_page(self) -> list[str]:
        page = self.view.page_scene.page
        if page is None:
            return []
        return self.queue.submit_page(page.id, repeat=self.repeat.value(), select=self.act_auto_pick.isChecked())

    def vary_region(self) -> list[str]:
        layer = self.view.mask_layer
        if layer is None or layer.is_empty():
            self.show_message("Paint a mask on the panel image first (Mask tool, M)")
            return []
        prompt = self.region_prompt.text().strip() or None
        return self.queue.submit_panels([layer.panel_id], JobKind.VARY_REGION, mask=layer.mask_image(),
                                        prompt=prompt, extra={"feather_px": self.feather.value()},
                                        repeat=self.repeat.value(), select=self.act_auto_pick.isChecked())

    def clear_mask(self) -> None:
        if self.view.mask_layer is not None:
            self.view.mask_layer.clear()
        self.view.drop_mask()

    def extend(self, direction: str | None = None, zoom_out: float | None = None,
               amount: float | None = None, panel_id: str | None = None) -> list[str]:
        """Pan (``direction`` by ``amount``, default the toolbar's) or zoom out the selected panel."""
        panel_id = panel_id or self._single_panel()
        if not panel_id:
            return []
        spec = pan_spec(direction, amount if amount is not None else self.pan_amount.value(), zoom_out)
        return self.queue.submit_panels([panel_id], JobKind.OUTPAINT, outpaint=spec,
                                        select=self.act_auto_pick.isChecked())

    # --- upscale to print ------------------------------------------------------------------------

    def _build_upscale_actions(self) -> None:
        self.act_upscale = self._action("Upscale to Print", self.upscale_to_print, None,
                                        "Bring the panel image to the page's print size at the project dpi "
                                        "(Lanczos), with the optional tiled refine")

    def _build_upscale_toolbar(self, tb: QToolBar) -> None:
        tb.addSeparator()
        tb.addAction(self.act_upscale)
        self.refine_strength = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=0.0, decimals=2,
                                              prefix="Refine ", specialValueText="No refine",
                                              toolTip="After upscaling, refine with img2img over overlapping "
                                                      "tiles at this strength (0: no refine)")
        self.refine_strength.setObjectName("RefineStrength")
        tb.addWidget(self.refine_strength)

    def upscale_to_print(self, refine: float | None = None, panel_id: str | None = None) -> list[str]:
        """Queue an UPSCALE job for the selected panel: its print size at the project dpi;
        ``refine`` (default: the toolbar's strength, 0 = off) adds a tiled img2img refine."""
        panel_id = panel_id or self._single_panel()
        if not panel_id:
            return []
        strength = self.refine_strength.value() if refine is None else refine
        overrides = {"refine_strength": float(strength)} if strength and strength > 0 else {}
        return self.queue.submit_panels([panel_id], JobKind.UPSCALE, overrides, select=self.act_auto_pick.isChecked())

    # --- extend-after-resize offer --------------------------------------------------------------

    def _check_offer(self, *_) -> None:
        ids = self.selected_panels()
        offer = None
        if len(ids) == 1:
            panel = self.doc.project.panel_or_none(ids[0])
            if panel is not None and panel.image:
                size = self.view.page_scene.pixmaps.size(self.doc.project.images, panel.image)
                sides = uncovered_sides(panel.bbox, size, panel.placement) if size[0] else {}
                if sides:
                    side, gap = max(sides.items(), key=lambda kv: kv[1])
                    p = panel.placement
                    key = (panel.id, panel.image, tuple(panel.bbox.as_list()), p.offset_x, p.offset_y, p.scale)
                    if key not in self._dismissed:
                        offer = (panel.id, side, min(4.0, round(gap + 0.02, 3)), key, sorted(sides))
        self._show_offer(offer)

    def _show_offer(self, offer) -> None:
        self._offer = offer
        self.offer_button.setVisible(offer is not None)
        self.offer_dismiss.setVisible(offer is not None)
        if offer is not None:
            sides = ", ".join(offer[4])
            self.offer_button.setText(f"The image no longer fills the panel ({sides}): Extend {offer[1]}")
            self.offer_button.setToolTip("Outpaint the missing part; the visible pixels stay as they are")

    def _accept_offer(self) -> list[str]:
        offer = self._offer
        if offer is None:
            return []
        self._dismissed.add(offer[3])
        self._show_offer(None)
        return self.extend(direction=offer[1], amount=offer[2], panel_id=offer[0])

    def _dismiss_offer(self) -> None:
        if self._offer is not None:
            self._dismissed.add(self._offer[3])
        self._show_offer(None)

    # --- preferences ------------------------------------------------------------------------------

    def preferences(self) -> PreferencesDialog:
        dialog = PreferencesDialog(self.doc, self.queue.settings, self.window)
        dialog.accepted.connect(lambda: self.apply_preferences(dialog))
        dialog.open()
        return dialog

    def apply_preferences(self, dialog: PreferencesDialog) -> None:
        engine = dialog.apply(self.window.settings)
        self.queue.configure(engine)
        self.trainer.models_dir = engine.models_dir

    # --- characters: sheet, tiles, LoRA -----------------------------------------------------------

    def current_card(self) -> CharacterCard | None:
        """The character card chosen in the library, else the one bound to the selected panel."""
        cards = self.window.cards_dock.lists.get("character")
        item = cards.currentItem() if cards is not None else None
        project = self.doc.project
        card_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if card_id is None:
            ids = self.selected_panels()
            if ids:
                panel = project.find_panel(ids[0])[1]
                card_id = panel.characters[0].card if panel.characters else None
        try:
            card = project.card(card_id) if card_id else None
        except KeyError:
            return None
        return card if isinstance(card, CharacterCard) else None

    def create_sheet(self) -> str | None:
        card = self.current_card()
        if card is None:
            self.show_message("Choose a character card in the Card Library first")
            return None
        page_id = self.view.run_edit(sheet.create_sheet_page, self.doc, card.id)
        if isinstance(page_id, str):
            self.view.page_scene.set_page(page_id)
            self.show_message(f"Character sheet of {card.name} added: Generate Page fills its tiles")
            return page_id
        return None

    def add_tiles(self) -> int:
        card, ids = self.current_card(), self.selected_panels()
        if card is None or not ids:
            self.show_message("Select sheet tiles and a character card first")
            return 0
        added = self.view.run_edit(sheet.add_tiles_to_card, self.doc, card.id, ids)
        if isinstance(added, int) and not isinstance(added, bool):
            self.show_message(f"{added} reference{'s' if added != 1 else ''} added to {card.name}")
            return added
        return 0

    def train(self, options: dict | None = None) -> bool:
        """Ask for the options (unless given), then train the current card's LoRA in the background."""
        card = self.current_card()
        if card is None:
            self.show_message("Choose a character card in the Card Library first")
            return False
        if options is None:
            dialog = TrainDialog(card.name, self.trainer.checkpoint_exists(card.id), self.window)
            if dialog.exec() != TrainDialog.DialogCode.Accepted:
                return False
            options = dialog.options()
        options = dict(options)
        resume = bool(options.pop("resume", False))
        options.setdefault("device", self.queue.settings.device)
        started = self.trainer.start(card.id, resume=resume, **options)
        self.update_actions()
        return started

    # --- shutdown ---------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Cancel every job and training run and join their threads (the window is closing)."""
        self.queue.stop()
        self.trainer.stop()


def install(window: "MainWindow") -> GenerationUI:
    """Add the generation controls to ``window``; keep the returned object (``window.generation``)."""
    return GenerationUI(window)
