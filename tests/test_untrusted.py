"""A project file is untrusted input: its ids, names and paths never steer where the app reads or writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from app import edits, sheet
from app.document import Document
from app.layout import PAGE_SIZES
from app.project import CharacterCard, Project
from tests.helpers_project import solid_png


def _doc_with_hostile_card(folder: Path, card_id: str, name: str) -> Document:
    folder.mkdir(parents=True, exist_ok=True)
    doc = Document(Project(), folder / "book.comic")
    edits.add_page(doc, PAGE_SIZES["A4"], "grid-2x2")
    card = edits.add_card(doc, "character", name, [solid_png((10, 200, 10))])
    doc.project.characters[0] = CharacterCard(card_id, name, references=doc.project.card(card).references)
    return doc


@pytest.mark.parametrize("card_id, name", [
    ("../../../outside/evil", "Mira"),
    ("/tmp/absolute", "../../x"),
    ("a/b\\c", "名前 with / slashes .."),
])
def test_lora_path_never_contains_project_strings(tmp_path, card_id, name):
    doc = _doc_with_hostile_card(tmp_path / "project", card_id, name)
    path = sheet.default_lora_path(doc, card_id)
    loras = (tmp_path / "project" / "loras").resolve()
    assert path.resolve().parent == loras
    assert "/" not in path.name and "\\" not in path.name and ".." not in path.name
    digest = hashlib.sha256(card_id.encode()).hexdigest()[:12]
    assert path.name.endswith(f"-{digest}.safetensors")
    request = sheet.card_training_request(doc, card_id, "base-model")
    assert Path(request.output).resolve().parent == loras
    assert Path(request.resolved("sd15").checkpoint_dir).resolve().parent == loras
