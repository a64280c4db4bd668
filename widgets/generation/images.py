"""PIL → Qt image conversion for previews (small images, GUI thread)."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def pil_pixmap(image: Image.Image, side: int) -> QPixmap:
    """A pixmap of ``image`` fitted into ``side``×``side``."""
    rgba = image.convert("RGBA")
    qimg = QImage(rgba.tobytes(), rgba.width, rgba.height, 4 * rgba.width, QImage.Format.Format_RGBA8888).copy()
    return QPixmap.fromImage(qimg).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation)
