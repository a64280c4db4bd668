"""Panel properties: prompt, negative prompt, seed and the bound cards with their cw/sw sliders.

Typing and slider drags are merged into one undo step each (``merge=True`` edits)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDockWidget, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QSlider, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from app import edits
from app.document import Document
from app.project import CW_RANGE, SW_RANGE, CharacterCard, Panel

SEED_RANDOM = -1


class BindingRow(QWidget):
    """One bound card: name, weight slider + spin box (cw 0–100 or sw 0–1000) and an unbind button."""

    def __init__(self, doc: Document, panel_id: str, card_id: str, name: str, is_char: bool, weight: int) -> None:
        super().__init__()
        self.doc, self.panel_id, self.card_id = doc, panel_id, card_id
        lo, hi = CW_RANGE if is_char else SW_RANGE
        unit = "cw" if is_char else "sw"
        self.label = QLabel(f"{name}")
        self.label.setMinimumWidth(70)
        self.label.setToolTip(f"{'Character' if is_char else 'Style'} card {name}")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(lo, hi)
        self.spin = QSpinBox()
        self.spin.setRange(lo, hi)
        self.spin.setPrefix(f"{unit} ")
        self.spin.setMinimumWidth(78)
        self.set_weight(weight)
        unbind = QToolButton(text="×", toolTip="Unbind this card from the panel")
        unbind.clicked.connect(lambda: edits.unbind_card(self.doc, self.panel_id, self.card_id))
        self.slider.valueChanged.connect(self._changed)
        self.spin.valueChanged.connect(self._changed)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        row.addWidget(unbind)

    def set_weight(self, weight: int) -> None:
        for w in (self.slider, self.spin):
            w.blockSignals(True)
            w.setValue(weight)
            w.blockSignals(False)

    def _changed(self, value: int) -> None:
        self.set_weight(value)
        edits.bind_card(self.doc, self.panel_id, self.card_id, value, merge=True)


class PanelPropertiesDock(QDockWidget):
    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__("Panel", parent)
        self.setObjectName("PanelPropertiesDock")
        self.doc = doc
        self.panel_id = ""
        self._rows: dict[str, BindingRow] = {}
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("What happens in this panel…")
        self.prompt.setMaximumHeight(90)
        self.negative = QLineEdit()
        self.negative.setPlaceholderText("Things to avoid")
        self.seed = QSpinBox()
        self.seed.setRange(SEED_RANDOM, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        self.cards_box = QGroupBox("Bound cards")
        self.cards_layout = QVBoxLayout(self.cards_box)
        self.cards_layout.setContentsMargins(6, 6, 6, 6)
        self.empty_cards = QLabel("Drag a character or style card onto the panel to bind it.")
        self.empty_cards.setWordWrap(True)
        self.empty_cards.setStyleSheet("color: palette(mid);")
        self.cards_layout.addWidget(self.empty_cards)
        self.hint = QLabel("Select one panel to edit its prompt and cards.")
        self.hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Prompt", self.prompt)
        form.addRow("Negative", self.negative)
        form.addRow("Seed", self.seed)
        self.form_widget = QWidget()
        inner = QVBoxLayout(self.form_widget)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(form)
        inner.addWidget(self.cards_box)
        # buttons of the window's actions on the panel (widgets.actions puts Generate here)
        self.actions_layout = QVBoxLayout()
        inner.addLayout(self.actions_layout)
        inner.addStretch()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.hint)
        layout.addWidget(self.form_widget)
        self.setWidget(body)
        self.prompt.textChanged.connect(
            lambda: self._edit(prompt=self.prompt.toPlainText()))
        self.negative.textEdited.connect(lambda text: self._edit(negative_prompt=text))
        self.seed.valueChanged.connect(lambda v: self._edit(seed=None if v == SEED_RANDOM else v))
        doc.itemsChanged.connect(self._doc_changed)
        doc.pageChanged.connect(self._doc_changed)
        doc.pagesChanged.connect(self._doc_changed)
        doc.cardsChanged.connect(self._cards_changed)
        self.refresh()

    def _doc_changed(self, *_) -> None:
        self.refresh()

    def _cards_changed(self) -> None:
        self.refresh(force_rows=True)

    def panel(self) -> Panel | None:
        return self.doc.project.panel_or_none(self.panel_id)

    def set_panel(self, panel_id: str) -> None:
        if panel_id != self.panel_id:
            self.panel_id = panel_id
            self.refresh(force_rows=True)

    def _edit(self, **fields) -> None:
        if self.panel() is not None:
            edits.set_panel_fields(self.doc, self.panel_id, merge=True, **fields)

    def refresh(self, force_rows: bool = False) -> None:
        panel = self.panel()
        self.hint.setVisible(panel is None)
        self.form_widget.setVisible(panel is not None)
        if panel is None:
            return
        if self.prompt.toPlainText() != panel.prompt:
            self.prompt.blockSignals(True)
            self.prompt.setPlainText(panel.prompt)
            self.prompt.blockSignals(False)
        if self.negative.text() != panel.negative_prompt:
            self.negative.setText(panel.negative_prompt)
        seed = SEED_RANDOM if panel.seed is None else min(panel.seed, 2**31 - 1)
        if self.seed.value() != seed:
            self.seed.blockSignals(True)
            self.seed.setValue(seed)
            self.seed.blockSignals(False)
        self._refresh_rows(panel, force_rows)

    def _refresh_rows(self, panel: Panel, force: bool) -> None:
        bindings = [*panel.characters, *panel.styles]
        if not force and [b.card for b in bindings] == list(self._rows):
            for b in bindings:
                self._rows[b.card].set_weight(b.weight)
            return
        for row in self._rows.values():
            row.setParent(None)
            row.deleteLater()
        self._rows = {}
        for b in bindings:
            try:
                card = self.doc.project.card(b.card)
            except KeyError:
                continue
            row = BindingRow(self.doc, panel.id, b.card, card.name, isinstance(card, CharacterCard), b.weight)
            self.cards_layout.addWidget(row)
            self._rows[b.card] = row
        self.empty_cards.setVisible(not self._rows)
