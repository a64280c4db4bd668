"""The project's images as a lazy mapping: PNG bytes by content hash, read from the file on demand.

:class:`ImageStore` behaves like the ``dict[str, bytes]`` that ``Project.images`` used to be, but an
image that came from a ``.comic`` file stays in the file until someone asks for its bytes: the store
keeps only where each entry lies (an open descriptor of the file, offset, size, CRC). Reads go
through ``os.pread`` (thread-safe, no shared file position) and are checked against the zip CRC;
recently read images sit in a small byte-bounded cache. Images added since (generated, imported)
are held in memory until a save writes them, after which the store points at the new file.

The descriptor keeps the file's data readable even after a save replaced the name, so a store
never reads a half-written or different file.
"""

from __future__ import annotations

import os
import threading
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

CACHE_BYTES = 64 * 1024 * 1024
PNG_HEADER_BYTES = 33


class DamagedImageError(OSError):
    """An image entry no longer matches its checksum (the file was damaged after it was opened)."""


class FileSource:
    """An open, read-only descriptor of one project file; closed when no entry refers to it."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._finalizer = weakref.finalize(self, os.close, self.fd)
        # The zip directory this file was read or written with, and where that zip ends: a save
        # may then append to the file instead of rewriting it (see app.project_io).
        self.directory: list | None = None
        self.end = 0

    def same_file(self, path: str | os.PathLike) -> bool:
        """Whether ``path`` names the file this descriptor reads (the same inode, as it is now)."""
        try:
            here, there = os.fstat(self.fd), os.stat(path)
        except OSError:
            return False
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    _seek_lock = threading.Lock()  # where there is no pread (Windows): seek and read under a lock

    def _pread(self, size: int, offset: int) -> bytes:
        if hasattr(os, "pread"):
            return os.pread(self.fd, size, offset)
        with self._seek_lock:
            os.lseek(self.fd, offset, os.SEEK_SET)
            return os.read(self.fd, size)

    def read(self, offset: int, size: int) -> bytes:
        chunks = []
        while size > 0:
            chunk = self._pread(min(size, 1 << 24), offset)
            if not chunk:
                raise DamagedImageError(f"{self.path.name} is shorter than it was when opened")
            chunks.append(chunk)
            offset += len(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._finalizer()


@dataclass(frozen=True)
class Stored:
    """Where one image's bytes lie: a stored (not deflated) zip entry of ``source``."""

    source: FileSource
    offset: int
    size: int
    crc: int

    def read(self) -> bytes:
        data = self.source.read(self.offset, self.size)
        if zlib.crc32(data) != self.crc:
            raise DamagedImageError(f"an image in {self.source.path.name} is damaged (bad checksum)")
        return data

    def chunks(self, size: int = 1 << 20, verify: bool = True) -> Iterator[bytes]:
        """The bytes in pieces (for copying into a new file without holding the image). A copy that
        keeps this entry's CRC may skip ``verify``: damage is then still found when it is read."""
        done = 0
        crc = 0
        while done < self.size:
            piece = self.source.read(self.offset + done, min(size, self.size - done))
            if verify:
                crc = zlib.crc32(piece, crc)
            done += len(piece)
            yield piece
        if verify and crc != self.crc:
            raise DamagedImageError(f"an image in {self.source.path.name} is damaged (bad checksum)")


def stored_entry(source: FileSource, info) -> Stored | None:
    """Where the data of ``info`` (a stored zip entry of ``source``) lies, from its local header;
    None when that header is not sound."""
    local = source.read(info.header_offset, 30)
    if local[:4] != b"PK\x03\x04":
        return None
    start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
    return Stored(source, start, info.file_size, info.CRC)


