"""Decoded panel images, cached by content key and capped in size for on-screen drawing."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap

from app.render import allow_project_images

MAX_SIDE = 2048  # screen pixels are plenty; export renders from the full-size PNG


class PixmapCache:
    """LRU of image key → QPixmap, decoded from ``Project.images`` on first use."""

    def __init__(self, capacity: int = 128) -> None:
        self._cache: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()
        self._sizes: dict[str, tuple[int, int]] = {}
        self.capacity = capacity
        allow_project_images()  # a large print-size panel image still shows on screen

    def get(self, images: dict[str, bytes], key: str | None, max_side: int = MAX_SIDE) -> QPixmap | None:
        if not key or key not in images:
            return None
        ck = (key, max_side)
        pix = self._cache.get(ck)
        if pix is not None:
            self._cache.move_to_end(ck)
            return pix
        image = QImage.fromData(images[key])
        if image.isNull():
            return None
        self._sizes[key] = (image.width(), image.height())
        if max(image.width(), image.height()) > max_side:
            image = image.scaled(max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        pix = QPixmap.fromImage(image)
        self._cache[ck] = pix
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return pix

    def size(self, images: dict[str, bytes], key: str) -> tuple[int, int]:
        """Full-resolution size of an image (placement is defined against it)."""
        if key not in self._sizes:
            self.get(images, key)
        return self._sizes.get(key, (0, 0))
