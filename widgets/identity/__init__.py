"""Identity and style in the window: card editor, Consistency dock, score badges, character regions.

``install(window)`` adds all of it to a :class:`widgets.main_window.MainWindow` (which lists the dock
in its Docks menu); connect ``window.identity.regenerateRequested(panel_id, overrides)`` to the job
queue. The character tools (sheet, tiles, LoRA training) are in :mod:`widgets.identity.characters`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMainWindow

from app.background import BackgroundTasks

from .canvas import IdentityCanvas
from .consistency_dock import ConsistencyDock
from app.identity.face_analysis import FaceAnalysis
from app.identity.consistency_scores import ConsistencyScores

if TYPE_CHECKING:  # the card editor (and the model line it shows) loads when a card is first edited
    from .card_editor import CardEditor

__all__ = ["IdentityUi", "install", "CardEditor", "ConsistencyDock", "IdentityCanvas"]


class IdentityUi(QObject):
    """Uses the window's background tasks; owns the face/score caches, the dock, the canvas hooks, the editors."""

    regenerateRequested = Signal(str, dict)  # panel id, overrides {"identity_strength", "seed"}

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        doc = window.doc
        self.tasks: BackgroundTasks = window.tasks  # shared with the job queue; the window shuts it down
        self.faces = FaceAnalysis(doc, self.tasks, self)
        self.scores = ConsistencyScores(doc, self.tasks, self.faces, self)
        self.dock = ConsistencyDock(doc, self.scores, window)
        self.canvas = IdentityCanvas(window.view, self.scores, self)
        self.editors: dict[str, CardEditor] = {}
        self.dock.regenerateRequested.connect(self.regenerateRequested)
        self.dock.panelChosen.connect(lambda pid: window.view.page_scene.select_ids([pid]))
        self.canvas.editCardRequested.connect(self.edit_card)
        window.view.page_scene.pageShown.connect(self.dock.set_page)
        self.dock.set_page(window.view.page_scene.page_id)

    def edit_card(self, card_id: str) -> CardEditor:
        """Open (or raise) the editor of a card."""
        from .card_editor import CardEditor

        editor = self.editors.get(card_id)
        if editor is None or not editor.isVisible():
            editor = CardEditor(self.window.doc, card_id, self.faces, self.window, models_dir=self._models_dir)
            editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            editor.message.connect(lambda text: self.window.statusBar().showMessage(text, 5000))
            editor.destroyed.connect(lambda _=None, c=card_id: self.editors.pop(c, None))
            self.editors[card_id] = editor
        editor.show()
        editor.raise_()
        editor.activateWindow()
        return editor

    def _models_dir(self) -> str | None:
        """The models folder the window's jobs use (Preferences), read when an editor refreshes."""
        generation = getattr(self.window, "generation", None)
        return generation.queue.settings.models_dir if generation is not None else None

    def wait(self, msecs: int = -1) -> bool:
        return self.tasks.wait(msecs)


def __getattr__(name: str) -> Any:
    """``CardEditor`` (in ``__all__``) is imported on first use."""
    if name == "CardEditor":
        from .card_editor import CardEditor

        return CardEditor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def install(window: QMainWindow) -> IdentityUi:
    ui = IdentityUi(window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, ui.dock)
    window.tabifyDockWidget(window.variants_dock, ui.dock)
    window.variants_dock.raise_()
    window.cards_dock.editRequested.connect(ui.edit_card)
    return ui
