"""Decoded panel images for on-screen drawing: full-size sources and copies pre-scaled to their
on-screen size with area averaging, so a frame only blits pixmaps of the size it shows.

A panel asks :meth:`PixmapCache.scaled` for its image at the device size it covers. A size its
image's stored preview covers (see :mod:`app.image_previews`) is scaled from the preview, at once;
otherwise the first time an image is shown (a small one) it is scaled at once; later sizes (each
zoom step) and large images are scaled by a thread pool, and the panel meanwhile draws the nearest
copy it has (or its preview), stretched. An image shown larger than itself (or rotated) is drawn
from its source, decoded on the same threads (:meth:`PixmapCache.magnified`). Decoding a full
image makes its preview on the way.
``ready`` says when a scaled copy arrived, so the scene repaints the panels showing it.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from PIL import Image
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

from app import image_previews
from app.image_store import image_header
from app.images import png_size
from app.render import allow_project_images

MAX_SIDE = 2048  # screen pixels are plenty; export renders from the full-size PNG
SYNC_PIXELS = 1_100_000  # a source up to this size is scaled on the GUI thread the first time it shows
MAX_SCALED_PIXELS = 8_000_000  # larger on-screen copies are not kept: the source is drawn magnified
SCALED_BUDGET = 48_000_000  # pixels of scaled copies kept (about 190 MB)
SOURCE_BUDGET = 32_000_000  # pixels of decoded sources kept for re-scaling
PREVIEW = "@preview"  # a decoded preview is kept among the sources as key + PREVIEW


def area_scale(image: Image.Image, width: int, height: int) -> QImage:
    """``image`` (RGB or RGBA) resized to ``width`` × ``height`` by area averaging (a box filter), as a QImage."""
    small = image.resize((width, height), Image.Resampling.BOX)
    rgba = small if small.mode == "RGBA" else small.convert("RGBA")  # opaque: the same pixels as scaling RGBA
    return QImage(rgba.tobytes(), width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()


def decode(data: bytes) -> Image.Image:
    """A stored image decoded as RGB (opaque) or RGBA; an opaque one gets its alpha after scaling."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img if img.mode in ("RGB", "RGBA") else img.convert("RGBA")


