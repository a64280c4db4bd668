"""The mask of a Vary Region edit: painted on a panel's image, shown as a translucent overlay.

The mask is transient UI state (not part of the document) at the panel image's pixel size:
white where the region is repainted. Brush and eraser paint round strokes, the lasso fills a
polygon; :meth:`MaskLayer.mask_image` gives the binary PIL mask the engine takes.
"""

from __future__ import annotations

import enum

from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from .geometry import image_rect

OVERLAY = QColor(235, 0, 70, 150)
LASSO_LINE = QColor("#ff2b5a")


class MaskMode(str, enum.Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    LASSO = "lasso"


class MaskLayer(QGraphicsItem):
    """Mask pixels of one panel's current image, drawn over the panel (clipped to its frame)."""

    def __init__(self, panel_item, size: tuple[int, int]) -> None:
        super().__init__()
        self.setZValue(10_000)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.panel_id: str = panel_item.item_id
        self.image_key: str | None = panel_item.panel.image
        self.size = size
        self.mask = QImage(size[0], size[1], QImage.Format.Format_Grayscale8)
        self.mask.fill(0)
        self.overlay = QImage(size[0], size[1], QImage.Format.Format_ARGB32_Premultiplied)
        self.overlay.fill(Qt.GlobalColor.transparent)
        self.lasso: list[QPointF] = []
        self.follow(panel_item)

    # --- geometry -----------------------------------------------------------------------------------

    def follow(self, panel_item) -> None:
        """Track the panel's frame and placement (scene rect of its image, clip path)."""
        self.prepareGeometryChange()
        self.clip = QPainterPath(panel_item.shape())
        self.rect = image_rect(panel_item.box, self.size[0], self.size[1], panel_item.placement)
        self.update()

    def to_pixels(self, scene_pos: QPointF) -> QPointF:
        r = self.rect
        return QPointF((scene_pos.x() - r.x()) / r.width() * self.size[0],
                       (scene_pos.y() - r.y()) / r.height() * self.size[1])

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self.rect.united(self.clip.boundingRect())

    # --- painting on the mask ------------------------------------------------------------------------

    def _painters(self, erase: bool):
        for image, colour in ((self.mask, QColor(0 if erase else 255, 0 if erase else 255, 0 if erase else 255)),
                              (self.overlay, QColor(Qt.GlobalColor.transparent) if erase else OVERLAY)):
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            yield painter, colour

    def stroke(self, a: QPointF, b: QPointF, width_px: float, erase: bool = False) -> None:
        """A round stroke from ``a`` to ``b`` (scene points), ``width_px`` image pixels wide."""
        pa, pb = self.to_pixels(a), self.to_pixels(b)
        for painter, colour in self._painters(erase):
            pen = QPen(colour, max(1.0, width_px), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                       Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            if pa == pb:
                painter.drawPoint(pa)
            else:
                painter.drawLine(pa, pb)
            painter.end()
        self.update()

    def fill_polygon(self, points: list[QPointF], erase: bool = False) -> None:
        """Fill a lasso polygon (scene points)."""
        if len(points) < 3:
            return
        poly = QPolygonF([self.to_pixels(p) for p in points])
        for painter, colour in self._painters(erase):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawPolygon(poly)
            painter.end()
        self.lasso = []
        self.update()

    def clear(self) -> None:
        self.mask.fill(0)
        self.overlay.fill(Qt.GlobalColor.transparent)
        self.update()

    def is_empty(self) -> bool:
        return self.mask_image().getbbox() is None

    def mask_image(self) -> Image.Image:
        """The mask as a binary PIL ``L`` image at the panel image's size (255 = repaint)."""
        w, h = self.size
        data = bytes(self.mask.constBits())
        img = Image.frombuffer("L", (w, h), data, "raw", "L", self.mask.bytesPerLine(), 1).copy()
        return img.point(lambda v: 255 if v >= 128 else 0)

    # --- drawing --------------------------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.save()
        painter.setClipPath(self.clip)
        painter.drawImage(self.rect, self.overlay, QRectF(self.overlay.rect()))
        painter.restore()
        if len(self.lasso) > 1:
            pen = QPen(LASSO_LINE, 1.5, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPolyline(QPolygonF(self.lasso))
