"""A panel frame: its image clipped to the polygon, the border at the page's stroke width, handles."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QPainter, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.project import Panel, Placement, Point, Project, Rect

from . import style
from .badges import Badge, BadgeStripItem, initials, motion_badge
from .geometry import image_rect, polygon, polygon_path
from .handles import ROLES, HandleItem, place_handles
from .jobs_overlay import PanelJobs, paint_jobs
from .pixmaps import PixmapCache


class PanelItem(QGraphicsItem):
    """Projection of one :class:`Panel`. Previews (drag, resize, reframe) never touch the model."""

    kind = "panel"

    def __init__(self, panel: Panel, stroke_mm: float, project: Project, pixmaps: PixmapCache) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.project = project
        self.pixmaps = pixmaps
        self.handles = {role: HandleItem(role, self) for role in ROLES}
        self.corner_handles: list[HandleItem] = []
        self.corner_mode = False   # Edit Corners: a handle per corner instead of the resize grips
        self.invalid = False       # preview of a shape that would be refused (drawn red)
        self.badges = BadgeStripItem(self)
        self.item_id = panel.id
        self.painted_size: tuple[int, int] | None = None  # the image pixmap drawn last, in pixels
        self.jobs: PanelJobs | None = None  # queued / generating state and live preview
        self.frame_key: str | None = None  # a loop's frame shown instead of the still (widgets/canvas/loop_player.py)
        self.target_size: tuple[int, int] | None = None  # on-screen pixels of the image's pre-scaled copy
        self.hovered = False
        self.setAcceptHoverEvents(True)
        self._path = QPainterPath()
        # a frame blits the panel as drawn at this zoom; a new zoom, image or shape repaints it once
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.set_panel(panel, stroke_mm)
        self._show_handles(False)

    # --- model → item --------------------------------------------------------------------------

    def set_panel(self, panel: Panel, stroke_mm: float) -> None:
        self.prepareGeometryChange()
        self.panel = panel
        self.stroke_mm = stroke_mm
        self.points: list[Point] = list(panel.points)
        self.placement: Placement = panel.placement
        self.setPos(0, 0)
        self.setZValue(panel.z)
        self._update_shape()
        self._update_badges()
        self.update()

    def preview_points(self, points: list[Point]) -> None:
        self.prepareGeometryChange()
        self.points = list(points)
        self._update_shape()
        self.update()

    def set_jobs(self, jobs: "PanelJobs | None") -> None:
        """Show the panel's queued / generating state (None: no job)."""
        if jobs != self.jobs:
            self.jobs = jobs
            self.update()

    def preview_placement(self, placement: Placement) -> None:
        self.placement = placement
        self.update()

    @property
    def box(self) -> Rect:
        return Rect.bounding(self.points)

    def _update_shape(self) -> None:
        self._path = polygon_path(self.points)
        m = self.stroke_mm / 2 + 0.5
        self._bounds = self._path.boundingRect().adjusted(-m, -m, m, m)
        box = self.box
        place_handles(self.handles, box)
        self._place_corner_handles()
        self._place_badges()

    def _place_corner_handles(self) -> None:
        while len(self.corner_handles) < len(self.points):
            handle = HandleItem(f"corner:{len(self.corner_handles)}", self)
            handle.setZValue(51)
            handle.setVisible(False)
            self.corner_handles.append(handle)
        while len(self.corner_handles) > len(self.points):
            handle = self.corner_handles.pop()
            handle.setParentItem(None)
            if handle.scene() is not None:
                handle.scene().removeItem(handle)
        for handle, (x, y) in zip(self.corner_handles, self.points):
            handle.setPos(x, y)
        if self.isSelected():
            self._show_handles(True)

    def set_corner_mode(self, on: bool) -> None:
        self.corner_mode = on
        self._show_handles(self.isSelected())
        self.update()

    def _update_badges(self) -> None:
        badges: list[Badge] = []
        for binding, is_style in [*((b, False) for b in self.panel.characters), *((b, True) for b in self.panel.styles)]:
            try:
                card = self.project.card(binding.card)
                name = card.name
            except KeyError:
                name = "?"
            unit = "sw" if is_style else "cw"
            badges.append(Badge(binding.card, f"{initials(name)} {binding.weight}",
                                f"{name} ({unit} {binding.weight}) — click × to unbind", is_style))
        motion = self.panel.motion
        if motion is not None:
            badges.insert(0, motion_badge(len(motion.frames), motion.fps))
        self.badges.set_badges(badges)

    def _show_handles(self, on: bool) -> None:
        for h in self.handles.values():
            h.setVisible(on and not self.corner_mode)
        for h in self.corner_handles:
            h.setVisible(on and self.corner_mode)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):  # noqa: N802
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self._show_handles(bool(value))
        elif change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self._place_badges()
        elif change == QGraphicsItem.GraphicsItemChange.ItemSceneHasChanged:
            if self.badges.scene() is not None and self.badges.scene() is not self.scene():
                self.badges.scene().removeItem(self.badges)
            if self.scene() is not None and self.badges.scene() is None:
                self.scene().addItem(self.badges)
        return super().itemChange(change, value)

    def hoverEnterEvent(self, event) -> None:  # noqa: N802
        self._set_hovered(True)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802
        self._set_hovered(False)
        super().hoverLeaveEvent(event)

    def _set_hovered(self, on: bool) -> None:
        self.hovered = on
        player = getattr(self.scene(), "loop_player", None)
        if player is not None:
            player.sync()

    def _place_badges(self) -> None:
        box = self.box
        self.badges.setPos(box.x + 1.5 + self.pos().x(), box.y + 1.5 + self.pos().y())

    # --- QGraphicsItem ---------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._bounds

    def shape(self) -> QPainterPath:
        return self._path

    def image_key(self) -> str | None:
        return self.panel.image

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        key = self.frame_key or self.panel.image
        drawn = self._paint_image(painter, key) if key else None
        if not drawn:
            self.painted_size = None
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(style.EMPTY_PANEL)
            painter.drawPath(self._path)
            if drawn is None:  # no image (not one still being scaled)
                self._paint_hint(painter)
        if self.jobs is not None:
            paint_jobs(painter, self.jobs, self._path, self.box)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self.stroke_mm > 0:
            pen = QPen(Qt.GlobalColor.black, self.stroke_mm)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPolygon(polygon(self.points))
        if self.isSelected() or self.invalid:
            pen = QPen(style.INVALID_LINE if self.invalid else style.SELECTION, 2)
            if self.corner_mode and not self.invalid:
                pen.setStyle(Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPolygon(polygon(self.points))

    def _paint_image(self, painter: QPainter, key: str) -> bool | None:
        """Draw the panel's image clipped to the frame: True; False while its first on-screen copy is
        being made; None when it cannot be read.

        Where the view only scales and translates, the image is blitted 1:1 from a copy pre-scaled to
        its on-screen size (area averaged, made once per zoom step); ``painted_size`` records the
        size of the pixmap drawn. Magnified (or rotated) images are drawn from the source."""
        images = self.project.images
        if key not in images:
            return None
        w, h = self.pixmaps.size(images, key)
        if w <= 0 or h <= 0:
            return None
        target = image_rect(self.box, w, h, self.placement)
        transform = painter.worldTransform()
        device = transform.mapRect(target)
        dw, dh = round(device.width()), round(device.height())
        pix, exact = None, False
        want = (transform.type().value <= QTransform.TransformationType.TxScale.value
                and self.pixmaps.wants_scaled(images, key, dw, dh))
        self.target_size = (dw, dh) if want else None
        if want:
            pix, exact = self.pixmaps.scaled(images, key, dw, dh)
        painter.save()
        painter.setClipPath(self._path)
        if exact:
            painter.setWorldTransform(QTransform())
            painter.drawPixmap(QPointF(round(device.x()), round(device.y())), pix)
        else:
            if pix is None and want:
                painter.restore()
                return False  # a large image's first copy is being scaled off the GUI thread
            if pix is None:  # magnified (or rotated): the source, decoded off the GUI thread
                pix, final = self.pixmaps.magnified(images, key)
                if pix is None:
                    painter.restore()
                    return None if final else False
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(target, pix, QRectF(pix.rect()))
        painter.restore()
        self.painted_size = (pix.width(), pix.height())
        return True

    def _paint_hint(self, painter: QPainter) -> None:
        """An empty frame shows its prompt (or a hint) faintly, like a storyboard note."""
        box = self.box
        if box.w < 15 or box.h < 10:
            return
        text = self.panel.prompt.strip() or "empty panel"
        font = QFont()
        font.setPointSizeF(3.2)  # scene units are mm: ~3.2 mm high text
        font.setItalic(not self.panel.prompt.strip())
        painter.setFont(font)
        painter.setPen(style.EMPTY_TEXT)
        rect = QRectF(box.x + 4, box.y + 4, box.w - 8, box.h - 8)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text[:200])

    def badge_at(self, scene_pos: QPointF, view_transform: QTransform) -> tuple[str, bool] | None:
        """(card id, on its ×) under a scene point; badges are screen-sized, hence the view transform."""
        if not self.badges.isVisible():
            return None
        device = self.badges.deviceTransform(view_transform)
        inverse, ok = device.inverted()
        if not ok:
            return None
        return self.badges.hit(inverse.map(view_transform.map(scene_pos)))
