"""Character tools of a window: the character sheet, adding sheet tiles to a card, and LoRA training.

:class:`Characters` owns the :class:`~app.training_job.CardTrainer` and exposes its actions
(Create Character Sheet, Add Selected Tiles to Card, Train LoRA…); :mod:`widgets.actions` places them
in the Characters menu and the card library's context menu.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QListWidget, QWidget

from app.document import Document
from app.generation.queue import EngineSettings
from app.project import CharacterCard
from app.training_job import CardTrainer

from ..canvas import PageView
from ..generation.controller import make_action
from ..generation.training_dock import TrainDialog


class Characters(QObject):
    """The current character card (chosen in the library, else bound to the selected panel) and what
    can be made of it: a sheet page, references from sheet tiles, a LoRA trained in the background."""

    message = Signal(str)  # one line for the status bar

    def __init__(self, doc: Document, view: PageView, cards: QListWidget, engine: EngineSettings,
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.doc = doc
        self.view = view
        self.cards = cards
        self.engine = engine
        self.dialog_parent = parent
        self.trainer = CardTrainer(doc, engine.models_dir, self)
        a = lambda *args: make_action(parent, *args)  # noqa: E731
        self.act_sheet = a("Create Character Sheet", self.create_sheet, None,
                           "Add a page of views and expressions of the character (generate it with Generate Page)")
        self.act_add_tiles = a("Add Selected Tiles to Card", self.add_tiles, None,
                               "Make the selected panels' images references of the character card")
        self.act_train = a("Train LoRA…", self.train, None, "Train a LoRA of the character in the background")
        self.trainer.message.connect(self.message)
        self.trainer.failed.connect(lambda text: self.message.emit(f"Training: {text}"))
        for signal in (self.trainer.finished, self.trainer.failed, self.trainer.cancelled):
            signal.connect(self.update_actions)
        view.page_scene.selectionChanged.connect(self.update_actions)
        cards.currentItemChanged.connect(self.update_actions)
        doc.cardsChanged.connect(self.update_actions)
        self.update_actions()

    def configure(self, engine: EngineSettings) -> None:
        """Use new engine settings (models folder, device) for the next training run."""
        self.engine = engine
        self.trainer.models_dir = engine.models_dir

    def update_actions(self, *_) -> None:
        """Enable what the current card, the selection and the trainer allow."""
        card, ids = self.current_card(), self.view.page_scene.selected_panel_ids()
        self.act_sheet.setEnabled(card is not None)
        self.act_train.setEnabled(card is not None and not self.trainer.running)
        self.act_add_tiles.setEnabled(card is not None and bool(ids))

    def current_card(self) -> CharacterCard | None:
        """The character card chosen in the library, else the one bound to the selected panel."""
        item = self.cards.currentItem()
        project = self.doc.project
        card_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if card_id is None:
            ids = self.view.page_scene.selected_panels_in_reading_order()
            panel = project.panel_or_none(ids[0]) if ids else None
            if panel is not None and panel.characters:
                card_id = panel.characters[0].card
        try:
            card = project.card(card_id) if card_id else None
        except KeyError:
            return None
        return card if isinstance(card, CharacterCard) else None

    def create_sheet(self) -> str | None:
        """Add a character sheet page of the current card and show it; returns its page id."""
        card = self.current_card()
        if card is None:
            self.message.emit("Choose a character card in the Card Library first")
            return None
        from app import sheet

        page_id = self.view.run_edit(sheet.create_sheet_page, self.doc, card.id)
        if isinstance(page_id, str):
            self.view.page_scene.set_page(page_id)
            self.message.emit(f"Character sheet of {card.name} added: Generate Page fills its tiles")
            return page_id
        return None

    def add_tiles(self) -> int:
        """Make the selected panels' images references of the current card; returns how many were added."""
        card, ids = self.current_card(), self.view.page_scene.selected_panels_in_reading_order()
        if card is None or not ids:
            self.message.emit("Select sheet tiles and a character card first")
            return 0
        from app import sheet

        added = self.view.run_edit(sheet.add_tiles_to_card, self.doc, card.id, ids)
        if isinstance(added, int) and not isinstance(added, bool):
            self.message.emit(f"{added} reference{'s' if added != 1 else ''} added to {card.name}")
            return added
        return 0

    def train(self, options: dict | None = None) -> bool:
        """Ask for the options (unless given), then train the current card's LoRA in the background."""
        card = self.current_card()
        if card is None:
            self.message.emit("Choose a character card in the Card Library first")
            return False
        if options is None:
            dialog = TrainDialog(card.name, self.trainer.checkpoint_exists(card.id), self.dialog_parent)
            if dialog.exec() != TrainDialog.DialogCode.Accepted:
                return False
            options = dialog.options()
        options = dict(options)
        resume = bool(options.pop("resume", False))
        options.setdefault("device", self.engine.device)
        started = self.trainer.start(card.id, resume=resume, **options)
        self.update_actions()
        return started

    def shutdown(self) -> None:
        """Cancel a training run and join its thread (the window is closing)."""
        self.trainer.stop()
