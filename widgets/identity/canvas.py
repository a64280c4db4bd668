"""Identity on the canvas: score badges on panels, character regions (badge menu and overlay)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QFont, QFontMetricsF, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QMenu, QStyleOptionGraphicsItem, QWidget

from app import edits
from app.project import CharacterCard, Panel

from ..canvas.badges import HEIGHT, BadgeStripItem, initials
from ..canvas.panel_item import PanelItem
from app.identity.consistency_scores import ConsistencyScores

GOOD = QColor("#2e7d32")
BAD = QColor("#c62828")
PENDING = QColor("#6b7280")
REGION_COLOURS = [QColor(15, 139, 141), QColor(209, 73, 91), QColor(237, 174, 73), QColor(48, 99, 142)]


class ScoreBadgeItem(QGraphicsItem):
    """"ID 0.82" after a panel's card badges (a child of its badge strip, so it follows the panel)."""

    def __init__(self, strip: BadgeStripItem) -> None:
        super().__init__(strip)
        self.font = QFont()
        self.font.setPixelSize(11)
        self.font.setBold(True)
        self.text = ""
        self.colour = PENDING
        self.width = 0.0

    def set_score(self, scores: list[dict] | None, threshold: float, names: dict[str, str]) -> None:
        self.prepareGeometryChange()
        if scores is None:
            self.text, self.colour = "ID …", PENDING
            tip = "Consistency score: computing…"
        elif scores and not any(s.get("face", True) for s in scores):
            self.text, self.colour = "no face", PENDING
            tip = "Consistency: no face found in this image (nothing to compare)"
        else:
            faced = [s for s in scores if s.get("face", True)]
            worst = min((s["score"] for s in faced), default=0.0)
            self.text = f"ID {worst:.2f}"
            self.colour = GOOD if worst >= threshold else BAD
            lines = [f"{names.get(s['card'], s['card'])}: {s['score']:.2f}" for s in scores]
            tip = "Consistency (same person ≥ %.2f)\n%s" % (threshold, "\n".join(lines))
        self.width = QFontMetricsF(self.font).horizontalAdvance(self.text) + 10
        self.setToolTip(tip)
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(0, 0, self.width, HEIGHT).adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.colour)
        rect = QRectF(0, 0, self.width, HEIGHT)
        painter.drawRoundedRect(rect, 9, 9)
        painter.setPen(Qt.GlobalColor.white)
        painter.setFont(self.font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.text)


class RegionOverlayItem(QGraphicsItem):
    """Translucent character regions over a panel (child of the panel item, in page mm)."""

    def __init__(self, panel_item: PanelItem) -> None:
        super().__init__(panel_item)
        self.panel_item = panel_item
        self.regions: list[tuple[str, list[float], bool]] = []  # label, x/y/w/h fractions, active
        self.setZValue(5)

    def set_regions(self, regions: list[tuple[str, list[float], bool]]) -> None:
        self.regions = regions
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        b = self.panel_item.box
        return QRectF(b.x, b.y, b.w, b.h)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        b = self.panel_item.box
        font = QFont()
        font.setPointSizeF(max(2.5, min(b.w, b.h) * 0.06))
        font.setBold(True)
        painter.setFont(font)
        for i, (label, (x, y, w, h), active) in enumerate(self.regions):
            colour = QColor(REGION_COLOURS[i % len(REGION_COLOURS)])
            rect = QRectF(b.x + x * b.w, b.y + y * b.h, w * b.w, h * b.h)
            colour.setAlpha(110 if active else 45)
            painter.setBrush(colour)
            pen = QPen(REGION_COLOURS[i % len(REGION_COLOURS)], 2 if active else 1,
                       Qt.PenStyle.SolidLine if active else Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawRect(rect)
            painter.setPen(Qt.GlobalColor.white if active else QColor(30, 30, 30))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)


