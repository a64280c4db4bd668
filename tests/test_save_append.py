"""Saves that append what changed to the file they replace: crash safety at every byte, compaction."""

from __future__ import annotations

import errno
import os
import random
import signal
import textwrap
from pathlib import Path

import pytest

from app import edits, project_io
from app.document import Document
from app.project_io import ProjectSaveError, load_project, save_project
from tests.helpers_project import FullDisk, kill_while_saving, paused_writer, pruned, saved_book, tiny_png

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def append_small_files(monkeypatch):
    """The test files are small: let them be appended to as a real book would be."""
    monkeypatch.setattr(project_io, "APPEND_MIN_BYTES", 0)


def _book(path: Path) -> Document:
    """A saved two-page document with a balloon, reopened from its file (images read from it)."""
    return saved_book(path)


def _change(doc: Document, big_image: bool = True) -> None:
    """Move page 2's balloon and (so that the appended tail is well over 64 KiB) add a large image."""
    page = doc.project.pages[1]
    edits.move_items(doc, page.id, [page.balloons[0].id], 3.0, 2.0)
    if big_image:
        edits.add_variant(doc, page.panels[0].id, tiny_png(random.Random(99), (400, 400)), seed=5)


def test_a_save_after_a_small_change_appends_it(tmp_path):
    path = tmp_path / "book.comic"
    doc = _book(path)
    old_bytes, inode = path.read_bytes(), path.stat().st_ino
    _change(doc, big_image=False)
    save_project(doc.project, path)
    new_bytes = path.read_bytes()
    assert path.stat().st_ino == inode  # written in place, not replaced
    assert new_bytes[:len(old_bytes)] == old_bytes  # nothing before the old end was touched
    assert len(new_bytes) - len(old_bytes) < 8000  # the manifest and a directory, not the images
    assert load_project(path) == pruned(doc.project)
    # and again, on the file as the last append left it
    _change(doc)
    save_project(doc.project, path)
    assert path.stat().st_ino == inode
    assert load_project(path) == pruned(doc.project)


