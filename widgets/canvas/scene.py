"""The scene: a projection of one page of the document, rebuilt or patched from its signals."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from app.document import Document
from app.project import Balloon, Page, Panel, ReadingOrder

from . import style
from .badges import BadgeStripItem
from .balloon_item import BalloonItem
from .overlays import OrderNumberItem, SnapGuideItem, knife_line, rubber_rect
from .page_item import PageItem
from .panel_item import PanelItem
from .jobs_overlay import PanelJobs
from .loop_player import LoopPlayer
from .pixmaps import PixmapCache

CanvasItem = PanelItem | BalloonItem


class PageScene(QGraphicsScene):
    """Shows ``page_id`` of ``doc``; never edits the model (tools call :mod:`app.edits`)."""

    pageShown = Signal(str)  # the page now shown ("" for none)

    def __init__(self, doc: Document, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.pixmaps = PixmapCache()
        self.pixmaps.ready.connect(self._on_scaled)
        self.panel_jobs: dict[str, PanelJobs] = {}  # panel id → its queued / generating state
        self.page_id = ""
        self.items_by_id: dict[str, CanvasItem] = {}
        self.page_item: PageItem | None = None
        self._project = doc.project  # the project the items were made for (a new one: rebuilt)
        self.show_order = False
        self.corner_mode = False  # Edit Corners: selected panels show a handle per corner
        self._order_items: list[OrderNumberItem] = []
        self.setBackgroundBrush(style.DESK)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)  # few items, many moves
        self.snap_guide = SnapGuideItem()
        self.knife = knife_line()
        self.rubber = rubber_rect()
        for item in (self.snap_guide, self.knife, self.rubber):
            self.addItem(item)
        self.snap_guide.setVisible(False)
        doc.pagesChanged.connect(self._on_pages_changed)
        doc.pageChanged.connect(self._on_page_changed)
        doc.itemsChanged.connect(self._on_items_changed)
        doc.cardsChanged.connect(self._on_cards_changed)
        self._on_pages_changed()
        self.loop_player = LoopPlayer(self)  # after the handlers above: it reads the items they made

    # --- which page ----------------------------------------------------------------------------

    @property
    def page(self) -> Page | None:
        try:
            return self.doc.project.page(self.page_id)
        except KeyError:
            return None

    def set_page(self, page_id: str) -> None:
        if page_id != self.page_id:
            self.page_id = page_id
            self.rebuild(keep_selection=False)
            self.pageShown.emit(page_id)

    def _on_pages_changed(self) -> None:
        pages = self.doc.project.pages
        if not any(p.id == self.page_id for p in pages):
            self.page_id = ""
            self.set_page(pages[0].id if pages else "")
            if not pages:
                self.rebuild(keep_selection=False)
        else:
            self.update_page()

    def _on_page_changed(self, page_id: str) -> None:
        if page_id == self.page_id:
            self.update_page()

    def _on_cards_changed(self) -> None:
        for item in self.items_by_id.values():
            if isinstance(item, PanelItem):
                item.set_panel(item.panel, item.stroke_mm)  # re-reads card names for badges

    def _on_items_changed(self, page_id: str, ids: list) -> None:
        page = self.page
        if page_id != self.page_id or page is None:
            return
        for item_id in ids:
            item = self.items_by_id.get(item_id)
            model = page.item(item_id)
            if isinstance(item, PanelItem):
                item.set_panel(model, page.stroke_mm)
            elif isinstance(item, BalloonItem):
                item.set_balloon(model)
        self._update_order()

    # --- building ------------------------------------------------------------------------------

    def update_page(self) -> None:
        """Show the page as it is now, keeping the items of panels and balloons the edit left alone
        (their cached pictures too) and patching the others; a new project or page is rebuilt."""
        page = self.page
        if page is None or self.page_item is None or self._project is not self.doc.project:
            self.rebuild()
            return
        models = [*page.panels, *page.balloons]
        ids = {m.id for m in models}
        for item_id in [i for i in self.items_by_id if i not in ids]:
            self.removeItem(self.items_by_id.pop(item_id))
        if self.page_item.page is not page:
            self.page_item.set_page(page)
        ordered: list[CanvasItem] = []
        for model in models:
            item = self.items_by_id.get(model.id)
            if isinstance(model, Balloon):
                if not isinstance(item, BalloonItem):
                    item = self._add_balloon(model)
                elif item.balloon is not model:
                    item.set_balloon(model)
            elif not isinstance(item, PanelItem):
                item = self._add_panel(model, page.stroke_mm)
            elif item.panel is not model or item.stroke_mm != page.stroke_mm:
                item.set_panel(model, page.stroke_mm)
            ordered.append(item)
        for below, above in zip(ordered, ordered[1:]):  # items of equal z: stacked in the page's order
            below.stackBefore(above)
        self._set_scene_rect(page)
        self._update_order()

    def _add_panel(self, panel: Panel, stroke_mm: float) -> PanelItem:
        old = self.items_by_id.pop(panel.id, None)
        if old is not None:
            self.removeItem(old)
        item = PanelItem(panel, stroke_mm, self.doc.project, self.pixmaps)
        item.set_corner_mode(self.corner_mode)
        item.set_jobs(self.panel_jobs.get(panel.id))
        self.addItem(item)
        self.items_by_id[panel.id] = item
        return item

    def _add_balloon(self, balloon: Balloon) -> BalloonItem:
        old = self.items_by_id.pop(balloon.id, None)
        if old is not None:
            self.removeItem(old)
        item = BalloonItem(balloon)
        self.addItem(item)
        self.items_by_id[balloon.id] = item
        return item

    def _set_scene_rect(self, page: Page) -> None:
        margin = max(page.width_mm, page.height_mm) * 0.25
        self.setSceneRect(QRectF(-margin, -margin, page.width_mm + 2 * margin, page.height_mm + 2 * margin))

    def rebuild(self, keep_selection: bool = True) -> None:
        selected = set(self.selected_ids()) if keep_selection else set()
        for item in self.items_by_id.values():
            self.removeItem(item)  # a panel takes its badge strip along (itemChange)
        self.items_by_id.clear()
        if self.page_item is not None:
            self.removeItem(self.page_item)
            self.page_item = None
        page = self.page
        if page is None:
            self._update_order()
            return
        self._project = self.doc.project
        self.pixmaps.prewarm(self._project.images, [panel.image for panel in page.panels if panel.image])
        self.page_item = PageItem(page)
        self.addItem(self.page_item)
        for panel in page.panels:
            self._add_panel(panel, page.stroke_mm)
        for balloon in page.balloons:
            self._add_balloon(balloon)
        for item_id in selected & set(self.items_by_id):
            self.items_by_id[item_id].setSelected(True)
        self._set_scene_rect(page)
        self._update_order()

    def _update_order(self) -> None:
        for item in self._order_items:
            self.removeItem(item)
        self._order_items = []
        page = self.page
        if not self.show_order or page is None:
            return
        for n, panel in enumerate(page.panels_in_reading_order(), start=1):
            item = OrderNumberItem(n)
            b = panel.bbox
            rtl = ReadingOrder(page.reading_order) == ReadingOrder.RTL
            item.setPos(b.right - 5 if rtl else b.x + 5, b.bottom - 5)
            self.addItem(item)
            self._order_items.append(item)

    def set_panel_jobs(self, jobs: dict[str, PanelJobs]) -> None:
        """Show which panels are queued or generating (panels not in ``jobs`` have no job)."""
        self.panel_jobs = dict(jobs)
        for item_id, item in self.items_by_id.items():
            if isinstance(item, PanelItem) and (item.jobs is not None or item_id in self.panel_jobs):
                item.set_jobs(self.panel_jobs.get(item_id))

    def _on_scaled(self, key: str) -> None:
        for item in self.items_by_id.values():
            if isinstance(item, PanelItem) and item.panel.image == key:
                item.update()

    def set_corner_mode(self, on: bool) -> None:
        self.corner_mode = on
        for item in self.items_by_id.values():
            if isinstance(item, PanelItem):
                item.set_corner_mode(on)

    def set_show_order(self, on: bool) -> None:
        self.show_order = on
        self._update_order()

    def set_show_guides(self, on: bool) -> None:
        if self.page_item is not None:
            self.page_item.show_guides = on
            self.page_item.update()

    # --- queries -------------------------------------------------------------------------------

    def selected_ids(self) -> list[str]:
        return [i.item_id for i in self.selectedItems() if isinstance(i, (PanelItem, BalloonItem))]

    def selected_panel_ids(self) -> list[str]:
        return [i.item_id for i in self.selectedItems() if isinstance(i, PanelItem)]

    def selected_panels_in_reading_order(self) -> list[str]:
        """Selected panels of the shown page, in reading order."""
        page, ids = self.page, set(self.selected_panel_ids())
        return [p.id for p in page.panels_in_reading_order() if p.id in ids] if page else []

    def select_ids(self, ids: list[str]) -> None:
        self.clearSelection()
        for item_id in ids:
            if item_id in self.items_by_id:
                self.items_by_id[item_id].setSelected(True)

    def canvas_item_at(self, pos, transform) -> QGraphicsItem | None:
        """Topmost handle, panel or balloon under a scene point."""
        for item in self.items(pos, deviceTransform=transform):
            if isinstance(item, (PanelItem, BalloonItem)) or getattr(item, "role", None):
                return item
            if isinstance(item, BadgeStripItem):
                return item
        return None

    def panel_at(self, pos, transform) -> PanelItem | None:
        for item in self.items(pos, deviceTransform=transform):
            if isinstance(item, PanelItem):
                return item
        return None
