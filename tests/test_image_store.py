"""The lazy image store: images stay in the project file until read, saves copy them from the old file."""

from __future__ import annotations

import copy
import pickle
import random

import pytest

from app import edits
from app.document import Document
from app.image_store import CACHE_BYTES, DamagedImageError, ImageStore, _Cache
from app.layout import PAGE_SIZES
from app.project_io import load_project, save_project
from tests.helpers_project import solid_png, tiny_png


def _doc(n_images: int = 4) -> tuple[Document, dict[str, bytes]]:
    doc = Document()
    page = edits.add_page(doc, PAGE_SIZES["A4"], "grid-2x2")
    rng = random.Random(3)
    for n, panel in enumerate(doc.project.page(page).panels[:n_images]):
        edits.add_variant(doc, panel.id, tiny_png(rng, (40 + n, 30)))
    return doc, dict(doc.project.images)


def test_loaded_images_stay_in_the_file_until_read(tmp_path):
    doc, images = _doc()
    path = save_project(doc.project, tmp_path / "a.comic", thumbnail=False)
    project = load_project(path)
    assert isinstance(project.images, ImageStore)
    assert project.images.in_memory() == {}
    assert set(project.images) == set(images) and len(project.images) == len(images)
    assert all(project.images[k] == v for k, v in images.items())
    assert project == load_project(path)


def test_a_damaged_image_is_refused_when_read(tmp_path):
    doc, images = _doc(1)
    path = save_project(doc.project, tmp_path / "a.comic", thumbnail=False)
    project = load_project(path)
    [(key, png)] = images.items()
    data = path.read_bytes()
    at = data.index(png) + len(png) // 2
    with open(path, "r+b") as f:  # the same file the store reads (not a replaced one)
        f.seek(at)
        f.write(bytes([data[at] ^ 0xFF]))
    with pytest.raises(DamagedImageError, match="damaged"):
        project.images[key]


def test_save_copies_unchanged_images_without_reading_them_whole(tmp_path, monkeypatch):
    doc, images = _doc()
    path = save_project(doc.project, tmp_path / "a.comic", thumbnail=False)
    project = load_project(path)

    def whole_read(self, key):
        raise AssertionError("the save read a whole image into memory")
    monkeypatch.setattr(ImageStore, "__getitem__", whole_read)
    save_project(project, tmp_path / "b.comic", thumbnail=False)
    monkeypatch.undo()
    again = load_project(tmp_path / "b.comic")
    assert {k: again.images[k] for k in again.images} == images


def test_after_a_save_new_images_are_read_from_the_new_file(tmp_path):
    doc, _ = _doc(1)
    path = save_project(doc.project, tmp_path / "a.comic", thumbnail=False)
    doc2 = Document(load_project(path))
    panel = doc2.project.pages[0].panels[1].id
    edits.add_variant(doc2, panel, solid_png((1, 2, 3)))
    store = doc2.project.images
    [new_key] = store.in_memory()
    new_bytes = store[new_key]
    save_project(doc2.project, path, thumbnail=False)  # replaces the file the store was reading
    assert store.in_memory() == {}
    assert store[new_key] == new_bytes
    assert load_project(path) == doc2.project
    doc2.undo_stack.undo()  # undoing the edit removes the image again
    assert new_key not in store


def test_autosave_does_not_repoint_the_store(tmp_path):
    doc, _ = _doc(1)
    panel = doc.project.pages[0].panels[1].id
    edits.add_variant(doc, panel, solid_png((9, 9, 9)))
    doc.project.images = ImageStore(doc.project.images)
    save_project(doc.project, tmp_path / "r.comic", thumbnail=False, attach=False)
    assert len(doc.project.images.in_memory()) == 2


def test_copies_share_files_and_pickles_carry_the_bytes(tmp_path):
    doc, images = _doc(2)
    project = load_project(save_project(doc.project, tmp_path / "a.comic", thumbnail=False))
    clone = copy.deepcopy(project)
    assert clone.images is not project.images and clone.images == images
    del clone.images[next(iter(images))]
    assert set(project.images) == set(images)
    assert pickle.loads(pickle.dumps(project.images)) == images


def test_read_cache_is_bounded():
    cache = _Cache(limit=1000)
    for n in range(50):
        cache.put((1, n), bytes(200))
    assert cache.size <= 1000 and len(cache.items) == 5
    assert cache.get((1, 49)) is not None and cache.get((1, 0)) is None
    assert CACHE_BYTES <= 128 * 1024 * 1024


def test_damage_copied_by_a_save_is_still_found_when_read(tmp_path):
    doc, images = _doc(1)
    path = save_project(doc.project, tmp_path / "a.comic", thumbnail=False)
    project = load_project(path)
    [(key, png)] = images.items()
    data = path.read_bytes()
    at = data.index(png) + len(png) // 2
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(bytes([data[at] ^ 0xFF]))
    copy_path = save_project(project, tmp_path / "b.comic", thumbnail=False)
    with pytest.raises(DamagedImageError):
        load_project(copy_path).images[key]
