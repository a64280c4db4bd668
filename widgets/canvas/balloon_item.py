"""A lettering balloon, drawn by the same code as the export; resize grips and a draggable tail."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.lettering import balloon_path, fitted_rect, paint_balloon
from app.project import Balloon, Rect

from . import style
from .geometry import qrect
from .handles import ROLES, HandleItem, place_handles


class BalloonItem(QGraphicsItem):
    kind = "balloon"

    def __init__(self, balloon: Balloon) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.handles = {role: HandleItem(role, self) for role in ROLES}
        self.tail_handle = HandleItem("tail", self)
        self.item_id = balloon.id
        self._editing = False
        # lettering is costly to rasterise: keep it as a pixmap per zoom, redrawn when update() is called
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.set_balloon(balloon)
        self._show_handles(False)

    @property
    def editing(self) -> bool:
        """Whether the inline editor draws the text (the balloon then draws no text)."""
        return self._editing

    @editing.setter
    def editing(self, on: bool) -> None:
        if on != self._editing:
            self._editing = on
            self.update()

    def set_balloon(self, balloon: Balloon) -> None:
        self.prepareGeometryChange()
        self.balloon = balloon
        self.setPos(0, 0)
        self.setZValue(balloon.z)
        self._update_shape()
        self.update()

    def preview(self, rect: Rect | None = None, tail: tuple[float, float] | None = None) -> None:
        """Show a resized rect or moved tail during a gesture (the model is untouched)."""
        from dataclasses import replace

        self.prepareGeometryChange()
        changes = {}
        if rect is not None:
            changes["rect"] = rect
        if tail is not None:
            changes["tail"] = tail
        self.balloon = replace(self.balloon, **changes)
        self._update_shape()
        self.update()

    @property
    def box(self) -> Rect:
        """The balloon as drawn: its rect, grown to hold its text at its lettering size."""
        return fitted_rect(self.balloon)

    def _update_shape(self) -> None:
        self._path = balloon_path(self.balloon)
        box = self.box
        place_handles(self.handles, box)
        if self.balloon.tail:
            self.tail_handle.setPos(*self.balloon.tail)
        self._bounds = self._path.boundingRect().united(qrect(box)).adjusted(-1, -1, 1, 1)

    def _show_handles(self, on: bool) -> None:
        for h in self.handles.values():
            h.setVisible(on)
        self.tail_handle.setVisible(on and self.balloon.tail is not None)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value):  # noqa: N802
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self._show_handles(bool(value))
        return super().itemChange(change, value)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath(self._path)
        path.setFillRule(Qt.FillRule.WindingFill)  # the box and outline overlap: keep both filled
        path.addRect(qrect(self.box))
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        b = self.balloon
        if self.editing:
            from dataclasses import replace
            b = replace(b, text="")
        paint_balloon(painter, b)
        if self.isSelected():
            pen = QPen(style.SELECTION, 1)
            pen.setCosmetic(True)
            pen.setDashPattern([4, 3])
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(qrect(fitted_rect(self.balloon)))

