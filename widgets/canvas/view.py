"""The page view: zoom/pan, tool dispatch, keyboard nudges, drops of cards and images, context menu."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QEvent, QLineF, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (QAction, QContextMenuEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent,
                           QMouseEvent, QPainter, QWheelEvent)
from PySide6.QtWidgets import QGraphicsView, QMenu, QWidget

from app import edits
from app.document import Document
from app.project import BalloonKind, Placement

from .. import mime
from . import style
from .badges import BadgeStripItem
from .balloon_item import BalloonItem
from .panel_item import PanelItem
from .scene import PageScene
from .text_editor import BalloonTextEditor
from .mask import MaskLayer, MaskMode
from .handles import corner_index
from .tools import (TOOL_CURSORS, CornerGesture, CreateBalloonGesture, CreatePanelGesture, Gesture, KnifeGesture,
                    MaskGesture, MoveGesture, PanGesture, ReframeGesture, ResizeGesture, TailGesture, Tool)

CORNER_HINT = ("Edit Corners: drag a corner handle to reshape the panel (Shift: straight; Alt: no snapping); "
               "E, Esc or a double-click on the border to finish")

MIN_PX_PER_MM, MAX_PX_PER_MM = 0.15, 80.0


class PageView(QGraphicsView):
    zoomChanged = Signal(float)          # percent of real size
    cursorMoved = Signal(float, float)   # page mm
    message = Signal(str)                # a short notice for the status bar (failed edit, hint)
    panelActivated = Signal(str)         # double-click on a panel: focus its prompt
    toolChanged = Signal(str)
    maskChanged = Signal()               # the Vary Region mask was painted, cleared or dropped
    cornerModeChanged = Signal(bool)     # Edit Corners switched on or off

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.page_scene = PageScene(doc, self)
        self.setScene(self.page_scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
                            | QPainter.RenderHint.TextAntialiasing)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.tool = Tool.SELECT
        self.clipboard = None  # a widgets.clipboard.CanvasClipboard, for the context menu's Paste Here
        # the window's own actions offered in the context menu (None: a separator), set by widgets.actions
        self.item_actions: list[QAction | QMenu | None] = []   # on the selection (panels and balloons)
        self.panel_actions: list[QAction | QMenu | None] = []  # on the selected panels
        self.balloon_kind = BalloonKind.SPEECH
        self.snapping = True
        self.gesture: Gesture | None = None
        self._qt_drag = False
        self._space = False
        self._editor: BalloonTextEditor | None = None
        self._fit_pending = True
        self.mask_layer: MaskLayer | None = None  # the Vary Region mask (transient, not in the document)
        self.mask_mode = MaskMode.BRUSH
        self.brush_px = 32.0                      # brush diameter in image pixels
        doc.itemsChanged.connect(self._editor_follow)
        doc.itemsChanged.connect(self._mask_follow)
        self.page_scene.pageShown.connect(lambda _: self.drop_mask())
        self.page_scene.pageShown.connect(lambda _: self.fit_page())

    # --- edits ------------------------------------------------------------------------------------

    def run_edit(self, fn: Callable, *args, **kwargs) -> Any:
        """Run an :mod:`app.edits` function; a refused edit becomes a status message, not a traceback."""
        try:
            result = fn(*args, **kwargs)
        except (ValueError, KeyError) as exc:
            self.message.emit(str(exc).strip("'\""))
            return None
        return True if result is None else result

    @property
    def page_id(self) -> str:
        return self.page_scene.page_id

    def nudge(self, dx: float, dy: float) -> None:
        ids = self.page_scene.selected_ids()
        if ids:
            self.run_edit(edits.move_items, self.doc, self.page_id, ids, dx, dy)

    # --- tools and zoom ---------------------------------------------------------------------------

    @property
    def corner_mode(self) -> bool:
        return self.page_scene.corner_mode

    def set_corner_mode(self, on: bool) -> None:
        """Edit Corners: selected panels show a diamond per corner instead of the resize grips."""
        on = bool(on)
        if on == self.page_scene.corner_mode:
            return
        if on and self.tool != Tool.SELECT:
            self.set_tool(Tool.SELECT)
        self.page_scene.set_corner_mode(on)
        self.message.emit(CORNER_HINT if on else "Edit Corners off")
        self.cornerModeChanged.emit(on)

    def set_tool(self, tool: Tool | str) -> None:
        if Tool(tool) != Tool.SELECT:
            self.set_corner_mode(False)
        self.finish_text_edit()
        self.tool = Tool(tool)
        self.update_cursor()
        self.toolChanged.emit(self.tool.value)

    def update_cursor(self) -> None:
        cursor = Qt.CursorShape.OpenHandCursor if self._space else TOOL_CURSORS[self.tool]
        self.viewport().setCursor(cursor)

    def px_per_mm(self) -> float:
        return self.transform().m11()

    def zoom_percent(self) -> float:
        return self.px_per_mm() / (self.logicalDpiX() / 25.4) * 100

    def zoom_by(self, factor: float, anchor_under_mouse: bool = True) -> None:
        target = max(MIN_PX_PER_MM, min(MAX_PX_PER_MM, self.px_per_mm() * factor))
        factor = target / self.px_per_mm()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse if anchor_under_mouse
                                     else QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.scale(factor, factor)
        self.zoomChanged.emit(self.zoom_percent())

    def set_zoom_percent(self, percent: float) -> None:
        self.zoom_by(percent / self.zoom_percent(), anchor_under_mouse=False)

    def fit_page(self) -> None:
        page = self.page_scene.page
        if page is None:
            return
        b = page.bleed_rect
        margin = max(b.w, b.h) * 0.03
        self.fitInView(QRectF(b.x - margin, b.y - margin, b.w + 2 * margin, b.h + 2 * margin),
                       Qt.AspectRatioMode.KeepAspectRatio)
        self.zoomChanged.emit(self.zoom_percent())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fit_pending and self.isVisible():
            self._fit_pending = False
            self.fit_page()

    # --- mouse -------------------------------------------------------------------------------------

    def _scene_pos(self, event: QMouseEvent) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def _in_editor(self, pos: QPointF) -> bool:
        return self._editor is not None and self._editor.sceneBoundingRect().contains(pos)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = self._scene_pos(event)
        if self._in_editor(pos):
            super().mousePressEvent(event)
            return
        self.finish_text_edit()
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        button, mods = event.button(), event.modifiers()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and (
                self._space or self.tool == Tool.HAND or mods & Qt.KeyboardModifier.ControlModifier)):
            self.gesture = PanGesture(self, event.position())
            return
        if button != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        if self.tool != Tool.SELECT and self._press_handle(pos):
            return
        if self.tool == Tool.SELECT:
            self._press_select(event, pos)
        elif self.tool == Tool.PANEL:
            self.gesture = CreatePanelGesture(self, pos)
        elif self.tool == Tool.BALLOON:
            self.gesture = CreateBalloonGesture(self, pos)
        elif self.tool == Tool.KNIFE:
            self.gesture = KnifeGesture(self, pos)
        elif self.tool == Tool.REFRAME:
            item = self.page_scene.panel_at(pos, self.viewportTransform())
            if item is not None and item.panel.image:
                self.gesture = ReframeGesture(self, pos, item)
            else:
                self.message.emit("Reframe: drag inside a panel that has an image; the wheel scales it")
        elif self.tool == Tool.MASK:
            layer = self.mask_layer_at(pos)
            if layer is not None:
                self.gesture = MaskGesture(self, pos, layer)
            else:
                self.message.emit("Mask brush: paint on a panel that has an image, then use Vary Region")

    def _press_handle(self, pos: QPointF) -> bool:
        """Start dragging the selection's grip, tail or corner under ``pos``; grips win under every tool."""
        hit = self.page_scene.canvas_item_at(pos, self.viewportTransform())
        role = getattr(hit, "role", None)
        if not role or not hit.isVisible():
            return False
        if role == "tail":
            self.gesture = TailGesture(self, pos, hit.parentItem())
        elif corner_index(role) is not None:
            self.gesture = CornerGesture(self, pos, hit.parentItem(), corner_index(role))
        else:
            self.gesture = ResizeGesture(self, pos, hit.parentItem(), role)
        return True

    def _press_select(self, event: QMouseEvent, pos: QPointF) -> None:
        scene = self.page_scene
        if self._press_handle(pos):
            return
        hit = scene.canvas_item_at(pos, self.viewportTransform())
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if isinstance(hit, BadgeStripItem):
            panel_item = hit.owner
            found = panel_item.badge_at(pos, self.viewportTransform())
            if found and found[1]:
                self.run_edit(edits.unbind_card, self.doc, panel_item.item_id, found[0])
                return
            hit = panel_item
        if isinstance(hit, (PanelItem, BalloonItem)):
            if shift:
                hit.setSelected(not hit.isSelected())
                return
            if not hit.isSelected():
                scene.clearSelection()
                hit.setSelected(True)
            items = [i for i in scene.selectedItems() if isinstance(i, (PanelItem, BalloonItem))]
            self.gesture = MoveGesture(self, pos, items)
            return
        if not shift:
            scene.clearSelection()
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self._qt_drag = True
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = self._scene_pos(event)
        self.cursorMoved.emit(pos.x(), pos.y())
        if isinstance(self.gesture, PanGesture):
            self.gesture.move_view(event.position())
        elif self.gesture is not None:
            self.gesture.move(pos, event.modifiers())
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        gesture, self.gesture = self.gesture, None
        if gesture is not None:
            gesture.finish(self._scene_pos(event), event.modifiers())
            return
        super().mouseReleaseEvent(event)
        if self._qt_drag:
            self._qt_drag = False
            self.setDragMode(QGraphicsView.DragMode.NoDrag)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = self._scene_pos(event)
        if self._in_editor(pos):
            super().mouseDoubleClickEvent(event)
            return
        hit = self.page_scene.canvas_item_at(pos, self.viewportTransform())
        if getattr(hit, "role", None) and isinstance(hit.parentItem(), PanelItem):
            hit = hit.parentItem()
        if hit is None:  # the pixel under the cursor covers a frame's border that its centre just misses
            hit = next((i for i in self.items(event.position().toPoint()) if isinstance(i, PanelItem)), None)
        if isinstance(hit, BalloonItem):
            self.edit_balloon_text(hit.item_id)
        elif isinstance(hit, PanelItem):
            if self.tool == Tool.SELECT and self._near_outline(hit, pos):
                # Clip Studio habit: double-click a frame's border to edit its corners
                self.page_scene.select_ids([hit.item_id])
                self.set_corner_mode(not self.corner_mode)
            else:
                self.panelActivated.emit(hit.item_id)

    def _near_outline(self, item: PanelItem, pos: QPointF) -> bool:
        tolerance = style.HANDLE_PX / max(self.px_per_mm(), 1e-6)
        pts = item.points
        for i, a in enumerate(pts):
            line = QLineF(QPointF(*a), QPointF(*pts[(i + 1) % len(pts)]))
            if line.length() < 1e-9:
                continue
            v = line.p2() - line.p1()
            t = max(0.0, min(1.0, QPointF.dotProduct(pos - line.p1(), v) / (line.length() ** 2)))
            closest = line.p1() + v * t
            if QLineF(closest, pos).length() <= tolerance:
                return True
        return False

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if not steps:
            return
        pos = self.mapToScene(event.position().toPoint())
        if self.tool == Tool.REFRAME or event.modifiers() & Qt.KeyboardModifier.AltModifier:
            item = self.page_scene.panel_at(pos, self.viewportTransform())
            if item is not None and item.panel.image:
                p = item.panel.placement
                scale = max(0.05, min(20.0, p.scale * 1.08 ** steps))
                self.run_edit(edits.set_placement, self.doc, item.item_id,
                              Placement(p.offset_x, p.offset_y, round(scale, 4)), merge=True)
                return
        self.zoom_by(1.2 ** steps)

    # --- Vary Region mask ------------------------------------------------------------------------

    def mask_layer_at(self, pos: QPointF) -> MaskLayer | None:
        """The mask of the panel with an image under ``pos`` (a new one for another panel or image)."""
        item = self.page_scene.panel_at(pos, self.viewportTransform())
        if item is None or not item.panel.image:
            return None
        layer = self.mask_layer
        if layer is None or layer.panel_id != item.item_id or layer.image_key != item.panel.image:
            self.drop_mask()
            size = self.page_scene.pixmaps.size(self.doc.project.images, item.panel.image)
            layer = self.mask_layer = MaskLayer(item, size)
            self.page_scene.addItem(layer)
        if not item.isSelected():
            self.page_scene.select_ids([item.item_id])
        return layer

    def drop_mask(self) -> None:
        layer, self.mask_layer = self.mask_layer, None
        if layer is not None:
            if layer.scene() is not None:
                layer.scene().removeItem(layer)
            self.maskChanged.emit()

    def _mask_follow(self, page_id: str, ids: list) -> None:
        layer = self.mask_layer
        if layer is None or layer.panel_id not in ids:
            return
        item = self.page_scene.items_by_id.get(layer.panel_id)
        if not isinstance(item, PanelItem) or item.panel.image != layer.image_key:
            self.drop_mask()  # the panel is gone or shows another image: the mask no longer applies
        else:
            layer.follow(item)

    # --- keyboard ---------------------------------------------------------------------------------

    def event(self, event) -> bool:
        """While a balloon's text is edited, plain keys (V, H, Delete…) are text, not tool shortcuts."""
        if event.type() == QEvent.Type.ShortcutOverride and self._editor is not None:
            mods = event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
            text_key = event.key() in (Qt.Key.Key_A, Qt.Key.Key_C, Qt.Key.Key_V, Qt.Key.Key_X)
            if mods == Qt.KeyboardModifier.NoModifier or (mods == Qt.KeyboardModifier.ControlModifier and text_key):
                event.accept()
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if self._editor is not None:  # typing into a balloon: every key is text (Space too)
            if self.page_scene.focusItem() is not self._editor:
                self._editor.setFocus()  # focus went elsewhere (a dock, a window switch): take it back
            super().keyPressEvent(event)
            return
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.update_cursor()
            return
        step = style.NUDGE_BIG_MM if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else style.NUDGE_MM
        moves = {Qt.Key.Key_Left: (-step, 0), Qt.Key.Key_Right: (step, 0),
                 Qt.Key.Key_Up: (0, -step), Qt.Key.Key_Down: (0, step)}
        if key in moves and self.page_scene.selected_ids():
            self.nudge(*moves[key])
            return
        if key == Qt.Key.Key_Escape:
            if self.gesture is not None:
                self.gesture.cancel()
                self.gesture = None
            elif self.corner_mode:
                self.set_corner_mode(False)
            else:
                self.page_scene.clearSelection()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            ids = self.page_scene.selected_ids()
            balloons = [i for i in ids if isinstance(self.page_scene.items_by_id.get(i), BalloonItem)]
            if len(balloons) == 1:
                self.edit_balloon_text(balloons[0])
                return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and self._space:
            self._space = False
            self.update_cursor()
            return
        super().keyReleaseEvent(event)

    # --- balloon text -----------------------------------------------------------------------------

    def edit_balloon_text(self, balloon_id: str) -> BalloonTextEditor | None:
        self.finish_text_edit()
        page = self.page_scene.page
        item = self.page_scene.items_by_id.get(balloon_id)
        if page is None or not isinstance(item, BalloonItem):
            return None
        page_id = page.id

        def on_text(text: str) -> None:
            self.run_edit(edits.update_balloon, self.doc, page_id, balloon_id, merge=True, text=text)

        editor = BalloonTextEditor(page.balloon(balloon_id), on_text, self.finish_text_edit)
        self._editor = editor
        item.editing = True
        item.update()
        self.page_scene.addItem(editor)
        self.setFocus()
        self.page_scene.setFocusItem(editor)
        cursor = editor.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        editor.setTextCursor(cursor)
        return editor

    def text_editor(self) -> BalloonTextEditor | None:
        return self._editor

    def finish_text_edit(self) -> None:
        """End text editing; Esc on a balloon just drawn and still empty takes the balloon away again."""
        editor, self._editor = self._editor, None
        if editor is None:
            return
        editor.finish()
        if editor.cancelled and editor.new_at is not None and not editor.toPlainText().strip():
            stack = self.doc.undo_stack  # steps since: the balloon's own typing, merged into one
            if editor.new_at <= stack.index() <= editor.new_at + 1:
                stack.setIndex(editor.new_at - 1)  # back before Add Balloon: nothing of it is left
        item = self.page_scene.items_by_id.get(editor.balloon_id)
        if isinstance(item, BalloonItem):
            item.editing = False
            item.update()
        editor.clearFocus()
        editor.setVisible(False)
        QTimer.singleShot(0, lambda: editor.scene() and editor.scene().removeItem(editor))

    def _editor_follow(self, page_id: str, ids: list) -> None:
        editor = self._editor
        page = self.page_scene.page
        if editor is None or page is None or editor.balloon_id not in ids:
            return
        try:
            balloon = page.balloon(editor.balloon_id)
        except KeyError:
            self.finish_text_edit()
            return
        editor.sync_text(balloon.text)  # after an undo while typing
        editor.place(balloon)
        item = self.page_scene.items_by_id.get(editor.balloon_id)
        if isinstance(item, BalloonItem):
            item.editing = True

    # --- drag and drop ------------------------------------------------------------------------------

    def _drop_target(self, event) -> PanelItem | None:
        return self.page_scene.panel_at(self.mapToScene(event.position().toPoint()), self.viewportTransform())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        data = event.mimeData()
        if mime.card_id(data) or mime.image_paths(data):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        target = self._drop_target(event)
        if target is not None and (mime.card_id(event.mimeData()) or mime.image_paths(event.mimeData())):
            self.page_scene.select_ids([target.item_id])
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        target = self._drop_target(event)
        data = event.mimeData()
        if target is None:
            event.ignore()
            return
        card = mime.card_id(data)
        if card:
            if self.run_edit(edits.bind_card, self.doc, target.item_id, card):
                event.acceptProposedAction()
            return
        paths = mime.image_paths(data)
        if paths:
            try:
                image = mime.load_image(paths[0])
            except ValueError as exc:
                self.message.emit(str(exc))
                return
            if self.run_edit(edits.add_variant, self.doc, target.item_id, image, kind="import"):
                event.acceptProposedAction()

    # --- context menu -----------------------------------------------------------------------------

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        pos = self.mapToScene(event.pos())
        hit = self.page_scene.canvas_item_at(pos, self.viewportTransform())
        if isinstance(hit, BadgeStripItem):
            hit = hit.owner
        elif getattr(hit, "role", None):
            hit = hit.parentItem()
        clip = self.clipboard  # Cut/Copy/Paste (widgets/clipboard.py sets it)
        if not isinstance(hit, (PanelItem, BalloonItem)):
            if clip is not None and clip.can_paste():
                menu = QMenu(self)
                menu.addAction("Paste Here", lambda: clip.paste(at=pos))
                menu.exec(event.globalPos())
                menu.deleteLater()
            return
        if not hit.isSelected():
            self.page_scene.select_ids([hit.item_id])
        menu = QMenu(self)
        add_actions(menu, self.item_actions)
        if isinstance(hit, PanelItem):
            add_actions(menu, self.panel_actions)
        self.fill_item_menu(menu, hit)
        menu.exec(event.globalPos())
        menu.deleteLater()  # the shared actions and submenus belong to the window and stay

    def fill_item_menu(self, menu: QMenu, hit: PanelItem | BalloonItem) -> None:
        doc, page_id, item_id = self.doc, self.page_id, hit.item_id
        if isinstance(hit, PanelItem):
            panel = hit.panel
            for binding in [*panel.characters, *panel.styles]:
                try:
                    name = doc.project.card(binding.card).name
                except KeyError:
                    name = binding.card
                menu.addAction(f"Unbind {name}",
                               lambda c=binding.card: self.run_edit(edits.unbind_card, doc, item_id, c))
            if panel.characters or panel.styles:
                menu.addSeparator()
            menu.addAction("Split Horizontally", lambda: self.run_edit(
                edits.split_panel_evenly, doc, page_id, item_id, False))
            menu.addAction("Split Vertically", lambda: self.run_edit(
                edits.split_panel_evenly, doc, page_id, item_id, True))
            if len(self.page_scene.selected_panel_ids()) > 1:
                menu.addAction("Merge Panels", lambda: self.run_edit(
                    edits.merge_panels, doc, page_id, self.page_scene.selected_panel_ids()))
            if panel.image:
                menu.addAction("Reset Image Framing", lambda: self.run_edit(
                    edits.set_placement, doc, item_id, Placement()))
            corners = menu.addAction("Edit Corners", self.set_corner_mode)
            corners.setCheckable(True)
            corners.setChecked(self.corner_mode)
        else:
            menu.addAction("Edit Text", lambda: self.edit_balloon_text(item_id))
            kinds = menu.addMenu("Balloon Kind")
            for kind in BalloonKind:
                act = kinds.addAction(kind.value.title(), lambda k=kind: self.run_edit(
                    edits.update_balloon, doc, page_id, item_id, kind=k))
                act.setCheckable(True)
                act.setChecked(hit.balloon.kind == kind)
        menu.addSeparator()
        for label, where in (("Bring to Front", "front"), ("Bring Forward", "up"), ("Send Backward", "down"),
                             ("Send to Back", "back")):
            menu.addAction(label, lambda w=where: self.run_edit(edits.set_z_order, doc, page_id, item_id, w))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.run_edit(edits.delete_items, doc, page_id,
                                                       self.page_scene.selected_ids()))


def add_actions(menu: QMenu, entries: list[QAction | QMenu | None]) -> None:
    """Add shared actions and submenus (None: a separator) and end with a separator."""
    if not entries:
        return
    for entry in entries:
        if entry is None:
            menu.addSeparator()
        elif isinstance(entry, QMenu):
            menu.addMenu(entry)
        else:
            menu.addAction(entry)
    menu.addSeparator()
