"""File ▸ Export…: format, resolution, bleed and page range in one dialog; the file name follows the format."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressDialog, QPushButton, QSpinBox,
                               QWidget)

from app.project import Project

# format -> (label, suffix of the output; "" for a folder)
FORMATS: dict[str, tuple[str, str]] = {
    "pdf": ("PDF (one file)", ".pdf"),
    "cbz": ("Comic book archive (.cbz)", ".cbz"),
    "png": ("PNG pages (folder)", ""),
}


def output_for(path: str, fmt: str) -> str:
    """``path`` with the suffix of ``fmt``: ``book.pdf`` → ``book.cbz`` → ``book`` (a folder for PNG pages)."""
    if not path.strip():
        return path
    p = Path(path)
    stem = p.with_suffix("") if p.suffix.lower() in {s for _, s in FORMATS.values() if s} else p
    return str(stem) + FORMATS[fmt][1]


@dataclass
class ExportChoice:
    fmt: str
    out: Path
    dpi: int
    bleed: bool
    first: int  # page numbers, 1-based, inclusive
    last: int

    def project(self, project: Project, name: str) -> Project:
        """The pages to write, titled with the project's name (the PDF's and the archive's title)."""
        return replace(project, pages=project.pages[self.first - 1:self.last], title=project.title or name)


class ExportDialog(QDialog):
    """Choose what to export; :meth:`choice` reads it back."""

    def __init__(self, project: Project, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        form = QFormLayout(self)
        self.format = QComboBox()
        for fmt, (label, _) in FORMATS.items():
            self.format.addItem(label, fmt)
        form.addRow("Format", self.format)
        row = QHBoxLayout()
        self.path = QLineEdit(output_for(path, "pdf"))
        self.path.setMinimumWidth(360)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path)
        row.addWidget(browse)
        form.addRow("Save as", row)
        self.dpi = QSpinBox(suffix=" dpi", minimum=72, maximum=1200, singleStep=50, value=int(project.dpi))
        self.dpi.setToolTip("Print resolution of the pages (PDF: of the images embedded)")
        form.addRow("Resolution", self.dpi)
        self.bleed = QCheckBox("Include bleed (for the printer)")
        form.addRow("", self.bleed)
        count = max(1, len(project.pages))
        row = QHBoxLayout()
        self.first = QSpinBox(minimum=1, maximum=count, value=1)
        self.last = QSpinBox(minimum=1, maximum=count, value=count)
        self.first.valueChanged.connect(lambda v: self.last.setValue(max(v, self.last.value())))
        self.last.valueChanged.connect(lambda v: self.first.setValue(min(v, self.first.value())))
        row.addWidget(self.first)
        row.addWidget(QLabel("to"))
        row.addWidget(self.last)
        row.addWidget(QLabel(f"of {count}"))
        row.addStretch(1)
        form.addRow("Pages", row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.path.editingFinished.connect(self._format_changed)

    @property
    def fmt(self) -> str:
        return str(self.format.currentData())

    def _format_changed(self) -> None:
        self.path.setText(output_for(self.path.text(), self.fmt))

    def _browse(self) -> None:
        if self.fmt == "png":
            chosen = QFileDialog.getExistingDirectory(self, "Export PNG pages into", str(Path(self.path.text()).parent))
            if chosen:
                self.path.setText(str(Path(chosen) / Path(self.path.text()).name))
            return
        label, suffix = FORMATS[self.fmt]
        chosen, _ = QFileDialog.getSaveFileName(self, "Export", self.path.text(), f"{label} (*{suffix})")
        if chosen:
            self.path.setText(output_for(chosen, self.fmt))

    def choice(self) -> ExportChoice:
        return ExportChoice(self.fmt, Path(output_for(self.path.text(), self.fmt)).expanduser(), self.dpi.value(), self.bleed.isChecked(),
                            self.first.value(), self.last.value())


class ExportProgress(QProgressDialog):
    """Pages written so far, with a Cancel button; :meth:`step` is the export's progress callback
    (app.export.Progress): it shows the count, lets the window paint and returns False once Cancel
    was pressed."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(f"Exporting {what}…", "Cancel", 0, 1, parent)
        self.setWindowTitle("Export")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)

    def step(self, done: int, total: int) -> bool:
        self.setMaximum(max(1, total))
        self.setValue(done)
        self.setLabelText(f"Page {min(done + 1, total)} of {total}" if done < total else "Finishing…")
        QApplication.processEvents()
        return not self.wasCanceled()
