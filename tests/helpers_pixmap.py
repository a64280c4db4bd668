"""Check what a Qt pixmap shows against a PIL image (independently of the app's conversion helpers)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage, QPixmap


def pixmap_array(pixmap: QPixmap) -> np.ndarray:
    """The pixmap's pixels as an RGB ``uint8`` array (height × width × 3)."""
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    data = np.frombuffer(bytes(image.constBits()), np.uint8).reshape(h, stride)
    return data[:, : 3 * w].reshape(h, w, 3).copy()


def assert_pixmap_shows(pixmap: QPixmap, image: Image.Image, tolerance: float = 12.0) -> None:
    """``pixmap`` is a real picture of ``image``: not null, of the image's aspect, and its pixels are
    those of ``image`` scaled to the pixmap's size (mean colour within ``tolerance``,
    correlated, the central colour close)."""
    assert not pixmap.isNull() and pixmap.width() > 0 and pixmap.height() > 0
    shown = pixmap_array(pixmap)
    h, w = shown.shape[:2]
    assert abs(w / h - image.width / image.height) < 0.1, (w, h, image.size)
    want = np.asarray(image.convert("RGB").resize((w, h), Image.Resampling.BILINEAR), dtype=np.float64)
    diff = np.abs(shown.astype(np.float64) - want)
    assert diff.mean() < tolerance, f"the pixmap differs from the image by {diff.mean():.1f} on average"
    assert np.corrcoef(shown.ravel(), want.ravel())[0, 1] > 0.9
    centre = diff[h // 2 - 2: h // 2 + 3, w // 2 - 2: w // 2 + 3].mean(axis=(0, 1))
    assert (centre < 3 * tolerance).all(), f"central colour off by {centre}"
    assert want.std() > 1.0  # a flat image would make this check weak
