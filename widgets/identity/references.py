"""A card's reference images: thumbnail with numbered face boxes, weight, face status, pick, remove."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

PICKED = QColor("#1e88ff")
OTHER = QColor("#ffb000")
MAX_WEIGHT = 10.0


class FacePicker(QWidget):
    """A reference image with its detected faces boxed and numbered; clicking a box picks it."""

    picked = Signal(int)

    def __init__(self, png: bytes, side: int = 150, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage.fromData(png)
        self.side = side
        self.boxes: list[list[float]] = []  # x0, y0, x1, y1 in image pixels
        self.index = 0
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setFixedSize(self.sizeHint())

    def sizeHint(self) -> QSize:  # noqa: N802
        if self.image.isNull() or self.image.width() == 0:
            return QSize(self.side, self.side)
        w, h = self.image.width(), self.image.height()
        s = self.side / max(w, h)
        return QSize(max(24, round(w * s)), max(24, round(h * s)))

    def set_faces(self, boxes: list[list[float]], index: int) -> None:
        self.boxes = [list(b) for b in boxes]
        self.index = index
        self.setCursor(Qt.CursorShape.PointingHandCursor if len(boxes) > 1 else Qt.CursorShape.ArrowCursor)
        self.setToolTip("Click a numbered face to use it for this character" if len(boxes) > 1 else "")
        self.update()

    def _scale(self) -> float:
        return self.width() / max(1, self.image.width())

    def box_rect(self, i: int) -> QRectF:
        """Face ``i``'s box in widget coordinates."""
        s = self._scale()
        x0, y0, x1, y1 = self.boxes[i]
        return QRectF(x0 * s, y0 * s, (x1 - x0) * s, (y1 - y0) * s)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.image.isNull():
            painter.fillRect(self.rect(), QColor("#ccc"))
        else:
            painter.drawImage(QRectF(self.rect()), self.image)
        font = QFont()
        font.setPixelSize(11)
        font.setBold(True)
        painter.setFont(font)
        numbered = len(self.boxes) > 1
        for i in range(len(self.boxes)):
            r = self.box_rect(i)
            colour = PICKED if i == self.index else OTHER
            painter.setPen(QPen(colour, 2.5 if i == self.index else 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(r)
            if numbered:
                tag = QRectF(r.x(), max(0.0, r.y() - 15), 16, 15)
                painter.fillRect(tag, colour)
                painter.setPen(Qt.GlobalColor.white)
                painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, str(i + 1))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = QPointF(event.position())
        hits = [i for i in range(len(self.boxes)) if self.box_rect(i).contains(pos)]
        if len(self.boxes) > 1 and hits:
            self.picked.emit(min(hits, key=lambda i: self.box_rect(i).width()))
        super().mousePressEvent(event)


class ReferenceRow(QWidget):
    """One reference: picture, weight (like ``URL::2``), face status and choice, remove."""

    weightChanged = Signal(int, float)
    facePicked = Signal(int, int)
    removeRequested = Signal(int)

    def __init__(self, index: int, png: bytes, weight: float, with_faces: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.image_key = ""
        self.picture = FacePicker(png, 150 if with_faces else 110)
        self.picture.picked.connect(lambda i: self.facePicked.emit(self.index, i))
        self.weight = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=MAX_WEIGHT, singleStep=0.25,
                                     prefix="weight ", value=weight)
        self.weight.setToolTip("How much this reference counts against the card's others (like Midjourney's URL::2)")
        self.weight.valueChanged.connect(lambda v: self.weightChanged.emit(self.index, v))
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.face_combo = QComboBox()
        self.face_combo.setToolTip("Which face of this picture is the character")
        self.face_combo.activated.connect(lambda i: self.facePicked.emit(self.index, i))
        self.remove = QToolButton(text="Remove", toolTip="Remove this reference image")
        self.remove.clicked.connect(lambda: self.removeRequested.emit(self.index))
        side = QVBoxLayout()
        side.addWidget(QLabel(f"<b>Reference {index + 1}</b>"))
        side.addWidget(self.weight)
        if with_faces:
            side.addWidget(self.status)
            side.addWidget(self.face_combo)
        else:
            self.status.hide()
            self.face_combo.hide()
        side.addWidget(self.remove, 0, Qt.AlignmentFlag.AlignLeft)
        side.addStretch()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 4, 2, 4)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(side, 1)

    def set_weight(self, weight: float) -> None:
        if abs(self.weight.value() - weight) > 1e-9:
            self.weight.blockSignals(True)
            self.weight.setValue(weight)
            self.weight.blockSignals(False)

    def set_faces(self, status: str, faces: dict | None, index: int) -> None:
        """Show the analysis: status text, numbered boxes and, with several faces, a chooser."""
        count = faces["count"] if faces else 0
        self.status.setText(status)
        colour = "#b00020" if faces is not None and count == 0 else "#8a5a00" if count > 1 else "#2e7d32"
        self.status.setStyleSheet(f"color: {colour if faces is not None else '#666'};")
        boxes = [f["bbox"] for f in faces["faces"]] if faces else []
        index = min(index, max(0, len(boxes) - 1))
        self.picture.set_faces(boxes, index)
        self.face_combo.blockSignals(True)
        self.face_combo.clear()
        self.face_combo.addItems([f"Use face {i + 1}" for i in range(count)])
        self.face_combo.setCurrentIndex(index if count else -1)
        self.face_combo.blockSignals(False)
        self.face_combo.setVisible(count > 1 and not self.status.isHidden())
