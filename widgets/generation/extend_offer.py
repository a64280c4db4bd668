"""The extend-after-resize offer: a status-bar button shown while the selected panel's image no longer
fills its frame (after a resize or a reframe); one click outpaints the largest missing side."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPushButton, QStatusBar, QToolButton

from app.document import Document
from app.placement import uncovered_sides

from ..canvas import PageView
from .controller import GenerationController


class ExtendOffer(QObject):
    """Watches the selection and the document; offers one outpaint per panel state until dismissed."""

    def __init__(self, doc: Document, view: PageView, generation: GenerationController,
                 status_bar: QStatusBar) -> None:
        super().__init__(status_bar)
        self.doc = doc
        self.view = view
        self.generation = generation
        self.button = QPushButton()
        self.button.setObjectName("ExtendOffer")
        self.button.setFlat(False)
        self.button.setToolTip("Outpaint the missing part; the visible pixels stay as they are")
        self.button.clicked.connect(self.accept)
        self.dismiss_button = QToolButton(text="✕", toolTip="Keep the panel as it is")
        self.dismiss_button.clicked.connect(self.dismiss)
        status_bar.addWidget(self.button)
        status_bar.addWidget(self.dismiss_button)
        self._offer: tuple | None = None  # panel id, side, amount, panel state, uncovered sides
        self._dismissed: set[tuple] = set()
        self._show(None)
        doc.itemsChanged.connect(self.check)
        view.page_scene.selectionChanged.connect(self.check)

    def check(self, *_) -> None:
        """Offer to extend the selected panel's image when it leaves part of the frame empty."""
        ids = self.view.page_scene.selected_panels_in_reading_order()
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
        self._show(offer)

    def _show(self, offer: tuple | None) -> None:
        self._offer = offer
        self.button.setVisible(offer is not None)
        self.dismiss_button.setVisible(offer is not None)
        if offer is not None:
            self.button.setText(f"The image no longer fills the panel ({', '.join(offer[4])}): Extend {offer[1]}")

    def accept(self) -> list[str]:
        """Queue the offered outpaint; returns the job ids."""
        offer = self._offer
        if offer is None:
            return []
        self._dismissed.add(offer[3])
        self._show(None)
        return self.generation.extend(direction=offer[1], amount=offer[2], panel_id=offer[0])

    def dismiss(self) -> None:
        """Hide the offer until the panel changes again."""
        if self._offer is not None:
            self._dismissed.add(self._offer[3])
        self._show(None)
