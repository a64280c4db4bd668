"""Small pictures kept beside a project by a content name (page thumbnails, image previews).

A shelf holds the pictures drawn in this process (bytes, bounded, least recently used dropped) and
notes where the ones of opened or saved files lie, without reading them: a file's entry is looked
up in its zip directory only, and its local header is read the first time the picture is asked
for. Saves write what the shelf knows; any thread may use a shelf.
"""

from __future__ import annotations

import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Union

from .image_store import FileSource, Stored, stored_entry


class InFile:
    """A stored (not deflated) zip entry of an open project file, located when first read."""

    __slots__ = ("source", "info", "_stored")

    def __init__(self, source: FileSource, info: zipfile.ZipInfo) -> None:
        self.source, self.info = source, info
        self._stored: Stored | None = None

    @property
    def size(self) -> int:
        return self.info.file_size

    @property
    def crc(self) -> int:
        return self.info.CRC

    def stored(self) -> Stored:
        """Where the entry's bytes lie (reads its local header once; OSError if it is not sound)."""
        if self._stored is None:
            self._stored = stored_entry(self.source, self.info)
            if self._stored is None:
                raise OSError(f"{self.info.filename}: bad local header")
        return self._stored

    def read(self) -> bytes:
        return self.stored().read()


Kept = Union[bytes, Stored, InFile]


class Shelf:
    """Pictures by name: drawn here (bytes, at most ``cache_bytes``) or lying in files (at most ``max_places``)."""

    def __init__(self, max_bytes: int, cache_bytes: int, max_places: int) -> None:
        self.max_bytes, self.cache_bytes, self.max_places = max_bytes, cache_bytes, max_places
        self._lock = threading.Lock()
        self._pictures: OrderedDict[str, bytes] = OrderedDict()
        self._places: OrderedDict[str, Stored | InFile] = OrderedDict()
        self._size = 0

    def clear(self) -> None:
        with self._lock:
            self._pictures.clear()
            self._places.clear()
            self._size = 0

    def remember(self, name: str, data: bytes) -> None:
        """Keep a picture drawn here (bounded: the least recently used are dropped)."""
        if len(data) > self.max_bytes:
            return
        with self._lock:
            if name in self._pictures:
                self._pictures.move_to_end(name)
                return
            self._pictures[name] = data
            self._size += len(data)
            while self._size > self.cache_bytes and self._pictures:
                _, old = self._pictures.popitem(last=False)
                self._size -= len(old)

    def place(self, entries: Mapping[str, Stored | InFile]) -> None:
        """Note where pictures lie in a project file (read only when asked for)."""
        with self._lock:
            for name, where in entries.items():
                if where.size <= self.max_bytes:
                    self._places[name] = where
                    self._places.move_to_end(name)
            while len(self._places) > self.max_places:
                self._places.popitem(last=False)

    def place_entries(self, source: FileSource, named: Iterable[tuple[str, zipfile.ZipInfo]]) -> None:
        """:meth:`place` the stored entries of ``source`` given as (picture name, zip entry)."""
        self.place({name: InFile(source, info) for name, info in named if info.compress_type == zipfile.ZIP_STORED})

    def known(self, name: str) -> Kept | None:
        """The picture called ``name``: its bytes, where it lies in a file, or None."""
        with self._lock:
            return self._pictures.get(name) or self._places.get(name)

    def lookup(self, name: str) -> bytes | None:
        """The bytes of a known picture (read from its file if need be); None if unknown or unreadable."""
        found = self.known(name)
        if isinstance(found, (Stored, InFile)):
            try:
                data = found.read()
            except OSError:
                return None
            self.remember(name, data)
            return data
        return found