class PixmapCache(QObject):
    """LRU caches of image key → source QPixmap and (key, width, height) → pre-scaled QPixmap."""

    ready = Signal(str)  # image key: a scaled copy of it arrived

    def __init__(self, capacity: int = 128, workers: int = 2) -> None:
        super().__init__()
        self._cache: OrderedDict[tuple[str, int], QPixmap] = OrderedDict()
        self._sizes: dict[str, tuple[int, int]] = {}
        self.capacity = capacity
        self._scaled: OrderedDict[tuple[str, int, int], QPixmap] = OrderedDict()
        self._latest: dict[str, tuple[int, int]] = {}  # key → size of its most recent scaled copy
        self._sources: OrderedDict[str, Image.Image] = OrderedDict()
        self._decoding: dict[str, threading.Event] = {}  # key → set when its decode (on any thread) ends
        self._no_preview: set[str] = set()  # keys whose stored preview would not decode
        self._lock = threading.Lock()
        self._pending: set[tuple[str, int, int]] = set()
        self._pending_sources: set[str] = set()  # keys being decoded for drawing magnified
        self._unreadable: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="panelsmith-scale")
        self._arrived.connect(self._store, Qt.ConnectionType.QueuedConnection)
        self._source_arrived.connect(self._store_source, Qt.ConnectionType.QueuedConnection)
        allow_project_images()  # a large print-size panel image still shows on screen

    _arrived = Signal(str, int, int, QImage)
    _source_arrived = Signal(str, QImage)

    # --- full-size sources ----------------------------------------------------------------------

    def magnified(self, images, key: str) -> tuple[QPixmap | None, bool]:
        """(pixmap, final): the image capped at :data:`MAX_SIDE`, for drawing it magnified (or
        rotated); until it is decoded off the GUI thread, the nearest copy there is (or its preview),
        not final, and ``ready`` says when it came. (None, True): it cannot be read."""
        ck = (key, MAX_SIDE)
        pix = self._cache.get(ck)
        if pix is not None:
            self._cache.move_to_end(ck)
            return pix, True
        if key in self._unreadable or key not in images:
            return None, True
        self._schedule_magnified(images, key)
        latest = self._latest.get(key)
        near = self._scaled.get((key, *latest)) if latest else None
        if near is None:
            preview = self._preview(key, self.size(images, key))
            if preview is not None:
                near = self._preview_copy(key, preview)
        return near, False

    def _preview_copy(self, key: str, preview: Image.Image) -> QPixmap:
        """``key``'s preview at its own size, kept as a scaled copy (the nearest one, until a better comes)."""
        pix = QPixmap.fromImage(area_scale(preview, preview.width, preview.height))
        self._put((key, preview.width, preview.height), pix)
        return pix

    def has_magnified(self, key: str) -> bool:
        """Whether ``key``'s source is ready to draw magnified (see :meth:`magnified`)."""
        return (key, MAX_SIDE) in self._cache

    def _schedule_magnified(self, images, key: str) -> None:
        if key in self._pending_sources:
            return
        data = images[key]
        self._pending_sources.add(key)

        def work() -> None:
            try:
                image = self._source(key, data)
                if max(image.size) > MAX_SIDE:
                    image = image.copy()
                    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
                qimage = area_scale(image, image.width, image.height)
            except Exception:  # an unreadable image: the panel shows its fallback
                qimage = QImage()
            self._source_arrived.emit(key, qimage)

        self._pool.submit(work)

    def _store_source(self, key: str, image: QImage) -> None:
        self._pending_sources.discard(key)
        if image.isNull():
            self._unreadable.add(key)
        else:
            self._cache[(key, MAX_SIDE)] = QPixmap.fromImage(image)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        self.ready.emit(key)

    def get(self, images, key: str | None, max_side: int = MAX_SIDE) -> QPixmap | None:
        """The image (capped at ``max_side``) as a pixmap, decoded here (see :meth:`magnified`)."""
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

    def size(self, images, key: str) -> tuple[int, int]:
        """Full-resolution size of an image (placement is defined against it)."""
        if key not in self._sizes and key in images:
            try:
                self._sizes[key] = png_size(image_header(images, key))  # the header only
            except (ValueError, OSError):
                self.get(images, key)
        return self._sizes.get(key, (0, 0))

    # --- pre-scaled copies ----------------------------------------------------------------------

    def wants_scaled(self, images, key: str, width: int, height: int) -> bool:
        """Whether ``key`` shown at ``width`` × ``height`` device pixels is drawn from a pre-scaled copy
        (a downscale of a reasonable size); otherwise the source is drawn magnified."""
        w, h = self.size(images, key)
        return 0 < width <= w and 0 < height <= h and width * height <= MAX_SCALED_PIXELS and (width, height) != (w, h)

    def scaled(self, images, key: str, width: int, height: int) -> tuple[QPixmap | None, bool]:
        """(pixmap, exact): the copy of ``key`` at ``width`` × ``height``, or the nearest copy there is
        (``exact`` False; the exact one is being scaled off the GUI thread), or (None, False)."""
        ck = (key, width, height)
        pix = self._scaled.get(ck)
        if pix is not None:
            self._scaled.move_to_end(ck)
            return pix, True
        full = self.size(images, key)
        preview = self._preview(key, full)
        if preview is not None and width <= preview.width and height <= preview.height:
            self._put(ck, QPixmap.fromImage(area_scale(preview, width, height)))
            return self._scaled[ck], True
        latest = self._latest.get(key)
        near = self._scaled.get((key, *latest)) if latest else None
        if near is None and preview is not None:  # shown larger than its preview: that, stretched, meanwhile
            near = self._preview_copy(key, preview)
            self._schedule(images, key, width, height)
            return near, False
        source_px = full[0] * full[1]
        if near is None and source_px <= SYNC_PIXELS:
            data = images[key]
            image = area_scale(self._source(key, data), width, height)
            self._put(ck, QPixmap.fromImage(image))
            return self._scaled[ck], True
        self._schedule(images, key, width, height)
        return near, False

    def has_scaled(self, key: str, width: int, height: int) -> bool:
        """Whether the copy of ``key`` at ``width`` × ``height`` is ready to blit."""
        return (key, width, height) in self._scaled

    def prefetch(self, images, key: str, width: int, height: int) -> None:
        """Make the copy of ``key`` at ``width`` × ``height`` off the GUI thread (a loop's next frames)."""
        if (key, width, height) not in self._scaled and key in images:
            self._schedule(images, key, width, height)

    @property
    def pending(self) -> int:
        """Scaled copies (and sources to draw magnified) being made off the GUI thread."""
        return len(self._pending) + len(self._pending_sources)

    def decoded(self, key: str) -> Image.Image | None:  # the full image's, never a preview's
        """The full-size pixels of ``key`` if they are at hand (decoded for the canvas), else None;
        any thread may ask (page thumbnails of the page shown then decode nothing)."""
        with self._lock:
            return self._sources.get(key)

    def prewarm(self, images, keys) -> None:
        """Start decoding the sources of ``keys`` (the images a page about to be shown draws), or
        their previews where they have one, on the scaling threads, so that its first frame decodes
        them side by side instead of one after the other on the GUI thread (which then takes over
        any not started yet)."""
        for key in keys:
            if key not in images:
                continue
            full = self.size(images, key)
            if image_previews.preview_size(*full) and image_previews.known(key) is not None:
                self._pool.submit(self._quiet, self._preview, key, full)
                continue
            if full[0] * full[1] > SYNC_PIXELS:
                continue  # a large one is scaled off the GUI thread anyway
            with self._lock:
                if key in self._sources or key in self._decoding:
                    continue
            self._pool.submit(self._quiet, self._source, key, images[key])

    @staticmethod
    def _quiet(decode_one, *args) -> None:
        try:
            decode_one(*args)
        except Exception:  # noqa: BLE001 - the GUI thread meets the same error when it paints
            pass

    def _preview(self, key: str, full: tuple[int, int]) -> Image.Image | None:
        """The decoded stored preview of ``key`` (its full size ``full``), or None without a sound one."""
        if key in self._no_preview or image_previews.preview_size(*full) is None or image_previews.known(key) is None:
            return None
        image = self._decoded(key + PREVIEW, lambda: image_previews.decode(key, full))
        if image is None:
            self._no_preview.add(key)
        return image

    def _source(self, key: str, data: bytes) -> Image.Image:
        """The decoded source of ``key`` (see :meth:`_decoded`); its preview is made on the way."""
        image = self._decoded(key, lambda: decode(data))
        if image_previews.known(key) is None and image_previews.preview_size(image.width, image.height):
            try:
                self._pool.submit(self._quiet, image_previews.keep, key, image)
            except RuntimeError:  # closed: no preview this time
                pass
        return image

    def _decoded(self, name: str, load) -> Image.Image | None:
        """The pixels called ``name``: kept, being decoded by another thread (waited for), or
        ``load``ed here (one decode of a name at a time, whichever thread asks first)."""
        with self._lock:
            image = self._sources.get(name)
            if image is not None:
                self._sources.move_to_end(name)
                return image
            busy = self._decoding.get(name)
            if busy is None:
                self._decoding[name] = busy = threading.Event()
                mine = True
            else:
                mine = False
        if not mine:
            busy.wait()
            with self._lock:
                image = self._sources.get(name)
            if image is not None:
                return image
            return self._decoded(name, load)  # the other thread failed (or it was evicted): decode here
        try:
            image = load()
            if image is None:
                return None
            with self._lock:
                self._sources[name] = image
                while sum(i.width * i.height for i in self._sources.values()) > SOURCE_BUDGET and \
                        len(self._sources) > 1:
                    self._sources.popitem(last=False)
            return image
        finally:
            with self._lock:
                del self._decoding[name]
            busy.set()

    def _schedule(self, images, key: str, width: int, height: int) -> None:
        ck = (key, width, height)
        if ck in self._pending:
            return
        data = images[key]
        self._pending.add(ck)

        def work() -> None:
            try:
                image = area_scale(self._source(key, data), width, height)
            except Exception:  # an unreadable image: the panel keeps its fallback
                image = QImage()
            self._arrived.emit(key, width, height, image)

        self._pool.submit(work)

    def _store(self, key: str, width: int, height: int, image: QImage) -> None:
        self._pending.discard((key, width, height))
        if image.isNull():
            return
        self._put((key, width, height), QPixmap.fromImage(image))
        self.ready.emit(key)

    def _put(self, ck: tuple[str, int, int], pix: QPixmap) -> None:
        self._scaled[ck] = pix
        self._latest[ck[0]] = ck[1:]
        used = sum(k[1] * k[2] for k in self._scaled)
        while used > SCALED_BUDGET and len(self._scaled) > 1:
            old, _ = self._scaled.popitem(last=False)
            used -= old[1] * old[2]
            if self._latest.get(old[0]) == old[1:]:
                del self._latest[old[0]]

    def close(self) -> None:
        """Stop the scaling threads (pending copies are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
