"""The Consistency dock after an edit: the table is laid out again only when what it shows changed."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QObject, Signal

from app import edits, layout
from app.document import Document
from app.project import Project
from widgets.identity.consistency_dock import ConsistencyDock


class Scores(QObject):
    """Stored scores (what ConsistencyScores answers once they are computed)."""

    changed = Signal()
    thresholdChanged = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self.threshold = 0.5

    def set_threshold(self, value: float) -> None:
        self.threshold = value
        self.thresholdChanged.emit(value)

    def scores(self, panel) -> list[dict]:
        return [{"card": b.card, "score": 0.3, "face": True} for b in panel.characters]


def test_a_move_leaves_the_table_and_a_threshold_change_lays_it_out(qtbot):
    project = Project()
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "2-tier"))
    doc = Document(project)
    card = edits.add_card(doc, "character", "Ann", [Image.new("RGB", (32, 32), "gray")])
    panel = doc.project.pages[0].panels[0]
    edits.bind_card(doc, panel.id, card, 30)
    edits.add_variant(doc, panel.id, Image.new("RGB", (64, 48), "red"))
    dock = ConsistencyDock(doc, Scores())
    qtbot.addWidget(dock)
    dock.set_page(doc.project.pages[0].id)
    cell = dock.table.item(0, 3)
    assert cell.text() == "flagged" and "1 flagged below 0.50" in dock.summary.text()
    edits.move_items(doc, doc.project.pages[0].id, [panel.id], 1.0, 0.0)
    dock.refresh()
    assert dock.table.item(0, 3) is cell  # nothing it shows changed: not filled again
    dock.scores.set_threshold(0.2)
    assert dock.table.item(0, 3).text() == "consistent" and "all consistent" in dock.summary.text()
