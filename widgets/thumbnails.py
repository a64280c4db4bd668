"""Small pictures for the docks: page thumbnails (rendered like the export), card and variant icons."""

from __future__ import annotations

import logging
from typing import Any, Callable

from PIL import Image
from PySide6.QtCore import QObject, QRectF, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPixmap

from app import image_previews, page_thumbnails
from app.image_store import ImageStore, png_size
from app.project import Page, Project
from app.render import decode_pixels, qimage_from_pixels, render_page

log = logging.getLogger(__name__)

PALETTE = ["#0f8b8d", "#7b3fbf", "#d1495b", "#edae49", "#00798c", "#30638e", "#6a994e", "#bc4749"]


def page_thumbnail(project: Project, page: Page, height_px: int = 150) -> QPixmap:
    """The page rendered as the export renders it, ``height_px`` high."""
    dpi = height_px / (page.height_mm / 25.4)
    return QPixmap.fromImage(render_page(project, page, dpi=dpi))


def draw_page_thumbnail(project: Project, page: Page, height_px: int = page_thumbnails.THUMB_PX,
                        decoded: Callable[[str], Any] | None = None) -> bytes:
    """PNG bytes of ``page`` drawn small (any thread; fills no cache). Its images are decoded and
    reduced by Pillow, which lets the GUI thread run meanwhile (Qt's decoder holds Python's lock for a
    whole decode: 30-200 ms a full-size image); those ``decoded`` already has are only reduced."""
    return page_thumbnails.render_thumbnail(project, page, height_px, decoded)


class _Signals(QObject):
    drawn = Signal(str, bytes)  # fingerprint, PNG


class _Job(QRunnable):
    def __init__(self, project: Project, page: Page, fp: str, signals: _Signals,
                 decoded: Callable[[str], Any] | None = None) -> None:
        super().__init__()
        self.project, self.page, self.fp, self.signals, self.decoded = project, page, fp, signals, decoded

    def run(self) -> None:
        try:
            png = page_thumbnails.lookup(self.fp)
            if png is None:
                from app import lettering

                lettering.bundled_families()  # the fonts, registered on this thread
                png = draw_page_thumbnail(self.project, self.page, decoded=self.decoded)
                page_thumbnails.remember(self.fp, png)
        except Exception as exc:  # noqa: BLE001 - a thumbnail is optional
            log.warning("page thumbnail not drawn: %s", exc)
            png = b""
        try:
            self.signals.drawn.emit(self.fp, png)
        except RuntimeError:  # the window (and its dock) closed meanwhile
            pass