def test_a_save_cut_short_at_any_byte_leaves_the_previous_version(tmp_path):
    """A kill leaves a prefix of what the append writes: every prefix opens as the old version."""
    path = tmp_path / "book.comic"
    doc = _book(path)
    old = load_project(path)
    old_len = path.stat().st_size
    _change(doc)
    save_project(doc.project, path)
    full = path.read_bytes()
    assert len(full) - old_len > 100_000  # past the 64 KiB the zip module searches for a directory
    cuts = set(range(old_len, len(full), max(1, (len(full) - old_len) // 60)))
    cuts |= set(range(old_len, old_len + 31, 3)) | set(range(len(full) - 100, len(full), 4))
    torn = tmp_path / "torn.comic"
    for cut in sorted(cuts):
        torn.write_bytes(full[:cut])
        assert load_project(torn) == old, cut
    torn.write_bytes(full)
    assert load_project(torn) == pruned(doc.project)
    # garbage (not zeros) after the old end, as a power cut may leave: still the old version
    torn.write_bytes(full[:old_len] + os.urandom(200_000))
    assert load_project(torn) == old


def test_a_torn_file_is_compacted_by_the_next_save(tmp_path):
    path = tmp_path / "book.comic"
    doc = _book(path)
    old_bytes = path.read_bytes()
    _change(doc)
    save_project(doc.project, path)
    full = path.read_bytes()
    path.write_bytes(full[:len(old_bytes) + 70_000])  # a save cut short
    reopened = Document(load_project(path), path)
    _change(reopened, big_image=False)
    inode = path.stat().st_ino
    save_project(reopened.project, path)
    assert path.stat().st_ino != inode  # not appended after the torn tail: rewritten whole
    assert load_project(path) == pruned(reopened.project)


@pytest.mark.parametrize("failure", ["disk full", "fsync"])
def test_a_failed_append_leaves_the_old_file(tmp_path, monkeypatch, failure):
    path = tmp_path / "book.comic"
    doc = _book(path)
    old, old_bytes = load_project(path), path.read_bytes()
    _change(doc)
    if failure == "disk full":
        monkeypatch.setattr(project_io, "_open_for_write", lambda fd: FullDisk(fd, 50_000))
    else:
        def bad_fsync(fd):
            raise OSError(errno.EIO, "Input/output error")
        monkeypatch.setattr(project_io.os, "fsync", bad_fsync)
    with pytest.raises(ProjectSaveError) as info:
        save_project(doc.project, path)
    assert "could not save book.comic" in str(info.value) and "unchanged" in str(info.value)
    assert path.read_bytes() == old_bytes and load_project(path) == old
    monkeypatch.undo()
    monkeypatch.setattr(project_io, "APPEND_MIN_BYTES", 0)
    save_project(doc.project, path)  # the store was not pointed at bytes that were cut off
    assert load_project(path) == pruned(doc.project)


def test_sigkill_during_an_append(tmp_path):
    """Kill the saving process while it appends: the file still opens as the previous version."""
    path = tmp_path / "book.comic"
    _book(path)
    old, old_len = load_project(path), path.stat().st_size
    script = textwrap.dedent(f"""
        import os, random, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from app import edits, project_io
        from app.document import Document
        from tests.helpers_project import tiny_png
        project_io.APPEND_MIN_BYTES = 0
        doc = Document(project_io.load_project({str(path)!r}), {str(path)!r})
        edits.add_variant(doc, doc.project.pages[1].panels[0].id, tiny_png(random.Random(99), (400, 400)), seed=5)

    """) + paused_writer("self.total > 100_000") + textwrap.dedent(f"""
        project_io._open_for_write = Slow
        project_io.save_project(doc.project, {str(path)!r}, thumbnail=False)
    """)

    def appending_in_place() -> None:
        assert path.stat().st_size > old_len + 100_000  # past the old end, beyond the 64 KiB a zip reader searches
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert kill_while_saving(script, appending_in_place) == -signal.SIGKILL
    assert load_project(path) == old


def test_compaction_rewrites_the_file(tmp_path):
    path = tmp_path / "book.comic"
    doc = _book(path)
    first = load_project(path)
    inode = path.stat().st_ino
    _change(doc, big_image=False)
    save_project(doc.project, path, compact=True)  # Save As compacts
    assert path.stat().st_ino != inode
    assert load_project(tmp_path / "book.comic.bak") == first  # a full rewrite keeps the previous file
    # dropping most images leaves most of the file dead: the next save compacts it
    edits.remove_page(doc, doc.project.pages[0].id)
    page = doc.project.pages[0]
    edits.delete_items(doc, page.id, [p.id for p in page.panels[1:]])
    inode = path.stat().st_ino
    save_project(doc.project, path)
    assert path.stat().st_ino != inode
    assert load_project(path) == pruned(doc.project)


def test_a_file_changed_by_another_program_is_rewritten(tmp_path):
    path = tmp_path / "book.comic"
    doc = _book(path)
    with open(path, "ab") as f:
        f.write(b"\0" * 10)  # someone else wrote to it since
    inode = path.stat().st_ino
    _change(doc, big_image=False)
    save_project(doc.project, path)
    assert path.stat().st_ino != inode
    assert load_project(path) == pruned(doc.project)


def test_small_files_are_rewritten_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(project_io, "APPEND_MIN_BYTES", 16 * 1024 * 1024)
    path = tmp_path / "book.comic"
    doc = _book(path)
    inode = path.stat().st_ino
    _change(doc, big_image=False)
    save_project(doc.project, path)
    assert path.stat().st_ino != inode


def test_a_file_full_of_end_signatures_is_refused_quickly(tmp_path):
    """The search for an earlier complete version gives up on a hostile file instead of crawling."""
    import time

    bad = tmp_path / "bad.comic"
    bad.write_bytes(b"PK\x03\x04" + b"PK\x05\x06" * 200_000)
    t = time.perf_counter()
    with pytest.raises(project_io.ProjectFileError, match="truncated or damaged"):
        load_project(bad)
    assert time.perf_counter() - t < 10
