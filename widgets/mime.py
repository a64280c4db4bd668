"""Drag-and-drop payloads: library cards (a custom MIME type with the card id) and image files."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData

from app.images import open_image

CARD_MIME = "application/x-panelsmith-card"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def card_mime_data(card_id: str) -> QMimeData:
    data = QMimeData()
    data.setData(CARD_MIME, card_id.encode())
    data.setText(card_id)
    return data


def card_id(data: QMimeData | None) -> str:
    if data is None or not data.hasFormat(CARD_MIME):
        return ""
    return bytes(data.data(CARD_MIME)).decode(errors="replace")


def image_paths(data: QMimeData | None) -> list[str]:
    """Local image files among dropped URLs."""
    if data is None or not data.hasUrls():
        return []
    out = []
    for url in data.urls():
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES:
            out.append(url.toLocalFile())
    return out


def accept_image_drag(event) -> None:
    """Accept a drag (enter/move) that carries image files, ignore anything else."""
    if image_paths(event.mimeData()):
        event.acceptProposedAction()
    else:
        event.ignore()


def accept_image_drop(event) -> list[str]:
    """The image files of a drop, accepting it; an empty list (and the drop ignored) if none."""
    paths = image_paths(event.mimeData())
    if paths:
        event.acceptProposedAction()
    else:
        event.ignore()
    return paths


def load_image(path: str) -> Image.Image:
    """Open an image file for import; a readable one-line error otherwise."""
    return open_image(path, alpha=True, label=f"image {Path(path).name}")
