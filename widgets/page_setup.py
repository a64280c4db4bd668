"""File ▸ New… and Page ▸ Page Setup…: a page's size, bleed, safe area, gutter, print dpi, reading
direction and the project's lettering size, with a small live preview of the page.

Both dialogs open window-modal without blocking (:meth:`QDialog.open`); OK applies the choice: a new
comic made as the command line's ``new`` makes it (:func:`app.page_presets.new_project`), or one
undo step on the document (:func:`app.edits.page_setup`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget)

from app import edits, layout, page_presets
from app.lettering import DEFAULT_LETTERING_PT, MAX_FONT_PT, MIN_FONT_PT, fitted_rect, project_lettering_pt
from app.project import Page, Project, ReadingOrder

from .canvas import style

if TYPE_CHECKING:
    from .main_window import MainWindow

NO_TEMPLATE = "(no panels)"


class PagePreview(QWidget):
    """A small drawing of a page: bleed (red), trim (black), safe area (blue, dashed), panels, balloons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page: Page | None = None
        self.setMinimumSize(170, 230)
        self.setToolTip("Preview: bleed (red), trim (black), safe area (blue), panels (grey)")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(190, 260)

    def set_page(self, page: Page) -> None:
        self.page = page
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), style.DESK)
        page = self.page
        if page is None:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        bleed = page.bleed_rect
        k = min((self.width() - 16) / bleed.w, (self.height() - 16) / bleed.h)
        painter.translate((self.width() - bleed.w * k) / 2 - bleed.x * k,
                          (self.height() - bleed.h * k) / 2 - bleed.y * k)
        painter.scale(k, k)
        px = 1.0 / k  # one screen pixel in mm

        def rect(r) -> QRectF:
            return QRectF(r.x, r.y, r.w, r.h)

        painter.fillRect(rect(bleed), style.BLEED_FILL)
        painter.fillRect(rect(page.trim), style.PAGE_FILL)
        for panel in page.panels:
            painter.setPen(QPen(style.TRIM_LINE, max(px, page.stroke_mm)))
            painter.setBrush(QBrush(QColor("#c9ced6")))
            painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in panel.points]))
        painter.setBrush(QBrush(style.PAGE_FILL))
        painter.setPen(QPen(style.TRIM_LINE, px))
        for balloon in page.balloons:
            painter.drawEllipse(rect(fitted_rect(balloon)))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if page.bleed_mm > 0:
            painter.setPen(QPen(style.BLEED_LINE, px))
            painter.drawRect(rect(bleed))
        painter.setPen(QPen(style.TRIM_LINE, px))
        painter.drawRect(rect(page.trim))
        safe = QPen(style.SAFE_LINE, px)
        safe.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(safe)
        painter.drawRect(rect(page.safe_rect))


def _mm_spin(low: float, high: float, tip: str, decimals: int = 1) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(suffix=" mm", decimals=decimals, toolTip=tip)
    spin.setRange(low, high)
    spin.setSingleStep(0.5 if high <= 100 else 1.0)
    return spin


