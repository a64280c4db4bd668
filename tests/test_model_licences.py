"""The weight licence of a model is named wherever a model is chosen or listed: `models list` (text and
JSON), `doctor`, and the card editor (the model the card's panels use); a non-commercial licence is
never hidden. The folders hold only ``model_index.json``: the registry needs nothing more to know them."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app import edits, layout
from app.cli import main as cli
from app.document import Document
from app.project import Project
from tests.helpers_window import isolate_engine_settings, open_window

KONTEXT_LICENCE = "FLUX.1 [dev] Non-Commercial License (non-commercial use only)"


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("licence_models")
    for name, cls in (("kontext-dev", "FluxKontextPipeline"), ("klein-4b", "Flux2KleinPipeline")):
        folder = root / "checkpoints" / name
        folder.mkdir(parents=True)
        (folder / "model_index.json").write_text(json.dumps({"_class_name": cls}))
    return root


def run(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _line_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if name in line)


def test_models_list_names_the_licence_in_text_and_json(models_dir, capsys):
    code, out, err = run(["models", "list", "--models", models_dir], capsys)
    assert code == 0, err
    assert f"licence: {KONTEXT_LICENCE}" in _line_of(out, "kontext-dev")
    assert "licence: Apache-2.0" in _line_of(out, "klein-4b")
    code, out, err = run(["models", "list", "--models", models_dir, "--json"], capsys)
    assert code == 0, err
    rows = json.loads(out)
    rows = rows["models"] if isinstance(rows, dict) else rows
    licences = {r["name"]: r["licence"] for r in rows}
    assert licences["kontext-dev"] == KONTEXT_LICENCE and licences["klein-4b"] == "Apache-2.0"


def test_doctor_names_the_licence(models_dir, capsys):
    code, out, err = run(["doctor", "--models", models_dir], capsys)
    assert code == 0, err
    assert f"licence: {KONTEXT_LICENCE}" in _line_of(out, "kontext-dev")


def test_card_editor_shows_the_model_and_its_licence(qtbot, tmp_path_factory, monkeypatch, models_dir):
    isolate_engine_settings(tmp_path_factory, monkeypatch, models_dir)
    project = Project(title="Licences")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "2-tier"))
    project.settings["model"] = "kontext-dev"
    doc = Document(project)
    character = edits.add_card(doc, "character", "Mira", [Image.new("RGB", (48, 48), "gray")])
    style = edits.add_card(doc, "style", "Ink", [Image.new("RGB", (48, 48), "white")])
    doc.undo_stack.clear()
    win = open_window(qtbot, doc)
    editor = win.identity.edit_card(character)
    label = editor.model_licence
    assert label.isVisible()
    assert "kontext-dev" in label.text() and "FLUX.1 Kontext" in label.text()
    assert KONTEXT_LICENCE in label.text() and "bold" in label.styleSheet()  # non-commercial stands out
    editor.close()
    style_editor = win.identity.edit_card(style)
    assert KONTEXT_LICENCE in style_editor.model_licence.text()  # no preferred model: the project's
    style_editor.model.setFocus()
    QTest.keyClicks(style_editor.model, "klein-4b")
    QTest.keyClick(style_editor.model, Qt.Key.Key_Return)
    assert doc.project.card(style).model == "klein-4b"
    text = style_editor.model_licence.text()
    assert "klein-4b" in text and "Apache-2.0" in text and "non-commercial" not in text
    assert "bold" not in style_editor.model_licence.styleSheet()
    style_editor.close()
    win.identity.wait()
