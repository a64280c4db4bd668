"""Autosaves cost what changed: the first starts from a byte copy of the saved file, later ones append."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app import edits, project_io, recovery
from app.document import Document
from app.project_io import load_project
from tests.helpers_project import pruned, saved_book, tiny_png


@pytest.fixture(autouse=True)
def recovery_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(recovery.ENV_RECOVERY_DIR, str(tmp_path / "recovery"))
    monkeypatch.setattr(project_io, "APPEND_MIN_BYTES", 0)  # small test files, treated as a real book


def _move(doc: Document) -> None:
    page = doc.project.pages[1]
    edits.move_items(doc, page.id, [page.balloons[0].id], 3.0, 2.0)


def _autosave(doc: Document) -> Path:
    snap = recovery.recovery_snapshot(doc.project, doc.path, doc.page_encodings)
    return recovery.write_recovery_snapshot(snap, doc.path, doc.project.title)


def test_the_first_autosave_copies_the_saved_file_and_appends_the_change(tmp_path):
    path = tmp_path / "book.comic"
    doc = saved_book(path)
    saved = path.read_bytes()
    _move(doc)
    out = _autosave(doc)
    written = out.read_bytes()
    assert written[:len(saved)] == saved  # the saved file's bytes as they are: no image read or re-written
    assert len(written) - len(saved) < 8000  # the manifest and a directory
    assert recovery.load_recovery(out) == pruned(doc.project)
    assert path.read_bytes() == saved  # the project file is untouched
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_later_autosaves_append_only_what_changed(tmp_path):
    path = tmp_path / "book.comic"
    doc = saved_book(path)
    _move(doc)
    out = _autosave(doc)
    first, inode = out.read_bytes(), out.stat().st_ino
    _move(doc)
    _autosave(doc)
    second = out.read_bytes()
    assert out.stat().st_ino == inode and second[:len(first)] == first
    assert len(second) - len(first) < 8000
    assert recovery.load_recovery(out) == pruned(doc.project)
    big = tiny_png(random.Random(7), (300, 300))
    edits.add_variant(doc, doc.project.pages[0].panels[0].id, big, seed=3)
    _autosave(doc)
    third = out.read_bytes()
    assert out.stat().st_ino == inode and third[:len(second)] == second
    assert len(big) < len(third) - len(second) < len(big) + 8000  # the new image, once
    assert recovery.load_recovery(out) == pruned(doc.project)


def test_an_autosave_cut_short_opens_as_the_one_before(tmp_path):
    path = tmp_path / "book.comic"
    doc = saved_book(path)
    _move(doc)
    out = _autosave(doc)
    before, size = recovery.load_recovery(out), out.stat().st_size
    edits.add_variant(doc, doc.project.pages[1].panels[1].id, tiny_png(random.Random(8), (400, 400)), seed=4)
    _autosave(doc)
    full = out.read_bytes()
    torn = tmp_path / "torn.comic"
    for cut in sorted(set(range(size, len(full), max(1, (len(full) - size) // 25))) | {len(full) - 1}):
        torn.write_bytes(full[:cut])
        assert load_project(torn) == before, cut


def test_an_autosave_after_the_recovery_file_was_discarded_starts_again(tmp_path):
    path = tmp_path / "book.comic"
    doc = saved_book(path)
    _move(doc)
    _autosave(doc)
    recovery.remove_recovery(path)
    _move(doc)
    out = _autosave(doc)
    assert recovery.load_recovery(out) == pruned(doc.project)
    out.write_bytes(b"not what the last autosave wrote")  # another program: never appended to
    _move(doc)
    assert recovery.load_recovery(_autosave(doc)) == pruned(doc.project)