class HeldPool(QThreadPool):
    """A thread pool whose jobs can be held back: between :meth:`hold` and :meth:`release` they wait
    (the window's first frame comes first)."""

    def __init__(self, parent: QObject | None = None, threads: int = 1) -> None:
        super().__init__(parent)
        self.setMaxThreadCount(threads)
        self._held: list[QRunnable] | None = None

    def submit(self, job: QRunnable) -> None:
        if self._held is not None:
            self._held.append(job)
        else:
            self.start(job)

    def hold(self) -> None:
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Start the jobs held since :meth:`hold`, and any later ones at once."""
        held, self._held = self._held or [], None
        for job in held:
            self.start(job)

    def drop(self) -> None:
        """Forget the jobs not started yet (held or queued)."""
        self.clear()
        if self._held:
            self._held.clear()


class PageThumbnailer(QObject):
    """Page thumbnails by fingerprint: from memory, the project file, or drawn on a worker thread.

    :meth:`request` answers at once when the picture is known, else queues it and emits
    ``ready(fingerprint, pixmap)`` later; each page is drawn from a copy, so editing goes on.
    """

    ready = Signal(str, QPixmap)

    def __init__(self, parent: QObject | None = None, threads: int = 1) -> None:
        super().__init__(parent)
        self.pool = HeldPool(self, threads)
        self._signals = _Signals()
        self._signals.drawn.connect(self._drawn)
        self._pending: set[str] = set()
        self._pixmaps: dict[str, QPixmap] = {}
        # image key → its full-size pixels when already decoded (the canvas's), for any thread
        self.decoded: Callable[[str], Any] | None = None
        self.hold, self.release = self.pool.hold, self.pool.release

    def cached(self, fp: str) -> QPixmap | None:
        return self._pixmaps.get(fp)

    def request(self, project: Project, page: Page, fp: str) -> QPixmap | None:
        pix = self._pixmaps.get(fp)
        if pix is not None or fp in self._pending:
            return pix
        self._pending.add(fp)
        # pages are immutable values (edits replace them): the job shares the page; the image
        # mapping is copied (shallow) because undo may drop images while the job draws
        images = project.images.copy() if isinstance(project.images, ImageStore) else dict(project.images)
        shell = Project(pages=[page], images=images, dpi=project.dpi)
        self.pool.submit(_Job(shell, shell.pages[0], fp, self._signals, self.decoded))
        return None

    def cancel_pending(self) -> None:
        self.pool.drop()
        self._pending.clear()

    def _drawn(self, fp: str, png: bytes) -> None:
        self._pending.discard(fp)
        pix = QPixmap()
        if not png or not pix.loadFromData(png, "PNG"):
            return
        if len(self._pixmaps) > 512:
            self._pixmaps.pop(next(iter(self._pixmaps)))
        self._pixmaps[fp] = pix
        self.ready.emit(fp, pix)

    def wait(self, ms: int = 30_000) -> bool:
        return self.pool.waitForDone(ms)


def square_image(png: bytes, size: int, key: str | None = None) -> QImage:
    """A square, centre-cropped ``size`` × ``size`` copy of an encoded image (any thread); null if unreadable.

    Drawn from the image's stored preview when ``key`` has one large enough (see
    :mod:`app.image_previews`), else decoded by Pillow, which lets the GUI thread run meanwhile."""
    pixels = None
    if key is not None:
        try:
            pixels = image_previews.decode(key, png_size(png[:33]))
        except ValueError:  # not a PNG header: decoded whole below (or refused)
            pixels = None
        if pixels is not None and min(pixels.size) < size:
            pixels = None
    try:
        pixels = pixels or decode_pixels(png)
    except (OSError, ValueError, Image.DecompressionBombError):
        return QImage()
    side = min(pixels.size)
    x, y = (pixels.width - side) // 2, (pixels.height - side) // 2
    square = pixels.crop((x, y, x + side, y + side)).resize((size, size), Image.Resampling.BOX)
    return qimage_from_pixels(square)


def image_icon(project: Project, key: str | None, size: int = 96) -> QPixmap | None:
    """A square, centre-cropped thumbnail of a stored image."""
    if not key or key not in project.images:
        return None
    image = square_image(project.images[key], size, key)
    return None if image.isNull() else QPixmap.fromImage(image)


class _IconSignals(QObject):
    drawn = Signal(str, int, QImage)  # image key, size, icon (null: unreadable)


class _IconJob(QRunnable):
    def __init__(self, key: str, png: bytes, size: int, signals: _IconSignals) -> None:
        super().__init__()
        self.key, self.png, self.size, self.signals = key, png, size, signals

    def run(self) -> None:
        image = square_image(self.png, self.size, self.key)
        try:
            self.signals.drawn.emit(self.key, self.size, image)
        except RuntimeError:  # the dock closed meanwhile
            pass


class ImageIcons(QObject):
    """:func:`image_icon` by image key, drawn on a worker thread (from its preview, or the full image) and
    kept: :meth:`icon` answers at once when known, else emits ``ready(key, size, pixmap)`` later.
    Between :meth:`hold` and :meth:`release` the drawings wait (see :class:`HeldPool`)."""

    ready = Signal(str, int, QPixmap)

    def __init__(self, parent: QObject | None = None, capacity: int = 256) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self.pool = HeldPool(self)
        self._signals = _IconSignals()
        self._signals.drawn.connect(self._drawn)
        self._pixmaps: dict[tuple[str, int], QPixmap | None] = {}
        self._pending: set[tuple[str, int]] = set()
        self.hold, self.release = self.pool.hold, self.pool.release

    def icon(self, project: Project, key: str | None, size: int) -> QPixmap | None:
        """The icon of ``key`` if drawn already (None: being drawn, or no such image)."""
        if not key or key not in project.images:
            return None
        ck = (key, size)
        if ck in self._pixmaps:
            return self._pixmaps[ck]
        if ck not in self._pending:
            self._pending.add(ck)
            self.pool.submit(_IconJob(key, project.images[key], size, self._signals))
        return None

    def wait(self, ms: int = 30_000) -> bool:
        return self.pool.waitForDone(ms)

    def _drawn(self, key: str, size: int, image: QImage) -> None:
        self._pending.discard((key, size))
        pix = None if image.isNull() else QPixmap.fromImage(image)
        if len(self._pixmaps) > self.capacity:
            self._pixmaps.pop(next(iter(self._pixmaps)))
        self._pixmaps[(key, size)] = pix
        if pix is not None:
            self.ready.emit(key, size, pix)


def initials_icon(name: str, size: int = 96) -> QPixmap:
    """A coloured tile with a card's initials (a card without reference images)."""
    from .canvas.badges import initials

    pix = QPixmap(size, size)
    pix.fill(QColor(PALETTE[sum(map(ord, name)) % len(PALETTE)]))
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setPixelSize(size // 3)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(Qt.GlobalColor.white)
    painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, initials(name))
    painter.end()
    return pix


def icon(pix: QPixmap) -> QIcon:
    return QIcon(pix)


ICON_SIZE = QSize(72, 72)
