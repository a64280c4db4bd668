"""A dismissible bar above the canvas for notes too long for the status bar; each note once per run."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

DOCS = Path(__file__).resolve().parent.parent / "README.md"
NOTE_MARK = ": note: "
_SETTINGS_WORDS = ("model", "pack", "checkpoint", "pipeline", "device", "folder")


def is_note(text: str) -> bool:
    """Whether ``text`` is a note (``label: note: …``), shown in the note bar rather than the status bar."""
    return NOTE_MARK in text


def note_key(text: str) -> str:
    """What makes a note the same note: the part after ``label: note:`` (the panel's label varies)."""
    return text.split(NOTE_MARK, 1)[1] if NOTE_MARK in text else text


class NoteBar(QFrame):
    """Shows one note with a button to Preferences (for model notes) or to the docs, and a close button."""

    def __init__(self, open_preferences: Callable[[], object], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoteBar")
        self.setStyleSheet("#NoteBar { background: #fff4d6; border-bottom: 1px solid #e0c27a; }"
                           "#NoteBar QLabel { color: #4a3800; }")
        self._open_preferences = open_preferences
        self._seen: set[str] = set()
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel(wordWrap=True)
        self.label.setTextFormat(self.label.textFormat().PlainText)
        self.action = QPushButton()
        self.action.clicked.connect(self._act)
        self.close_button = QToolButton(text="✕", toolTip="Dismiss", autoRaise=True)
        self.close_button.clicked.connect(self.hide)
        row.addWidget(self.label, 1)
        row.addWidget(self.action)
        row.addWidget(self.close_button)
        self.hide()

    def show_note(self, text: str, again: bool = False) -> bool:
        """Show ``text``, a note only the first time in this run unless ``again`` (a problem the user
        asked about, such as a missing model); returns whether it is shown."""
        key = note_key(text)
        if key in self._seen and not again:
            return False
        self._seen.add(key)
        self.label.setText(text)
        settings = any(w in key.lower() for w in _SETTINGS_WORDS)
        self.action.setText("Preferences…" if settings else "Read the docs")
        self.action.setProperty("target", "preferences" if settings else "docs")
        self.show()
        return True

    def _act(self) -> None:
        if self.action.property("target") == "preferences":
            self._open_preferences()
        else:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(DOCS)))
