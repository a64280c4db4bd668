"""Canvas tools and the gestures they start. A gesture previews on the items while the mouse moves
and pushes exactly one edit (one undo step) when the button is released."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt

from app import edits, layout
from app.project import BalloonKind, Placement, Rect

from . import style
from .balloon_item import BalloonItem
from .geometry import constrain_angle, model_rect, scale_points, segment_crosses
from .handles import ROLES, resized_box
from .mask import MaskLayer, MaskMode
from .panel_item import PanelItem
from .snapping import SnapResult, page_targets, snap_box, snap_point

if TYPE_CHECKING:
    from .view import PageView


class Tool(str, Enum):
    SELECT = "select"
    PANEL = "panel"
    KNIFE = "knife"
    BALLOON = "balloon"
    REFRAME = "reframe"
    HAND = "hand"
    MASK = "mask"


TOOL_CURSORS = {
    Tool.SELECT: Qt.CursorShape.ArrowCursor,
    Tool.PANEL: Qt.CursorShape.CrossCursor,
    Tool.KNIFE: Qt.CursorShape.CrossCursor,
    Tool.BALLOON: Qt.CursorShape.IBeamCursor,
    Tool.REFRAME: Qt.CursorShape.SizeAllCursor,
    Tool.HAND: Qt.CursorShape.OpenHandCursor,
    Tool.MASK: Qt.CursorShape.CrossCursor,
}

DEFAULT_BALLOON_MM = (42.0, 24.0)


class Gesture:
    """One press-drag-release interaction."""

    def __init__(self, view: "PageView", start: QPointF) -> None:
        self.view = view
        self.start = start
        self.scene = view.page_scene

    def move(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None: ...

    def finish(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None: ...

    def cancel(self) -> None:
        self.scene.snap_guide.clear()

    def _show_snap(self, result: SnapResult) -> None:
        page = self.scene.page
        if page is not None:
            self.scene.snap_guide.show_lines(result.guide_xs, result.guide_ys, page.bleed_rect)

    def _snap_threshold(self) -> float:
        return style.SNAP_PX / max(self.view.transform().m11(), 1e-6)


class MoveGesture(Gesture):
    """Drag selected panels and balloons; Shift locks to one axis; Alt disables snapping."""

    def __init__(self, view: "PageView", start: QPointF, items: list) -> None:
        super().__init__(view, start)
        self.items = items
        self.ids = [i.item_id for i in items]
        self.box = Rect.bounding([p for i in items for p in i.box.points()])
        page = self.scene.page
        self.targets = page_targets(page, exclude=set(self.ids)) if page else None
        self.delta = QPointF()
        self.started = False

    def move(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        d = pos - self.start
        if not self.started:
            px = d * self.view.transform().m11()
            if abs(px.x()) + abs(px.y()) < 3:
                return
            self.started = True
        if mods & Qt.KeyboardModifier.ShiftModifier:
            d = QPointF(d.x(), 0) if abs(d.x()) >= abs(d.y()) else QPointF(0, d.y())
        result = SnapResult()
        if self.view.snapping and self.targets and not mods & Qt.KeyboardModifier.AltModifier:
            result = snap_box(self.box.translated(d.x(), d.y()), self.targets, self._snap_threshold())
            d += QPointF(result.dx, result.dy)
        self._show_snap(result)
        self.delta = d
        for item in self.items:
            item.setPos(d)

    def finish(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        self.scene.snap_guide.clear()
        if not self.started or (abs(self.delta.x()) < 1e-9 and abs(self.delta.y()) < 1e-9):
            self.cancel()
            return
        dx, dy = round(self.delta.x(), 3), round(self.delta.y(), 3)
        self.view.run_edit(edits.move_items, self.view.doc, self.scene.page_id, self.ids, dx, dy)
        self.cancel()

    def cancel(self) -> None:
        super().cancel()
        for item in self.items:
            if item.scene() is not None:
                item.setPos(0, 0)


class ResizeGesture(Gesture):
    """Drag a grip; Shift keeps the aspect ratio; the grip's edges snap."""

    def __init__(self, view: "PageView", start: QPointF, item, role: str) -> None:
        super().__init__(view, start)
        self.item = item
        self.role = role
        self.base = item.box
        self.base_points = list(item.points) if isinstance(item, PanelItem) else None
        page = self.scene.page
        self.targets = page_targets(page, exclude={item.item_id}) if page else None
        self.box = self.base

    def move(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        d = pos - self.start
        box = resized_box(self.base, self.role, d.x(), d.y(), bool(mods & Qt.KeyboardModifier.ShiftModifier))
        result = SnapResult()
        if self.view.snapping and self.targets and not mods & Qt.KeyboardModifier.AltModifier:
            fx, fy = ROLES[self.role]
            ex = {0: ("l",), 1: ("r",)}.get(fx, ())
            ey = {0: ("t",), 1: ("b",)}.get(fy, ())
            result = snap_box(box, self.targets, self._snap_threshold(), ex, ey)
            box = resized_box(self.base, self.role, d.x() + result.dx, d.y() + result.dy,
                              bool(mods & Qt.KeyboardModifier.ShiftModifier))
        self._show_snap(result)
        self.box = box
        if self.base_points is not None:
            self.item.preview_points(scale_points(self.base_points, self.base, box))
        else:
            self.item.preview(rect=box)

    def finish(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        self.scene.snap_guide.clear()
        if self.box == self.base:
            return
        if self.base_points is not None:
            shape = scale_points(self.base_points, self.base, self.box)
        else:
            shape = self.box
        if not self.view.run_edit(edits.set_geometry, self.view.doc, self.scene.page_id, {self.item.item_id: shape}):
            self.cancel()

    def cancel(self) -> None:
        super().cancel()
        page = self.scene.page
        if page is not None and self.item.scene() is not None:
            model = page.item(self.item.item_id)
            if isinstance(self.item, PanelItem):
                self.item.set_panel(model, page.stroke_mm)
            else:
                self.item.set_balloon(model)


class CornerGesture(Gesture):
    """Edit Corners: drag one corner of a panel (snaps to guides, other panels' edges and this panel's
    other corners; Shift: only horizontally or vertically; Alt: no snapping). A drag that would make
    the outline cross itself or collapse is shown red and refused on release."""

    def __init__(self, view: "PageView", start: QPointF, item: PanelItem, index: int) -> None:
        super().__init__(view, start)
        self.item = item
        self.index = index
        self.base = list(item.points)
        self.points = self.base
        page = self.scene.page
        self.targets = page_targets(page, exclude={item.item_id}) if page else None
        if self.targets is not None:
            others = [p for i, p in enumerate(self.base) if i != index]
            self.targets.xs += [x for x, _ in others]
            self.targets.ys += [y for _, y in others]
        self.error = ""

    def move(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        bx, by = self.base[self.index]
        d = pos - self.start
        if mods & Qt.KeyboardModifier.ShiftModifier:
            d = QPointF(d.x(), 0) if abs(d.x()) >= abs(d.y()) else QPointF(0, d.y())
        x, y = bx + d.x(), by + d.y()
        result = SnapResult()
        if self.view.snapping and self.targets and not mods & Qt.KeyboardModifier.AltModifier:
            result = snap_point(x, y, self.targets, self._snap_threshold())
            if mods & Qt.KeyboardModifier.ShiftModifier:  # keep the locked axis locked
                result = SnapResult(result.dx if d.y() == 0 else 0.0, result.dy if d.x() == 0 else 0.0,
                                    result.guide_xs if d.y() == 0 else [], result.guide_ys if d.x() == 0 else [])
            x, y = x + result.dx, y + result.dy
        self._show_snap(result)
        points = list(self.base)
        points[self.index] = (round(x, 3), round(y, 3))
        self.points = points
        self.error = ""
        page = self.scene.page
        if page is not None:
            try:
                layout.validate_polygon(points, page)
            except ValueError as exc:
                self.error = str(exc)
        self.item.invalid = bool(self.error)
        self.item.preview_points(points)

    def finish(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        self.scene.snap_guide.clear()
        self.item.invalid = False
        if self.points == self.base:
            self.cancel()
            return
        if self.error:
            self.view.message.emit(f"Corner not moved: {self.error}")
            self.cancel()
            return
        if not self.view.run_edit(edits.set_geometry, self.view.doc, self.scene.page_id,
                                  {self.item.item_id: self.points}, text="Move Corner"):
            self.cancel()

    def cancel(self) -> None:
        super().cancel()
        self.item.invalid = False
        page = self.scene.page
        if page is not None and self.item.scene() is not None:
            self.item.set_panel(page.item(self.item.item_id), page.stroke_mm)


class TailGesture(Gesture):
    def __init__(self, view: "PageView", start: QPointF, item: BalloonItem) -> None:
        super().__init__(view, start)
        self.item = item
        self.tip = item.balloon.tail

    def move(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        self.tip = (round(pos.x(), 3), round(pos.y(), 3))
        self.item.preview(tail=self.tip)

    def finish(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        if self.tip != self.item.item_id and self.tip is not None:
            self.view.run_edit(edits.update_balloon, self.view.doc, self.scene.page_id, self.item.item_id,
                               tail=self.tip)


class DrawRectGesture(Gesture):
    """Drag out a rectangle (snapped); subclasses decide what it creates."""

    def __init__(self, view: "PageView", start: QPointF) -> None:
        page = view.page_scene.page
        self.targets = page_targets(page) if page else None
        super().__init__(view, start)
        self.start = self._snap(start, Qt.KeyboardModifier.NoModifier)
        self.rect = QRectF(self.start, self.start)

    def _snap(self, p: QPointF, mods) -> QPointF:
        if not self.view.snapping or not self.targets or mods & Qt.KeyboardModifier.AltModifier:
            self.scene.snap_guide.clear()
            return p
        r = snap_point(p.x(), p.y(), self.targets, self._snap_threshold())
        self._show_snap(r)
        return QPointF(p.x() + r.dx, p.y() + r.dy)

    def move(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        end = self._snap(pos, mods)
        self.rect = QRectF(self.start, end).normalized()
        self.scene.rubber.setRect(self.rect)
        self.scene.rubber.setVisible(True)

    def cancel(self) -> None:
        super().cancel()
        self.scene.rubber.setVisible(False)


class CreatePanelGesture(DrawRectGesture):
    def finish(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        self.cancel()
        if self.rect.width() < style.MIN_PANEL_MM or self.rect.height() < style.MIN_PANEL_MM:
            return
        rect = model_rect(self.rect)
        rect = Rect(*(round(v, 3) for v in rect.as_list()))
        new_id = self.view.run_edit(edits.add_panel, self.view.doc, self.scene.page_id, rect)
        if new_id:
            self.scene.select_ids([new_id])


class CreateBalloonGesture(DrawRectGesture):
    def finish(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        self.cancel()
        r = self.rect
        if r.width() < 8 or r.height() < 6:  # a click: default size centred on it
            w, h = DEFAULT_BALLOON_MM
            r = QRectF(pos.x() - w / 2, pos.y() - h / 2, w, h)
        kind = self.view.balloon_kind
        tail = None
        if kind in (BalloonKind.SPEECH, BalloonKind.THOUGHT):
            tail = (round(r.x() + r.width() * 0.3, 3), round(r.bottom() + min(12.0, r.height() * 0.6), 3))
        rect = Rect(*(round(v, 3) for v in model_rect(r).as_list()))
        new_id = self.view.run_edit(edits.add_balloon, self.view.doc, self.scene.page_id, kind, rect, "", tail)
        if new_id:
            self.scene.select_ids([new_id])
            editor = self.view.edit_balloon_text(new_id)
            if editor is not None:
                editor.new_at = self.view.doc.undo_stack.index()


class KnifeGesture(Gesture):
    """Drag a line across panels to split each one it crosses (Shift: 45° steps); one undo step."""

    def __init__(self, view: "PageView", start: QPointF) -> None:
        super().__init__(view, start)
        self.end = start

    def move(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        self.end = constrain_angle(self.start, pos) if mods & Qt.KeyboardModifier.ShiftModifier else pos
        self.scene.knife.setLine(QLineF(self.start, self.end))
        self.scene.knife.setVisible(True)

    def finish(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        self.cancel()
        page = self.scene.page
        if page is None or QLineF(self.start, self.end).length() < 2:
            return
        a = (self.start.x(), self.start.y())
        b = (self.end.x(), self.end.y())
        crossed = [p for p in page.panels if segment_crosses(p.points, self.start, self.end)]
        cuttable = []
        for panel in crossed:
            try:
                layout.split_polygon(panel.points, a, b, page.gutter_mm)
                cuttable.append(panel)
            except ValueError:
                pass
        if not cuttable:
            self.view.message.emit("Drag the knife across a panel (with room for the gutter) to split it")
            return
        stack = self.view.doc.undo_stack
        if len(cuttable) > 1:
            stack.beginMacro(f"Split {len(cuttable)} Panels")
        try:
            for panel in cuttable:
                self.view.run_edit(edits.split_panel, self.view.doc, self.scene.page_id, panel.id, a, b)
        finally:
            if len(cuttable) > 1:
                stack.endMacro()

    def cancel(self) -> None:
        super().cancel()
        self.scene.knife.setVisible(False)


class ReframeGesture(Gesture):
    """Drag the image inside its frame (placement offset)."""

    def __init__(self, view: "PageView", start: QPointF, item: PanelItem) -> None:
        super().__init__(view, start)
        self.item = item
        self.base = item.panel.placement
        self.placement = self.base

    def move(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        d = pos - self.start
        self.placement = Placement(round(self.base.offset_x + d.x(), 3), round(self.base.offset_y + d.y(), 3),
                                   self.base.scale)
        self.item.preview_placement(self.placement)

    def finish(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        if self.placement != self.base:
            self.view.run_edit(edits.set_placement, self.view.doc, self.item.item_id, self.placement)

    def cancel(self) -> None:
        self.item.preview_placement(self.base)


class PanGesture(Gesture):
    """Scroll the view with the mouse (hand tool, middle button, Space or Ctrl+drag)."""

    def __init__(self, view: "PageView", start_view: QPointF) -> None:
        super().__init__(view, start_view)
        self.last = start_view
        view.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def move_view(self, pos: QPointF) -> None:
        d = pos - self.last
        self.last = pos
        h, v = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
        h.setValue(h.value() - round(d.x()))
        v.setValue(v.value() - round(d.y()))

    def finish(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        self.view.update_cursor()


class MaskGesture(Gesture):
    """Paint the Vary Region mask: brush and eraser strokes, or a lasso filled on release."""

    def __init__(self, view: "PageView", start: QPointF, layer: MaskLayer) -> None:
        super().__init__(view, start)
        self.layer = layer
        self.mode = MaskMode(view.mask_mode)
        self.last = start
        if self.mode == MaskMode.LASSO:
            layer.lasso = [start]
        else:
            layer.stroke(start, start, view.brush_px, erase=self.mode == MaskMode.ERASER)

    def move(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        if self.mode == MaskMode.LASSO:
            self.layer.lasso.append(pos)
            self.layer.update()
        else:
            self.layer.stroke(self.last, pos, self.view.brush_px, erase=self.mode == MaskMode.ERASER)
        self.last = pos

    def finish(self, pos: QPointF, mods: Qt.KeyboardModifier) -> None:
        if self.mode == MaskMode.LASSO:
            # Alt+lasso removes from the mask
            self.layer.fill_polygon([*self.layer.lasso, pos], erase=bool(mods & Qt.KeyboardModifier.AltModifier))
        self.view.maskChanged.emit()

    def cancel(self) -> None:
        self.layer.lasso = []
        self.layer.update()
