"""File ▸ Export… as a person uses it: format, dpi, bleed, page range; the name follows the format."""

from __future__ import annotations

import os

import pytest
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app import edits, layout
from app.document import Document
from app.project import Project
from tests.helpers_window import open_window
from widgets.export_dialog import ExportDialog, output_for

SHOTS = os.environ.get("PANELSMITH_SHOTS")


@pytest.fixture
def win(qtbot, tmp_path):
    project = Project(title="")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "grid-2x2"))
    doc = Document(project)
    for _ in range(2):
        edits.add_page(doc)
    doc.mark_saved(tmp_path / "Night Market.comic")
    window = open_window(qtbot, doc)
    yield window
    window.doc.undo_stack.setClean()
    window.close()


def test_file_name_follows_the_format():
    assert output_for("/x/book.pdf", "png") == "/x/book"
    assert output_for("/x/book", "cbz") == "/x/book.cbz"
    assert output_for("/x/book.cbz", "pdf") == "/x/book.pdf"
    assert output_for("/x/my.comic.v2.pdf", "png") == "/x/my.comic.v2"


def _run_dialog(win, qtbot, fill) -> None:
    seen = []

    def act() -> None:
        dialog = win.export_dialog
        if dialog is None or not dialog.isVisible():
            QTimer.singleShot(20, act)
            return
        seen.append(dialog)
        try:
            fill(dialog)
        finally:
            if dialog.isVisible():  # a failed check: never leave a modal dialog open
                dialog.reject()

    QTimer.singleShot(0, act)
    win.act_export.trigger()
    assert seen


def test_export_png_pages_range_and_dpi(win, qtbot, tmp_path):
    out = tmp_path / "out"

    def fill(dialog: ExportDialog) -> None:
        assert dialog.path.text().endswith("Night Market.pdf")
        dialog.format.setCurrentIndex(dialog.format.findData("png"))
        assert dialog.path.text().endswith("Night Market")  # a folder, not Night Market.pdf
        dialog.format.setCurrentIndex(dialog.format.findData("cbz"))
        assert dialog.path.text().endswith("Night Market.cbz")
        dialog.format.setCurrentIndex(dialog.format.findData("png"))
        dialog.path.setText(str(out / "Night Market.pdf"))  # typed by hand with PNG pages chosen
        assert dialog.choice().out == out / "Night Market"
        dialog.dpi.setValue(72)
        dialog.bleed.setChecked(True)
        dialog.first.setValue(2)
        dialog.last.setValue(3)
        if SHOTS:
            dialog.grab().save(os.path.join(SHOTS, "export-dialog.png"))
        dialog.accept()

    out.mkdir()
    _run_dialog(win, qtbot, fill)
    files = sorted((out / "Night Market").iterdir())
    assert [f.name for f in files] == ["page-001.png", "page-002.png"]  # pages 2 and 3
    with Image.open(files[0]) as im:
        b = round(3 / 25.4 * 72)
        assert im.size == (round(210 / 25.4 * 72) + 2 * b, round(297 / 25.4 * 72) + 2 * b)
    assert "Exported 2 pages in Night Market" in win.statusBar().currentMessage()
    assert "PosixPath" not in win.statusBar().currentMessage()


def test_pdf_title_is_the_projects_name(win, qtbot, tmp_path):
    target = tmp_path / "book.pdf"

    def fill(dialog: ExportDialog) -> None:
        dialog.path.setText(str(target))
        dialog.dpi.setValue(72)
        dialog.accept()

    _run_dialog(win, qtbot, fill)
    data = target.read_bytes()
    title = "Night Market"
    assert title.encode("utf-16-be") in data or title.encode() in data
    assert win.statusBar().currentMessage() == "Exported book.pdf"
    assert QApplication.activeModalWidget() is None


def test_export_shows_its_pages_and_cancel_writes_nothing(win, qtbot, tmp_path):
    """While the pages are written a progress dialog counts them; its Cancel button stops the
    export: no archive, no temporary file, a status line and no error box."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    target = tmp_path / "book.cbz"
    seen = []

    def cancel() -> None:
        progress = getattr(win, "export_progress", None)
        if progress is None or not progress.isVisible():
            QTimer.singleShot(5, cancel)
            return
        seen.append((progress.labelText(), progress.maximum()))
        qtbot.mouseClick(progress.findChild(QPushButton), Qt.MouseButton.LeftButton)

    def fill(dialog: ExportDialog) -> None:
        dialog.format.setCurrentIndex(dialog.format.findData("cbz"))
        dialog.path.setText(str(target))
        dialog.dpi.setValue(40)
        QTimer.singleShot(0, cancel)
        dialog.accept()

    _run_dialog(win, qtbot, fill)
    assert seen == [("Page 1 of 3", 3)]
    assert list(tmp_path.glob("*.cbz*")) == [] and list(tmp_path.glob(".book.cbz*")) == []
    assert win.statusBar().currentMessage() == "Export cancelled: nothing was written"
    assert win.export_progress is None and QApplication.activeModalWidget() is None
