"""The ``.comic`` project file: a zip container, saved atomically, loaded defensively.

Layout (like OpenRaster's): the first entry is an uncompressed ``mimetype`` holding
``application/x-panelsmith-comic``; then ``manifest.json`` (schema version and all document data,
see :mod:`app.manifest`), ``thumbnail.png`` (first page, about 256 px) and ``images/<key>.png``
(stored, not deflated: they are PNG already). Only images the document refers to are written.

Loading never decodes pixels: PNG entries are checked by their header and trailer only, so big
projects open fast. Anything hostile or broken raises :class:`ProjectFileError` with one line.

Saving a large file that was opened (or last saved) here appends what changed instead of rewriting
it: the new and changed entries, a new manifest and a new central directory go after the old end
of the zip, whose own directory stays intact until the last byte of the new one is written. A save
cut short at any point (killed, power loss, full disk) therefore leaves the previous version whole
inside the file, and :func:`load_project` finds it: when the file does not end with a complete zip
directory, it opens the last complete one before the torn tail. Unreferenced entries of earlier
versions stay in the file as dead bytes until a full rewrite (temporary file + rename) compacts it:
when they would pass half the file, on Save As (``compact``), for small files, and whenever the
file is not exactly as this process left it. See docs/ARCHITECTURE.md (storage).
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import io
import json
import logging
import os
import pickle
import re
import shutil
import stat
import struct
import tempfile
import threading
import time
import uuid
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from glob import escape as glob_escape
from pathlib import Path
from typing import IO, Any, Callable

from engine.errors import one_line
from engine.limits import MAX_IMAGE_PIXELS

from . import image_previews, page_thumbnails
from .image_store import FileSource, ImageStore, Stored, stored_entry
from .picture_shelf import InFile, Kept
from .limits import MAX_ENTRIES, MAX_ENTRY_BYTES, MAX_MANIFEST_BYTES, MAX_RATIO, MAX_TOTAL_BYTES, RATIO_MIN_BYTES
from .manifest import (EncodedPage, ManifestError, PageEncodings, check_project, manifest_to_project,
                       project_to_manifest)
from .project import Project

log = logging.getLogger(__name__)

MIMETYPE = "application/x-panelsmith-comic"
SUFFIX = ".comic"
BACKUP_SUFFIX = ".bak"
MANIFEST = "manifest.json"
THUMBNAIL = "thumbnail.png"
THUMBNAIL_PX = 256
# Saves append to files of at least this size (smaller ones are rewritten whole: cheap, and the
# .bak is then always the previous version); a save that would leave more than this share of the
# file dead rewrites (compacts) it instead.
APPEND_MIN_BYTES = 16 * 1024 * 1024
COMPACT_DEAD_SHARE = 0.5


_IMAGE_NAME = re.compile(r"^images/([0-9a-f]{8,64})\.png$")
_PAGE_THUMB_NAME = re.compile(r"^thumbnails/([0-9a-f]{32})\.png$")
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


class ProjectFileError(Exception):
    """A project file that cannot be opened; ``str()`` is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class ProjectSaveError(OSError):
    """Saving failed; the previous file (if any) is untouched. ``str()`` is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))

    def __str__(self) -> str:
        return str(self.args[0])


# --- saving ----------------------------------------------------------------------------------------------

# The function that wraps the temporary file's descriptor; tests swap it to simulate a full disk.
_open_for_write: Callable[[int], IO[bytes]] = lambda fd: os.fdopen(fd, "wb")  # noqa: E731


def save_project(project: Project, path: str | os.PathLike, *, backup: bool = True, thumbnail: bool = True,
                 attach: bool = True, compact: bool = False, encodings: PageEncodings | None = None) -> Path:
    """Write ``project`` to ``path`` crash-safely; a full rewrite keeps the previous file as ``<name>.bak``.

    A full rewrite goes to a temporary file in the same folder, flushed and fsynced, then renamed
    over the old one, and the folder is fsynced. When ``path`` is a large file this project's images
    were read from (and nobody changed it since), only what changed is appended to it instead (see
    the module's docstring); ``compact`` forces the full rewrite. On any failure the old version is
    left readable and :class:`ProjectSaveError` is raised. Unreferenced images are not written. A
    project opened through a symlink is saved to the link's target (the link stays a link).

    Images that lie in a file (an :class:`~app.image_store.ImageStore` from :func:`load_project`)
    are copied from it piece by piece, never held whole. With ``attach`` (not for autosaves), the
    store then reads its images from the new file and frees the bytes it held for them.
    This is :func:`snapshot` followed by :meth:`SaveSnapshot.write`; a window takes the snapshot
    on its thread and writes it on another. ``encodings`` (a document's, see
    :class:`~app.manifest.PageEncodings`) re-encodes only the pages changed since the last save.
    """
    snap = snapshot(project, path, thumbnail=thumbnail, encodings=encodings)
    written = snap.write(backup=backup, compact=compact)
    if attach and isinstance(project.images, ImageStore):
        project.images.attach(written)
    return snap.saved_path


@dataclass(frozen=True)
class SaveSnapshot:
    """Everything a save writes, taken at one moment: later edits do not reach it (any thread may write it).

    ``project`` is a copy of the document's shell: its own page list (the pages themselves shared,
    never changed in place when ``encodings`` is the document's), its own cards and settings, a
    copy of the image mapping. Checking and encoding it (only the pages ``encodings`` has not seen)
    and making the JSON text happen once, on the first thread that asks (the writing one)."""

    saved_path: Path
    project: Project
    encodings: PageEncodings
    cover: Project | None  # the first page, for the file's thumbnail
    thumbnails: bool = True  # store the known page thumbnails

    @property
    def images(self) -> Any:
        return self.project.images

    @cached_property
    def _prepared(self) -> tuple[dict, tuple[str, ...], list[EncodedPage]]:
        """The checked manifest, the referenced image keys, the encoded pages (raises ProjectSaveError)."""
        project, name = self.project, self.saved_path.name
        try:
            # The saver never writes what the loader would refuse: the same checks, before anything is written.
            keys = sorted(project.referenced_images())
            missing = [k for k in keys if k not in project.images]
            if missing:
                raise ValueError(f"image {missing[0]} is missing from the project")
            check_project(project, set(project.images), self.encodings)
            pages = self.encodings.encode(project.pages)
            data = project_to_manifest(project, self.encodings)  # its pages: those just encoded
        except UnicodeEncodeError:
            raise ProjectSaveError(f"could not save {name}: a text holds an invalid character "
                                   f"(a lone UTF-16 surrogate); nothing was written") from None
        except (ValueError, TypeError) as exc:
            raise ProjectSaveError(f"could not save {name}: {exc}") from None
        return data, tuple(keys), pages

    @property
    def data(self) -> dict:
        """The manifest as a dict (shared with later saves: not to be changed)."""
        return self._prepared[0]

    @property
    def keys(self) -> tuple[str, ...]:
        return self._prepared[1]

    @cached_property
    def _text(self) -> tuple[bytes, dict, str, dict]:
        """The manifest's JSON, the page thumbnails known by fingerprint, the first page's fingerprint,
        the image previews known by image key."""
        name = self.saved_path.name
        data, keys, pages = self._prepared
        try:
            # each page's JSON text is made once (PageEncodings); the rest of the manifest here
            mark = f"pages-{uuid.uuid4().hex}"
            head = json.dumps({**data, "pages": mark}, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            text = head.replace(json.dumps(mark), "[" + ",".join(e.text for e in pages) + "]", 1)
            manifest = text.encode("utf-8")
            if len(manifest) > MAX_MANIFEST_BYTES:
                raise ValueError(f"the document is too large ({len(manifest)} bytes of text; "
                                 f"the limit is {MAX_MANIFEST_BYTES})")
            thumbs = _known(page_thumbnails.SHELF, [e.fingerprint for e in pages]) if self.thumbnails else {}
            if len(keys) + len(thumbs) + 3 > MAX_ENTRIES:
                raise ValueError(f"the project holds too many images ({len(keys)})")
            previews = _known(image_previews.SHELF, keys)
            if len(keys) + len(thumbs) + len(previews) + 3 > MAX_ENTRIES:
                previews = {}  # optional: the canvas decodes the full images instead
            cover_fp = pages[0].fingerprint if self.cover and pages else ""
        except UnicodeEncodeError:
            raise ProjectSaveError(f"could not save {name}: a text holds an invalid character "
                                   f"(a lone UTF-16 surrogate); nothing was written") from None
        except (ValueError, TypeError) as exc:
            raise ProjectSaveError(f"could not save {name}: {exc}") from None
        return manifest, thumbs, cover_fp, previews

    @property
    def manifest(self) -> bytes:
        return self._text[0]

    @property
    def page_thumbs(self) -> dict:
        return self._text[1]

    @property
    def previews(self) -> dict:
        return self._text[3]

    @property
    def cover_fp(self) -> str:
        """The first page's fingerprint (an appending save keeps a thumbnail of the same page)."""
        return self._text[2]

    def write(self, *, backup: bool = True, compact: bool = False) -> dict[str, Stored]:
        """Write the file to ``saved_path`` (see :func:`save_project`); returns where its images
        lie (for :meth:`ImageStore.attach <app.image_store.ImageStore.attach>`)."""
        self._text  # noqa: B018 - the JSON text first: a refused document writes nothing
        plan = None if compact else _append_plan(self, self.saved_path)
        if plan is not None:
            return _append(self, self.saved_path, plan)
        return _write_file(self, self.saved_path, backup)


def snapshot(project: Project, path: str | os.PathLike, *, thumbnail: bool = True,
             encodings: PageEncodings | None = None) -> SaveSnapshot:
    """Take what a save writes. With a document's ``encodings`` (its pages are never changed in
    place) this is quick (no page encoded, no image read, no text made: the writing thread does
    that, for the pages no earlier save encoded); without, the project is checked and encoded
    now, and errors are raised here."""
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    images = project.images.copy() if isinstance(project.images, ImageStore) else dict(project.images)
    shell = dataclasses.replace(project, pages=list(project.pages), images=images,
                                characters=_clone(project.characters), styles=_clone(project.styles),
                                settings=_clone(project.settings))
    cover = None
    if thumbnail and project.pages:
        cover = Project(pages=[copy.deepcopy(project.pages[0])], images=images, dpi=project.dpi)
    snap = SaveSnapshot(path, shell, encodings if encodings is not None else PageEncodings(), cover, thumbnail)
    if encodings is None:
        snap._text  # noqa: B018 - pages the caller may still change in place: encoded now
    return snap


def _clone(value: Any) -> Any:
    """A deep copy of cards or settings (plain data) by pickling, deepcopy's fallback for what will not pickle."""
    try:
        return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - e.g. a settings value pickle refuses
        return copy.deepcopy(value)


def _write_file(snap: SaveSnapshot, path: Path, backup: bool) -> dict[str, Stored]:
    folder = path.parent if str(path.parent) else Path(".")
    # The thumbnail (decoding the first page's images) is drawn on a helper thread while the
    # images are written, and stored last.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="thumbnail") if snap.cover and _can_render() else None
    thumb = pool.submit(_thumbnail, snap.cover) if pool else None

    tmp: Path | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        tmp = Path(tmp_name)
        with _open_for_write(fd) as f:
            _write_zip(f, snap.manifest, thumb.result if thumb else None,
                       ((k, _image_data(snap.images, k)) for k in snap.keys), snap.page_thumbs, snap.cover_fp,
                       snap.previews)
            f.flush()
            os.fsync(f.fileno())
        _set_mode(tmp, path)
        source = FileSource(tmp)  # the descriptor follows the data through the rename
        with zipfile.ZipFile(tmp) as check:  # the central directory must read back
            infos = check.infolist()
            if [i.filename for i in infos[:1]] != ["mimetype"]:
                raise OSError(errno.EIO, "the written file does not read back")
            written = _locate_images(source, {i.filename: i for i in infos})
            source.directory, source.end = infos, os.fstat(source.fd).st_size
        if backup and path.exists():
            _make_backup(path)
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(folder)
        _remove_stale_temps(folder, path.name)
        _place_pictures(source, infos)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ProjectSaveError(f"could not save {path.name}: {_os_reason(exc)}; "
                               f"{'the previous file is unchanged' if path.exists() else 'nothing was written'}") from exc
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if tmp is not None:
            try:
                tmp.unlink()
            except OSError:
                pass
    return written


def check_writable(path: str | os.PathLike) -> None:
    """Raise :class:`ProjectSaveError` now when ``path`` could not be saved (its folder is read-only
    or missing): commands check this before a long generation, not after."""
    path = Path(os.path.realpath(path))
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ProjectSaveError(f"cannot save {path.name}: {(exc.strerror or str(exc)).lower()} (its folder {path.parent} "
                               f"cannot be written); nothing was started") from None


def _write_zip(f: IO[bytes], manifest: bytes, thumb: Callable[[], bytes | None] | None, images,
               page_thumbs: dict[str, Kept] | None = None, cover_fp: str = "",
               previews: dict[str, Kept] | None = None) -> None:
    now = time.localtime()[:6]
    with zipfile.ZipFile(f, "w", allowZip64=True) as zf:
        def put(name: str, data: bytes, method: int) -> None:
            _put(zf, name, data, method, now, cover_fp if name == THUMBNAIL else "")

        put("mimetype", MIMETYPE.encode("ascii"), zipfile.ZIP_STORED)
        put(MANIFEST, manifest, zipfile.ZIP_DEFLATED)
        for key, png in images:
            if isinstance(png, Stored):
                info = zipfile.ZipInfo(f"images/{key}.png", date_time=now)
                info.external_attr = 0o644 << 16
                _copy_stored(zf, info, png)
            else:
                put(f"images/{key}.png", png, zipfile.ZIP_STORED)
        pictures = [*((f"thumbnails/{fp}.png", png) for fp, png in (page_thumbs or {}).items()),
                    *((image_previews.entry_name(key), jpg) for key, jpg in (previews or {}).items())]
        for name, data in pictures:
            picture = _picture_bytes(data)
            if picture is not None:
                put(name, picture, zipfile.ZIP_STORED)
        thumb_png = thumb() if thumb else None
        if thumb_png:
            put(THUMBNAIL, thumb_png, zipfile.ZIP_STORED)


def _put(zf: zipfile.ZipFile, name: str, data: bytes, method: int, now: tuple, comment: str = "") -> None:
    info = zipfile.ZipInfo(name, date_time=now)
    info.compress_type = method
    info.external_attr = 0o644 << 16
    info.comment = comment.encode("ascii")
    zf.writestr(info, data, compresslevel=1 if method == zipfile.ZIP_DEFLATED else None)  # fast: the manifest


# --- appending a save to the file it replaces -----------------------------------------------------------

@dataclass
class _AppendPlan:
    source: FileSource  # the file's open descriptor, with the directory it was read or written with
    keep: list[zipfile.ZipInfo]  # entries that stay where they are (mimetype first)
    new: list[tuple[str, Kept]]  # entries to append (stored)
    cover: bool  # the project thumbnail must be drawn again (its first page changed)


def _entry_bytes(info: zipfile.ZipInfo) -> int:
    """About how many bytes an entry takes in the file (local header, name, extra, data)."""
    return 30 + len(info.orig_filename.encode("utf-8")) + len(info.extra) + info.compress_size


def _append_plan(snap: SaveSnapshot, path: Path) -> _AppendPlan | None:
    """How to append ``snap`` to ``path``; None when the file must be (re)written whole: it is
    small, new, not the file the images were read from, changed since, or would be too dead."""
    images = snap.images
    if not isinstance(images, ImageStore):
        return None
    source = next((s for s in images.sources() if s.directory is not None and s.same_file(path)), None)
    if source is None:
        return None
    try:
        size = os.stat(path).st_size
    except OSError:
        return None
    if size != source.end or size < APPEND_MIN_BYTES:
        return None
    old = {i.filename: i for i in source.directory}
    if "mimetype" not in old:
        return None
    keep, new = [old["mimetype"]], []

    def place(name: str, data: Kept) -> None:
        info = old.get(name)
        if (isinstance(data, (Stored, InFile)) and data.source is source and info is not None
                and info.compress_type == zipfile.ZIP_STORED and (info.CRC, info.file_size) == (data.crc, data.size)):
            keep.append(info)
        else:
            new.append((name, data))

    for key in snap.keys:
        place(f"images/{key}.png", _image_data(images, key))
    for fp, png in snap.page_thumbs.items():
        place(f"thumbnails/{fp}.png", png)
    for key, jpg in snap.previews.items():
        place(image_previews.entry_name(key), jpg)
    cover = old.get(THUMBNAIL)
    redraw = snap.cover is not None
    if cover is not None and snap.cover_fp and cover.comment == snap.cover_fp.encode("ascii"):
        keep.append(cover)
        redraw = False
    live = sum(_entry_bytes(i) for i in keep)
    added = len(snap.manifest) + sum(len(d) if isinstance(d, bytes) else d.size for _, d in new)
    directory = 46 * len(keep) + 64 * (len(new) + 2) + 128
    total = size + added + directory
    if total - live - added - directory > COMPACT_DEAD_SHARE * total:
        return None
    return _AppendPlan(source, keep, new, redraw)


def _append(snap: SaveSnapshot, path: Path, plan: _AppendPlan) -> dict[str, Stored]:
    """Append the changed entries, the manifest and a new directory after the file's end.

    The old zip (up to its end-of-directory record) is never touched; until the new
    end-of-directory record is complete the file's tail is torn, and :func:`load_project`
    then opens the old version. On failure the tail is cut off again."""
    source, start = plan.source, plan.source.end
    thumb = _thumbnail(snap.cover) if plan.cover and snap.cover is not None and _can_render() else None
    now = time.localtime()[:6]
    zf: zipfile.ZipFile | None = None
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_BINARY", 0))
        with _open_for_write(fd) as f:
            f.seek(start)
            zf = zipfile.ZipFile(f, "w", allowZip64=True)  # its directory starts where this writing ends
            for info in plan.keep:
                kept = info  # shared: writing the directory does not change it
                if info.extra:
                    kept = copy.copy(info)
                    kept.extra = zipfile._strip_extra(kept.extra, (1,))  # type: ignore[attr-defined]  # zip64 sizes: rewritten
                zf.filelist.append(kept)
                zf.NameToInfo[kept.filename] = kept
            _put(zf, MANIFEST, snap.manifest, zipfile.ZIP_DEFLATED, now)
            for name, data in plan.new:
                if isinstance(data, Stored) and name.startswith("images/"):
                    info = zipfile.ZipInfo(name, date_time=now)
                    info.external_attr = 0o644 << 16
                    _copy_stored(zf, info, data)
                    continue
                picture = _picture_bytes(data)
                if picture is not None:
                    _put(zf, name, picture, zipfile.ZIP_STORED, now)
            if thumb:
                _put(zf, THUMBNAIL, thumb, zipfile.ZIP_STORED, now, snap.cover_fp)
            zf.close()  # the central directory, then the end record: the last bytes written
            entries = list(zf.filelist)
            f.flush()
            os.fsync(f.fileno())
        end = os.fstat(source.fd).st_size
        with open(path, "rb") as check:  # the new end record and directory must read back
            if _zip_end_at(check, end - 22, end) != end or _last_complete_zip(check) != end:
                raise OSError(errno.EIO, "the written file does not read back")
        added = entries[len(plan.keep):]
        written = {key: where for key in snap.keys
                   if isinstance(where := _image_data(snap.images, key), Stored) and where.source is source}
        written.update(_locate_images(source, {i.filename: i for i in added}))
        _place_pictures(source, added)
    except BaseException as exc:
        if zf is not None:
            zf.fp = None  # never let the half-written zip finish its directory (as its finalizer would)
        try:
            os.truncate(path, start)
        except OSError:
            pass  # the torn tail stays; loading still finds the previous version before it
        if isinstance(exc, (OSError, zipfile.BadZipFile, zipfile.LargeZipFile)):
            raise ProjectSaveError(f"could not save {path.name}: {_os_reason(exc)}; "
                                   f"the previous file is unchanged") from exc
        raise
    source.directory, source.end = entries, end
    return written


class _Prefix(io.RawIOBase):
    """The first ``end`` bytes of a file, as a file (a zip whose torn tail is ignored)."""

    def __init__(self, f: IO[bytes], end: int) -> None:
        super().__init__()
        self.f, self.end, self.pos = f, end, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self.pos, self.end)[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.end - self.pos
        size = max(0, min(size, self.end - self.pos))
        self.f.seek(self.pos)
        data = self.f.read(size)
        self.pos += len(data)
        return data


_EOCD = b"PK\x05\x06"
MAX_END_CANDIDATES = 1000


def _last_complete_zip(f: IO[bytes]) -> int | None:
    """Where the last complete zip in ``f`` ends (a save was cut off after it); None if none."""
    size = f.seek(0, os.SEEK_END)
    pos = size
    candidates = 0
    while pos > 0:
        lo = max(0, pos - (4 << 20))
        f.seek(lo)
        data = f.read(pos + 3 - lo)
        at = len(data)
        while (at := data.rfind(_EOCD, 0, at)) >= 0:
            end = _zip_end_at(f, lo + at, size)
            if end is not None:
                return end
            candidates += 1
            if candidates > MAX_END_CANDIDATES:  # a hostile file full of signatures: give up
                return None
        pos = lo
    return None


def _zip_end_at(f: IO[bytes], at: int, size: int) -> int | None:
    """The end of the zip whose end-of-directory record is at ``at``, if it is complete and its
    directory lies right before it; else None."""
    f.seek(at)
    rec = f.read(22)
    if len(rec) != 22:
        return None
    _, _, _, _, count, cd_size, cd_offset, comment = struct.unpack("<4s4H2LH", rec)
    end = at + 22 + comment
    cd_end = at
    if end > size:
        return None
    if at >= 20:
        f.seek(at - 20)
        locator = f.read(20)
        if locator[:4] == b"PK\x06\x07":
            cd_end = int.from_bytes(locator[8:16], "little")
            f.seek(cd_end)
            rec64 = f.read(56)
            if len(rec64) != 56 or rec64[:4] != b"PK\x06\x06":
                return None
            count = int.from_bytes(rec64[32:40], "little")
            cd_size = int.from_bytes(rec64[40:48], "little")
            cd_offset = int.from_bytes(rec64[48:56], "little")
    if cd_offset + cd_size != cd_end or count == 0:
        return None
    f.seek(cd_offset)
    return end if f.read(4) == b"PK\x01\x02" else None


def _picture_bytes(data: Kept) -> bytes | None:
    """The bytes of a page thumbnail or image preview to write; None when the file it lies in no
    longer reads back as it did (a picture is optional: it is drawn again later). An I/O error
    (errno set) is raised: the save fails."""
    if isinstance(data, bytes):
        return data
    try:
        return data.read()
    except OSError as exc:
        if exc.errno is not None:
            raise
        return None


def _known(shelf, names) -> dict[str, Kept]:
    """The pictures of ``shelf`` known by these names (page fingerprints, image keys; none are drawn here)."""
    found: dict[str, Kept] = {}
    for name in names:
        known = shelf.known(name)
        if known is not None:
            found[name] = known
    return found


def _image_data(images, key: str) -> "bytes | Stored":
    """An image's bytes, or where they lie in a file when the store has not read them."""
    where = images.stored(key) if isinstance(images, ImageStore) else None
    return where if where is not None else images[key]


def _copy_stored(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: Stored) -> None:
    """Append a stored entry whose size and CRC are known, copying its bytes from ``where`` as they
    are: the copy keeps the original CRC, so damage in them is still found when the image is read."""
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = info.compress_size = where.size
    info.CRC = where.crc
    zip64 = where.size > zipfile.ZIP64_LIMIT
    fp = zf.fp
    info.header_offset = fp.tell()
    zf._writecheck(info)  # duplicate names, entry count limits
    zf._didModify = True
    fp.write(info.FileHeader(zip64))
    for piece in where.chunks(4 << 20, verify=False):
        fp.write(piece)
    zf.filelist.append(info)
    zf.NameToInfo[info.filename] = info
    zf.start_dir = fp.tell()


def _can_render() -> bool:
    """Prepare Qt for drawing the thumbnail off the main thread; False where that is impossible."""
    try:
        from PySide6.QtCore import QCoreApplication

        if QCoreApplication.instance() is None and threading.current_thread() is not threading.main_thread():
            return False  # a Gui application can only be created on the main thread
        from . import lettering
        from .qtgui import ensure_gui

        ensure_gui()
        lettering.bundled_families()  # register the fonts on this thread
        return True
    except Exception as exc:  # noqa: BLE001 - a thumbnail is optional
        log.warning("project thumbnail skipped: %s", exc)
        return False


def _thumbnail(project: Project) -> bytes | None:
    """A PNG of the first page about 256 px high; None when there is no page or it cannot be drawn."""
    if not project.pages:
        return None
    try:
        from . import render

        page = project.pages[0]
        dpi = THUMBNAIL_PX / (max(page.width_mm, page.height_mm) / 25.4)
        return render.qimage_to_png(render.render_page(project, page, dpi=dpi,
                                                       images=render.reduced_images(project, 2 * THUMBNAIL_PX)))
    except Exception as exc:  # a thumbnail is optional: never let it block a save
        log.warning("project thumbnail skipped: %s", exc)
        return None


STALE_TEMP_S = 3600


def _remove_stale_temps(folder: Path, name: str) -> None:
    """Remove temporary files left by saves of this file that were killed (over an hour old)."""
    cutoff = time.time() - STALE_TEMP_S
    for leftover in folder.glob(f".{glob_escape(name)}.*.tmp"):
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except OSError:
            pass


def _set_mode(tmp: Path, path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


def _make_backup(path: Path) -> None:
    """Make ``<name>.bak`` a copy of the current file, itself replaced atomically."""
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    staging = path.with_name(f".{path.name}{BACKUP_SUFFIX}.tmp")
    try:
        staging.unlink()
    except FileNotFoundError:
        pass
    try:
        os.link(path, staging)  # no copy needed: the save replaces the name, not the data
    except OSError:
        shutil.copyfile(path, staging)
        with open(staging, "rb+") as f:
            os.fsync(f.fileno())
    os.replace(staging, backup)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT if hasattr(errno, "EDQUOT") else -1):
        return "the disk is full"
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return "the file is too large for this disk (file size limit reached)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() + (f" ({exc.filename})" if exc.filename else "")
    return str(exc) or type(exc).__name__


# --- loading ---------------------------------------------------------------------------------------------

def load_project(path: str | os.PathLike) -> Project:
    """Read a ``.comic`` file. Raises :class:`ProjectFileError` (one line) for anything wrong with it."""
    path = Path(path)
    name = path.name or str(path)

    def fail(reason: str) -> ProjectFileError:
        return ProjectFileError(f"cannot open {name}: {reason}")

    try:
        mode = os.stat(path).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # opening a FIFO or device could block forever
            raise fail("not a regular file (a pipe or a device)")
        f = open(path, "rb")
    except FileNotFoundError:
        raise fail("no such file") from None
    except IsADirectoryError:
        raise fail("it is a folder, not a project file") from None
    except OSError as exc:
        raise fail(_os_reason(exc)) from None
    with f:
        try:
            head = f.read(4)
            f.seek(0)
            end = os.fstat(f.fileno()).st_size
            view: IO[bytes] = f
            if not zipfile.is_zipfile(f):
                complete = _last_complete_zip(f) if head == b"PK\x03\x04" else None
                if complete is None:
                    if head == b"PK\x03\x04":
                        raise fail("the file is truncated or damaged (its zip directory is missing)")
                    raise fail("not a Panelsmith project (not a zip file)")
                log.warning("%s: a save was cut short; opening the last complete version", name)
                view, end = _Prefix(f, complete), complete
            view.seek(0)
            zf = zipfile.ZipFile(view)
        except ProjectFileError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
            raise fail(f"the file is truncated or damaged ({exc})") from None
        except OSError as exc:
            raise fail(_os_reason(exc)) from None
        with zf:
            try:
                entries = _check_entries(zf.infolist(), path)
                _read_mimetype(zf, entries)
                manifest = _read_manifest(zf, entries)
                images = _read_images(zf, entries, path, end)
                if isinstance(images, ImageStore) and images.sources():
                    _place_pictures(images.sources()[0], zf.infolist())
            except _Refused as exc:
                raise fail(str(exc)) from None
            except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
                raise fail(f"the file is damaged ({one_line(exc)})") from None
            except OSError as exc:
                raise fail(_os_reason(exc)) from None
    try:
        return manifest_to_project(manifest, images)
    except ManifestError as exc:
        raise fail(str(exc)) from None


class _Refused(Exception):
    pass


def _check_entries(infos: list[zipfile.ZipInfo], path: Path) -> dict[str, zipfile.ZipInfo]:
    if not infos:
        raise _Refused("the zip file is empty")
    if len(infos) > MAX_ENTRIES:
        raise _Refused(f"too many entries ({len(infos)})")
    try:
        file_size = path.stat().st_size
    except OSError:
        file_size = 0
    entries: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        entry = info.filename
        if _unsafe_name(info.orig_filename) or _unsafe_name(entry):
            raise _Refused(f"unsafe entry name {entry!r}")
        if entry in entries:
            raise _Refused(f"duplicate entry {entry!r}")
        if info.flag_bits & 0x1:
            raise _Refused(f"entry {entry!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused(f"entry {entry!r} uses an unsupported compression method")
        limit = MAX_MANIFEST_BYTES if entry == MANIFEST else MAX_ENTRY_BYTES
        if info.file_size > limit:
            raise _Refused(f"entry {entry!r} is oversized ({info.file_size} bytes declared)")
        if (entry != MANIFEST and info.file_size > RATIO_MIN_BYTES
                and info.file_size > MAX_RATIO * max(1, info.compress_size)):
            raise _Refused(f"entry {entry!r} looks like a zip bomb (compression ratio "
                           f"{info.file_size // max(1, info.compress_size)}:1)")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise _Refused(f"entry {entry!r} declares inconsistent sizes")
        if file_size and info.header_offset + info.compress_size > file_size:
            raise _Refused(f"the file is truncated (entry {entry!r} runs past its end)")
        total += info.file_size
        entries[entry] = info
    if total > MAX_TOTAL_BYTES:
        raise _Refused(f"the entries add up to {total} bytes, over the {MAX_TOTAL_BYTES} byte limit")
    return entries


def _unsafe_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name:
        return True
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return True
    return any(part == ".." for part in name.split("/"))


def _read_mimetype(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> None:
    first = zf.infolist()[0]
    if first.filename != "mimetype":
        raise _Refused("not a Panelsmith project (the first entry is not 'mimetype')")
    if first.file_size > 256:
        raise _Refused("not a Panelsmith project (bad mimetype entry)")
    value = zf.read(first).decode("ascii", "replace").strip()
    if value != MIMETYPE:
        raise _Refused(f"not a Panelsmith project (mimetype {value[:60]!r})")


def _read_manifest(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> Any:
    info = entries.get(MANIFEST)
    if info is None:
        raise _Refused("the file has no manifest.json")
    with zf.open(info) as stream:
        raw = stream.read(MAX_MANIFEST_BYTES + 1)
    if len(raw) > MAX_MANIFEST_BYTES:
        raise _Refused("manifest.json is oversized")

    def no_constants(token: str) -> Any:
        raise ValueError(f"{token} is not allowed")

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=no_constants)
    except UnicodeDecodeError:
        raise _Refused("manifest.json is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _Refused(f"manifest.json is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:
        raise _Refused(f"manifest.json is not valid JSON ({one_line(exc, 80)})") from None


def _read_images(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], path: Path, end: int) -> ImageStore:
    """The image entries as a lazy store: only each PNG's header and trailer are read and checked
    here; the bytes are read (and their CRC checked) when asked for."""
    store = ImageStore()
    lazy: dict[str, zipfile.ZipInfo] = {}
    for entry, info in entries.items():
        m = _IMAGE_NAME.match(entry)
        if m is None:
            continue
        if info.compress_type != zipfile.ZIP_STORED or info.file_size < 64:
            png = zf.read(info)  # the zip layer checks the CRC
            reason = png_problem(png)
            if reason:
                raise _Refused(f"image {entry!r} is corrupt ({reason})")
            store[m.group(1)] = png
        else:
            lazy[entry] = info
    if lazy:
        source = FileSource(path)
        source.directory, source.end = list(zf.infolist()), end
        located = _locate_images(source, lazy)
        for key, where in located.items():
            head = source.read(where.offset, 33)
            tail = source.read(where.offset + where.size - len(_PNG_END), len(_PNG_END))
            reason = png_problem(head + tail)  # checks the signature, IHDR and trailer only
            if reason:
                raise _Refused(f"image 'images/{key}.png' is corrupt ({reason})")
        store.place(located)
    return store


def _place_pictures(source: FileSource, infos: list[zipfile.ZipInfo]) -> None:
    """Note the page thumbnails (``thumbnails/<fingerprint>.png``) and image previews
    (``previews/<key>.jpg``) of a file, from its directory only (each is read when shown)."""
    thumbs, previews, images = [], [], set()
    for info in infos:
        name = info.filename
        if name.startswith("images/"):
            if m := _IMAGE_NAME.match(name):
                images.add(m.group(1))
        elif name.startswith("thumbnails/"):
            if m := _PAGE_THUMB_NAME.match(name):
                thumbs.append((m.group(1), info))
        elif name.startswith("previews/") and (m := image_previews.ENTRY.match(name)):
            previews.append((m.group(1), info))
    page_thumbnails.SHELF.place_entries(source, thumbs)
    # only previews of the file's own images (a preview is named by the content hash of its image)
    image_previews.SHELF.place_entries(source, [(key, info) for key, info in previews if key in images])


def _locate_images(source: FileSource, infos: dict[str, zipfile.ZipInfo]) -> dict[str, Stored]:
    """Where the data of each stored ``images/<key>.png`` entry starts, from its local header."""
    found: dict[str, Stored] = {}
    for entry, info in infos.items():
        m = _IMAGE_NAME.match(entry)
        if m is None or info.compress_type != zipfile.ZIP_STORED:
            continue
        where = stored_entry(source, info)
        if where is None:
            raise _Refused(f"entry {entry!r} has a bad local header")
        found[m.group(1)] = where
    return found


def png_problem(png: bytes) -> str | None:
    """Why these bytes are not a sound PNG, from the signature, IHDR chunk and trailer; None if fine.

    Pixels are not decoded, so this is cheap even for large images.
    """
    if png[:8] != _PNG_SIG:
        return "not a PNG"
    if len(png) < 8 + 25 + 12 or png[8:16] != b"\x00\x00\x00\x0dIHDR":
        return "missing IHDR header"
    if zlib.crc32(png[12:29]) != int.from_bytes(png[29:33], "big"):
        return "bad IHDR checksum"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    if not (0 < width and 0 < height and width * height <= MAX_IMAGE_PIXELS):
        return f"absurd size {width} × {height}"
    if not png.endswith(_PNG_END):
        return "truncated (no IEND)"
    return None


def read_thumbnail(path: str | os.PathLike) -> bytes | None:
    """The thumbnail PNG of a project file (for open dialogs and recent files); None if absent."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(THUMBNAIL)
            if info.file_size > 16 * 1024 * 1024:
                return None
            data = zf.read(info)
        return data if png_problem(data) is None else None
    except (OSError, KeyError, zipfile.BadZipFile, EOFError, zlib.error):
        return None