class IdentityCanvas(QObject):
    """Adds score badges and the character-region menu/overlay to a :class:`PageView`.

    It only listens (document and score signals, an event filter on the view): the canvas code
    itself is unchanged. The selected binding is the character badge last clicked; its region
    shows while its panel stays selected.
    """

    editCardRequested = Signal(str)

    def __init__(self, view, scores: ConsistencyScores, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.scene = view.page_scene
        self.doc = view.doc
        self.scores = scores
        self.active: tuple[str, str] | None = None  # (panel id, card id)
        self.badges: dict[str, ScoreBadgeItem] = {}
        self.overlay: RegionOverlayItem | None = None
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.sync)
        doc = self.doc
        for sig in (doc.pagesChanged, doc.cardsChanged, doc.imagesChanged, scores.changed, self.scene.selectionChanged):
            sig.connect(self._timer.start)
        doc.pageChanged.connect(lambda _p: self._timer.start())
        doc.itemsChanged.connect(lambda _p, _i: self._timer.start())
        self.scene.pageShown.connect(lambda _p: self._timer.start())
        scores.thresholdChanged.connect(lambda _t: self._timer.start())
        view.viewport().installEventFilter(self)
        self.sync()

    # --- syncing -----------------------------------------------------------------------------------

    def panel_items(self) -> list[PanelItem]:
        return [i for i in self.scene.items_by_id.values() if isinstance(i, PanelItem)]

    def sync(self) -> None:
        names = {c.id: c.name for c in self.doc.project.characters}
        seen = set()
        for item in self.panel_items():
            panel = item.panel
            if panel.image is None or not any(b.card in names for b in panel.characters):
                continue
            badge = self.badges.get(panel.id)
            if badge is None or badge.parentItem() is not item.badges:
                if badge is not None and badge.scene() is not None:
                    badge.scene().removeItem(badge)
                badge = ScoreBadgeItem(item.badges)
                self.badges[panel.id] = badge
            badge.set_score(self.scores.scores(panel), self.scores.threshold, names)
            badge.setPos(item.badges.boundingRect().right() + 3, 0)
            seen.add(panel.id)
        for pid in list(self.badges):
            if pid not in seen:
                badge = self.badges.pop(pid)
                if badge.scene() is not None:
                    badge.scene().removeItem(badge)
        self._sync_overlay()

    def _sync_overlay(self) -> None:
        item = None
        if self.active is not None:
            item = self.scene.items_by_id.get(self.active[0])
            panel = item.panel if isinstance(item, PanelItem) else None
            if panel is None or not item.isSelected() or not any(b.card == self.active[1] for b in panel.characters):
                self.active, item = None, None
        if self.overlay is not None and (item is None or self.overlay.parentItem() is not item):
            if self.overlay.scene() is not None:
                self.overlay.scene().removeItem(self.overlay)
            self.overlay = None
        if item is None:
            return
        if self.overlay is None:
            self.overlay = RegionOverlayItem(item)
        self.overlay.set_regions(self.regions(item.panel, self.active[1]))

    def regions(self, panel: Panel, active_card: str) -> list[tuple[str, list[float], bool]]:
        """(label, region, active) of each bound character as it will be generated."""
        chars = [b for b in panel.characters if isinstance(self._card(b.card), CharacterCard)]
        regions = [b.region for b in chars]
        if len(chars) > 1 and any(r is None for r in regions):
            free = [i for i, r in enumerate(regions) if r is None]
            box = panel.bbox
            for k, i in enumerate(free):  # the panel halves the engine gives them
                n = len(free)
                regions[i] = [k / n, 0.0, 1 / n, 1.0] if box.w >= box.h else [0.0, k / n, 1.0, 1 / n]
        out = []
        for b, r in zip(chars, regions):
            card = self._card(b.card)
            out.append((initials(card.name), r or [0.0, 0.0, 1.0, 1.0], b.card == active_card))
        return out

    def _card(self, card_id: str):
        try:
            return self.doc.project.card(card_id)
        except KeyError:
            return None

    # --- the selected binding and its menu ------------------------------------------------------------

    def select_binding(self, panel_id: str, card_id: str) -> None:
        self.active = (panel_id, card_id)
        if panel_id not in self.scene.selected_ids():
            self.scene.select_ids([panel_id])
        self._sync_overlay()

    def character_badge_at(self, viewport_pos) -> tuple[str, str] | None:
        """(panel id, card id) of the character badge under a viewport point (not its ×)."""
        pos = self.view.mapToScene(viewport_pos)
        hit = self.scene.canvas_item_at(pos, self.view.viewportTransform())
        if not isinstance(hit, BadgeStripItem):
            return None
        found = hit.owner.badge_at(pos, self.view.viewportTransform())
        if not found or found[1]:
            return None
        card = self._card(found[0])
        if not isinstance(card, CharacterCard):
            return None
        return hit.owner.item_id, found[0]

    def badge_menu(self, panel_id: str, card_id: str) -> QMenu:
        """Region presets, edit and unbind for one character bound to a panel."""
        from app.identity import conditions  # with the first menu: the conditions pull in the request code

        card = self._card(card_id)
        panel = self.doc.project.find_panel(panel_id)[1]
        binding = next(b for b in panel.characters if b.card == card_id)
        menu = QMenu(self.view)
        menu.addSection(f"{card.name} — region in this panel")
        for label, region in conditions.REGION_PRESETS.items():
            act = menu.addAction(label, lambda r=region: self.set_region(panel_id, card_id, r))
            act.setCheckable(True)
            act.setChecked(binding.region == region)
        if binding.region is not None and binding.region not in conditions.REGION_PRESETS.values():
            act = menu.addAction("Custom region")
            act.setCheckable(True)
            act.setChecked(True)
            act.setEnabled(False)
        menu.addSeparator()
        menu.addAction("Edit Card…", lambda: self.editCardRequested.emit(card_id))
        menu.addAction(f"Unbind {card.name}", lambda: self.view.run_edit(edits.unbind_card, self.doc, panel_id, card_id))
        return menu

    def set_region(self, panel_id: str, card_id: str, region: list[float] | None) -> None:
        self.view.run_edit(edits.set_binding_region, self.doc, panel_id, card_id, region)
        self.select_binding(panel_id, card_id)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent) \
                and event.button() == Qt.MouseButton.LeftButton:
            found = self.character_badge_at(event.position().toPoint())
            if found:
                self.active = found  # the view then selects the panel; the overlay follows
                self._timer.start()
        elif kind == QEvent.Type.ContextMenu and isinstance(event, QContextMenuEvent):
            found = self.character_badge_at(event.pos())
            if found:
                self.select_binding(*found)
                self.badge_menu(*found).exec(event.globalPos())
                return True
        return False