class _Cache:
    """Recently read images, bounded by their total size; shared by copies of one store."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self.limit = limit
        self.size = 0
        self.items: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self.lock = threading.Lock()
        self.headers: dict[tuple[str, int], bytes] = {}  # PNG headers by content hash (they never change)

    def get(self, key: tuple[int, int]) -> bytes | None:
        with self.lock:
            data = self.items.get(key)
            if data is not None:
                self.items.move_to_end(key)
            return data

    def put(self, key: tuple[int, int], data: bytes) -> None:
        if len(data) > self.limit // 4:
            return
        with self.lock:
            if key in self.items:
                return
            self.items[key] = data
            self.size += len(data)
            while self.size > self.limit and self.items:
                _, old = self.items.popitem(last=False)
                self.size -= len(old)


class ImageStore(MutableMapping[str, bytes]):
    """PNG bytes by content hash: in memory (``added``) or in a project file (``stored``)."""

    def __init__(self, data: Mapping[str, bytes] | None = None, *, cache: _Cache | None = None) -> None:
        self._added: dict[str, bytes] = {}
        self._stored: dict[str, Stored] = {}
        self._cache = cache or _Cache()
        if data:
            self.update(data)

    # -- mapping ---------------------------------------------------------------------------------------
    def __getitem__(self, key: str) -> bytes:
        data = self._added.get(key)
        if data is not None:
            return data
        where = self._stored[key]
        ckey = (id(where.source), where.offset)
        data = self._cache.get(ckey)
        if data is None:
            data = where.read()
            self._cache.put(ckey, data)
        return data

    def __setitem__(self, key: str, value: bytes) -> None:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"image {key}: expected bytes, not {type(value).__name__}")
        self._stored.pop(key, None)
        self._added[key] = bytes(value)

    def __delitem__(self, key: str) -> None:
        if key in self._added:
            del self._added[key]
            self._stored.pop(key, None)
        else:
            del self._stored[key]

    def __contains__(self, key: object) -> bool:
        return key in self._added or key in self._stored

    def __iter__(self) -> Iterator[str]:
        yield from list(self._added)
        yield from [k for k in self._stored if k not in self._added]

    def __len__(self) -> int:
        return len(self._added) + sum(1 for k in self._stored if k not in self._added)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        if set(self) != set(other):
            return False
        return all(self[k] == other[k] for k in self)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ImageStore({len(self._added)} in memory, {len(self._stored)} in files)"

    # -- copies --------------------------------------------------------------------------------------------
    def copy(self) -> "ImageStore":
        """A shallow copy sharing the files and the cache (bytes are immutable)."""
        new = ImageStore(cache=self._cache)
        new._added = dict(self._added)
        new._stored = dict(self._stored)
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> "ImageStore":
        return self.copy()

    def __reduce__(self):
        # Another process cannot share the descriptor: it gets the bytes as a plain dict.
        return dict, (dict(self.items()),)

    # -- what storage needs ------------------------------------------------------------------------------
    def header(self, key: str, size: int = PNG_HEADER_BYTES) -> bytes:
        """The first ``size`` bytes of an image (its PNG header) without reading the rest."""
        data = self._added.get(key)
        if data is not None:
            return data[:size]
        head = self._cache.headers.get((key, size))
        if head is None:
            where = self._stored[key]
            head = where.source.read(where.offset, min(size, where.size))
            if len(self._cache.headers) < 100_000:
                self._cache.headers[(key, size)] = head
        return head

    def stored(self, key: str) -> Stored | None:
        """Where an image lies in a file; None when it is held in memory."""
        return None if key in self._added else self._stored.get(key)

    def sources(self) -> list[FileSource]:
        """The files this store reads from (the one it was loaded from or last saved to first)."""
        seen: dict[int, FileSource] = {}
        for where in reversed(list(self._stored.values())):
            seen.setdefault(id(where.source), where.source)
        return list(seen.values())

    def in_memory(self) -> dict[str, bytes]:
        """The images not yet in any file (added since the last save or load)."""
        return dict(self._added)

    def place(self, entries: Mapping[str, Stored]) -> None:
        """Add images that lie in a file (a project being loaded)."""
        for key, where in entries.items():
            self._added.pop(key, None)
            self._stored[key] = where

    def attach(self, entries: Mapping[str, Stored]) -> None:
        """Point the images that ``entries`` (a just-written file) holds at it; free their bytes."""
        for key, where in entries.items():
            if key in self:
                self._added.pop(key, None)
                self._stored[key] = where


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the PNG header without decoding pixels."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def image_header(images: Mapping[str, bytes], key: str, size: int = PNG_HEADER_BYTES) -> bytes:
    """The first bytes of an image of any mapping, without reading all of a lazy one."""
    if isinstance(images, ImageStore):
        return images.header(key, size)
    return images[key][:size]