class PageSetupForm(QWidget):
    """The set-up fields: size preset, width and height (mm), bleed, safe area, gutter, print dpi,
    reading direction, lettering size. Editing the width or height picks "Custom"."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.preset = QComboBox(toolTip="Page size preset")
        for name, label in page_presets.PRESET_LABELS.items():
            self.preset.addItem(label, name)
        form.addRow("&Size", self.preset)
        self.width = _mm_spin(10, 2000, "Trim width", 2)
        self.height = _mm_spin(10, 5000, "Trim height", 2)
        row = QHBoxLayout()
        row.addWidget(self.width, 1)
        row.addWidget(QLabel("×"))
        row.addWidget(self.height, 1)
        label = QLabel("&Width × height")
        label.setBuddy(self.width)
        form.addRow(label, row)
        self.bleed = _mm_spin(0, 100, "Art past the trim, cut off when printed", 2)
        form.addRow("&Bleed", self.bleed)
        self.safe = _mm_spin(0, 100, "Margin inside the trim that text and faces stay within", 2)
        form.addRow("S&afe area", self.safe)
        self.gutter = _mm_spin(0, 30, "Space between panels", 2)
        form.addRow("&Gutter", self.gutter)
        self.dpi = QSpinBox(suffix=" dpi", toolTip="Print resolution of exports")
        self.dpi.setRange(36, 2400)
        form.addRow("Print &dpi", self.dpi)
        self.direction = QComboBox(toolTip="Reading order of the panels")
        self.direction.addItem("Left → right", ReadingOrder.LTR.value)
        self.direction.addItem("Right → left (manga)", ReadingOrder.RTL.value)
        form.addRow("&Reading", self.direction)
        self.lettering = QDoubleSpinBox(suffix=" pt", decimals=1, singleStep=0.5,
                                        toolTip="The project's lettering size at print; balloons grow to fit it")
        self.lettering.setRange(MIN_FONT_PT, MAX_FONT_PT)
        self.lettering.setValue(DEFAULT_LETTERING_PT)
        form.addRow("&Lettering", self.lettering)
        self.form = form
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        for spin in (self.width, self.height):
            spin.valueChanged.connect(self._size_edited)
        for spin in (self.bleed, self.safe, self.gutter, self.dpi, self.lettering):
            spin.valueChanged.connect(self.changed)
        self.direction.currentIndexChanged.connect(self.changed)

    def set_size(self, size: layout.PageSize) -> None:
        """Show ``size`` (its name picks the preset when it is one)."""
        widgets = (self.preset, self.width, self.height, self.bleed, self.safe, self.gutter, self.dpi, self.direction)
        for w in widgets:
            w.blockSignals(True)
        index = self.preset.findData(size.name)
        self.preset.setCurrentIndex(index if index >= 0 else self.preset.findData(page_presets.CUSTOM))
        self.width.setValue(size.width_mm)
        self.height.setValue(size.height_mm)
        self.bleed.setValue(size.bleed_mm)
        self.safe.setValue(size.safe_mm)
        self.gutter.setValue(size.gutter_mm)
        self.dpi.setValue(int(size.dpi))
        self.direction.setCurrentIndex(self.direction.findData(ReadingOrder(size.reading_order).value))
        for w in widgets:
            w.blockSignals(False)
        self.changed.emit()

    def _preset_chosen(self, index: int) -> None:
        name = self.preset.itemData(index)
        if name in layout.PAGE_SIZES:
            self.set_size(layout.PAGE_SIZES[name])
        else:
            self.changed.emit()

    def _size_edited(self) -> None:
        preset = layout.PAGE_SIZES.get(self.preset.currentData())
        if preset is not None and (abs(preset.width_mm - self.width.value()) > 0.005
                                   or abs(preset.height_mm - self.height.value()) > 0.005):
            self.preset.blockSignals(True)
            self.preset.setCurrentIndex(self.preset.findData(page_presets.CUSTOM))
            self.preset.blockSignals(False)
        self.changed.emit()

    def size(self) -> layout.PageSize:  # noqa: A003 - reads as "the page size"
        """The set-up shown (a preset's exact size while the preset is chosen)."""
        name = self.preset.currentData()
        preset = layout.PAGE_SIZES.get(name)
        width, height = (preset.width_mm, preset.height_mm) if preset else (self.width.value(), self.height.value())
        return layout.PageSize(name, width, height, bleed_mm=self.bleed.value(), safe_mm=self.safe.value(),
                               gutter_mm=self.gutter.value(), dpi=self.dpi.value(),
                               reading_order=ReadingOrder(self.direction.currentData()))


class _SetupDialog(QDialog):
    """Form on the left (subclasses add rows to ``form.form``), preview on the right, a line for
    refusals, OK and Cancel."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.form = PageSetupForm()
        self.preview = PagePreview()
        self.error = QLabel(styleSheet="color: #c0392b")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        left = QVBoxLayout()
        left.addWidget(self.form)
        left.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addWidget(self.preview)
        outer = QVBoxLayout(self)
        outer.addLayout(body)
        outer.addWidget(self.error)
        outer.addWidget(self.buttons)
        self.form.changed.connect(self._update)

    def preview_page(self) -> Page:
        raise NotImplementedError

    def _update(self) -> None:
        self.error.clear()
        try:
            page_presets.validate(self.form.size())
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.preview.set_page(self.preview_page())

    def accept(self) -> None:
        try:
            page_presets.validate(self.form.size())
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()


class NewComicDialog(_SetupDialog):
    """File ▸ New…: page set-up, number of pages and a panel template."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("New Comic", parent)
        row = self.form.form
        self.pages = QSpinBox(toolTip="Number of pages")
        self.pages.setRange(1, 1000)
        row.addRow("&Pages", self.pages)
        self.template = QComboBox(toolTip="Panel layout of each page")
        self.template.addItem(NO_TEMPLATE, "")
        for name in layout.TEMPLATES:
            self.template.addItem(name, name)
        self.template.setCurrentIndex(self.template.findData("manga-5"))
        row.addRow("&Template", self.template)
        self.template.currentIndexChanged.connect(self._update)
        self.form.set_size(layout.PAGE_SIZES["A4"])

    def preview_page(self) -> Page:
        return layout.new_page(self.form.size(), self.template.currentData() or None)

    def project(self) -> Project:
        """The new comic as chosen."""
        return page_presets.new_project(self.form.size(), self.pages.value(), self.template.currentData() or None,
                                        self.form.dpi.value(), title="Untitled",
                                        lettering_pt=self.form.lettering.value())


class PageSetupDialog(_SetupDialog):
    """Page ▸ Page Setup…: the current page's set-up (or every page's), shown with its panels carried along."""

    def __init__(self, project: Project, page: Page, parent: QWidget | None = None) -> None:
        super().__init__("Page Setup", parent)
        self.page = page
        self.all_pages = QCheckBox(f"Apply to &all {len(project.pages)} pages")
        self.all_pages.setEnabled(len(project.pages) > 1)
        self.form.form.addRow("", self.all_pages)
        self.lettering_pt = project_lettering_pt(project.settings)
        self.form.lettering.setValue(self.lettering_pt)
        self.form.set_size(page_presets.size_of(page, project.dpi))

    def preview_page(self) -> Page:
        page = page_presets.scale_page(self.page, self.form.size())
        return page_presets.lettered_at(page, self.lettering_pt, self.form.lettering.value())


def open_new_comic(w: "MainWindow") -> NewComicDialog:
    """File ▸ New…: the dialog; OK replaces the window's comic by the new one (after the unsaved-changes
    question)."""
    dialog = NewComicDialog(w)
    dialog.accepted.connect(lambda: w.new_file(dialog.project()))
    w.page_setup_dialog = dialog
    dialog.open()
    return dialog


def open_page_setup(w: "MainWindow") -> PageSetupDialog | None:
    """Page ▸ Page Setup…: the dialog for the current page; OK applies it as one undo step."""
    page = w.view.page_scene.page
    if page is None:
        return None
    dialog = PageSetupDialog(w.doc.project, page, w)

    def apply() -> None:
        ids = [p.id for p in w.doc.project.pages] if dialog.all_pages.isChecked() else [page.id]
        w.view.run_edit(edits.page_setup, w.doc, ids, dialog.form.size(), dialog.form.lettering.value())
        w.view.fit_page()

    dialog.accepted.connect(apply)
    w.page_setup_dialog = dialog
    dialog.open()
    return dialog
