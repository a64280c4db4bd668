"""In-place balloon text editing: a QGraphicsTextItem over the balloon; typing is one undo step."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent, QTextOption
from PySide6.QtWidgets import QGraphicsTextItem

from app.lettering import lettering_font, text_rect
from app.project import Balloon


def _mm_per_unit() -> float:
    """Scale that makes a point-sized font measure its true size in a mm scene."""
    screen = QGuiApplication.primaryScreen()
    dpi = screen.logicalDotsPerInch() if screen else 96.0
    return 25.4 / dpi


class BalloonTextEditor(QGraphicsTextItem):
    """Edits ``balloon_id``'s text; ``on_text`` receives every change, ``on_done`` the end of editing."""

    def __init__(self, balloon: Balloon, on_text: Callable[[str], None], on_done: Callable[[], None]) -> None:
        super().__init__()
        self.balloon_id = balloon.id
        self._on_text = on_text
        self._on_done = on_done
        self._closing = False
        self.cancelled = False  # ended with Esc
        self.new_at: int | None = None  # undo index right after the balloon was drawn, for a new balloon
        self.setZValue(30_000)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextEditorInteraction)
        self.setFont(lettering_font(balloon.font, balloon.font_size))
        self.setPlainText(balloon.text)
        option = QTextOption(Qt.AlignmentFlag.AlignHCenter)
        option.setWrapMode(QTextOption.WrapMode.WordWrap)
        self.document().setDefaultTextOption(option)
        self.place(balloon)
        self.document().contentsChanged.connect(self._changed)

    def place(self, balloon: Balloon) -> None:
        """Fit the editor into the balloon's text area (wrap width = inner width)."""
        k = _mm_per_unit()
        self.setScale(k)
        area = text_rect(balloon)
        self.setTextWidth(area.width() / k)
        height_mm = self.boundingRect().height() * k
        self.setPos(area.x(), area.y() + max(0.0, (area.height() - height_mm) / 2))

    def sync_text(self, text: str) -> None:
        """Show the model's text (an undo happened) without echoing it back as an edit."""
        if self.toPlainText() != text:
            self._closing = True
            self.setPlainText(text)
            self._closing = False
            cursor = self.textCursor()
            cursor.movePosition(cursor.MoveOperation.End)
            self.setTextCursor(cursor)

    def _changed(self) -> None:
        if not self._closing:
            self._on_text(self.toPlainText())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape or (
                event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self.cancelled = event.key() == Qt.Key.Key_Escape
            self.finish()
            return
        super().keyPressEvent(event)

    def finish(self) -> None:
        if not self._closing:
            self._closing = True
            self._on_done()
