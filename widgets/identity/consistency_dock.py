"""The Consistency dock: identity scores of the page's panels, flagged ones with a regenerate button."""

from __future__ import annotations

import random

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.document import Document
from app.project import CharacterCard

from app.identity.consistency_scores import ConsistencyScores

STRONGER_IDENTITY = 1.25  # see engine/conditioning/MAPPING.md, "Identity strength"
GOOD = QColor("#2e7d32")
BAD = QColor("#c62828")
COLUMNS = ("Panel", "Character", "Score", "Status", "Fix")


def stronger_identity_overrides() -> dict:
    """What "regenerate with stronger identity" asks of the generation controller."""
    return {"identity_strength": STRONGER_IDENTITY, "seed": random.randrange(2**32)}


class ConsistencyDock(QDockWidget):
    regenerateRequested = Signal(str, dict)  # panel id, request overrides
    panelChosen = Signal(str)  # a row was clicked: show that panel

    def __init__(self, doc: Document, scores: ConsistencyScores, parent: QWidget | None = None) -> None:
        super().__init__("Consistency", parent)
        self.setObjectName("ConsistencyDock")
        self.doc = doc
        self.scores = scores
        self.page_id = ""
        self.rows: list[dict] = []  # panel, card, score (None while computing), flagged
        self._shown: tuple | None = None  # (rows, threshold) the table shows
        self.threshold = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=1.0, singleStep=0.05,
                                        value=scores.threshold)
        self.threshold.setToolTip("Panels whose character scores below this are flagged "
                                  "(0.5: same person; see engine/faces/CALIBRATION.md)")
        self.threshold.valueChanged.connect(scores.set_threshold)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.cellClicked.connect(lambda r, _c: self.panelChosen.emit(self.rows[r]["panel"])
                                       if 0 <= r < len(self.rows) else None)
        top = QHBoxLayout()
        top.addWidget(QLabel("Flag below"))
        top.addWidget(self.threshold)
        top.addStretch()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        self.setWidget(body)
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.refresh)
        for sig in (doc.pagesChanged, doc.cardsChanged, doc.imagesChanged, scores.changed):
            sig.connect(self._timer.start)
        doc.pageChanged.connect(lambda _p: self._timer.start())
        doc.itemsChanged.connect(lambda _p, _i: self._timer.start())
        scores.thresholdChanged.connect(self._threshold_changed)

    def set_page(self, page_id: str) -> None:
        self.page_id = page_id
        self.refresh()

    def _threshold_changed(self, value: float) -> None:
        if abs(self.threshold.value() - value) > 1e-9:
            self.threshold.blockSignals(True)
            self.threshold.setValue(value)
            self.threshold.blockSignals(False)
        self.refresh()

    def _collect(self) -> list[dict]:
        try:
            page = self.doc.project.page(self.page_id)
        except KeyError:
            return []
        rows = []
        for number, panel in enumerate(page.panels_in_reading_order(), 1):
            if panel.image is None or not panel.characters:
                continue
            found = self.scores.scores(panel)
            by_card = {s["card"]: s["score"] for s in found or []}
            no_face = {s["card"] for s in found or [] if not s.get("face", True)}
            for binding in panel.characters:
                try:
                    card = self.doc.project.card(binding.card)
                except KeyError:
                    continue
                if not isinstance(card, CharacterCard):
                    continue
                score = by_card.get(card.id) if found is not None else None
                rows.append({"panel": panel.id, "number": number, "card": card.id, "name": card.name,
                             "score": score, "no_face": card.id in no_face,
                             "flagged": score is not None and card.id not in no_face
                             and score < self.scores.threshold})
        return rows

    def refresh(self) -> None:
        rows = self._collect()
        if (rows, self.scores.threshold) == self._shown:  # e.g. a move or a balloon: nothing to lay out again
            return
        self._shown = (rows, self.scores.threshold)
        self.rows = rows
        table = self.table
        table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            score = row["score"]
            cells = [str(row["number"]), row["name"], "…" if score is None else "—" if row["no_face"] else f"{score:.2f}",
                     "computing" if score is None else "no face" if row["no_face"]
                     else "flagged" if row["flagged"] else "consistent"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c in (0, 2):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if score is not None and not row["no_face"] and c in (2, 3):
                    item.setForeground(QBrush(BAD if row["flagged"] else GOOD))
                table.setItem(r, c, item)
            if row["flagged"]:
                button = QPushButton("Regenerate")
                button.setToolTip(f"Generate panel {row['number']} again with a new seed and the character's "
                                  f"identity scales ×{STRONGER_IDENTITY} (regenerate with stronger identity)")
                button.clicked.connect(lambda _=False, pid=row["panel"]: self.regenerate(pid))
                table.setCellWidget(r, 4, button)
            else:
                table.removeCellWidget(r, 4)
                table.setItem(r, 4, QTableWidgetItem(""))
        flagged = sorted({row["panel"] for row in self.rows if row["flagged"]})
        pending = any(row["score"] is None for row in self.rows)
        if not self.rows:
            text = "No panel on this page has both an image and a bound character."
        else:
            panels = len({row["panel"] for row in self.rows})
            text = f"{panels} panel{'s' if panels != 1 else ''} scored"
            text += f", {len(flagged)} flagged below {self.scores.threshold:.2f}" if flagged else ", all consistent"
            if pending:
                text += " (scoring…)"
        self.summary.setText(text)

    def regenerate(self, panel_id: str) -> None:
        self.regenerateRequested.emit(panel_id, stronger_identity_overrides())
