"""Script dock: the imported script beside the book, the current panel's lines highlighted, problems
listed with their line numbers; clicking a line goes to its panel. Also File ▸ Import Script…."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QFontDatabase, QTextCursor, QTextFormat
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QListWidget, QListWidgetItem, QMessageBox,
                               QPlainTextEdit, QSplitter, QTextEdit, QVBoxLayout, QWidget)

from app.document import Document

if TYPE_CHECKING:
    from ..main_window import MainWindow

HIGHLIGHT = QColor(255, 236, 150)
SCRIPT_FILTER = "Comic scripts (*.txt *.md *.markdown *.fountain *.script);;All files (*)"


class ScriptText(QPlainTextEdit):
    """Read-only script text; a click reports its (1-based) line number."""

    lineClicked = Signal(int)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and not self.textCursor().hasSelection():
            self.lineClicked.emit(self.cursorForPosition(event.position().toPoint()).blockNumber() + 1)


class ScriptDock(QDockWidget):
    panelRequested = Signal(str, str)  # (page id, panel id)
    message = Signal(str)

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__("Script", parent)
        self.setObjectName("ScriptDock")
        self.doc = doc
        self.scene = None  # the canvas scene, set by install()
        self._shown_text: str | None = None
        self.highlighted: tuple[int, int] | None = None  # lines of the current panel
        self.text = ScriptText(readOnly=True, lineWrapMode=QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlaceholderText("File ▸ Import Script… lays out pages, prompts, cast and lettering "
                                     "from a comic script.")
        self.text.lineClicked.connect(self.go_to_line)
        self.summary = QLabel(wordWrap=True)
        self.problems = QListWidget()
        self.problems.itemClicked.connect(self._problem_clicked)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.text)
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.summary)
        lay.addWidget(self.problems)
        split.addWidget(box)
        split.setSizes([400, 120])
        self.setWidget(split)
        doc.projectChanged.connect(self.refresh)
        doc.pagesChanged.connect(self.refresh)
        self._stale = True  # filled when first shown (app.script is imported then, not at window start)

    # --- what is shown ------------------------------------------------------------------------

    def meta(self) -> dict:
        from app.script.builder import SETTINGS_KEY

        meta = self.doc.project.settings.get(SETTINGS_KEY)
        return meta if isinstance(meta, dict) else {}

    def showEvent(self, event) -> None:  # noqa: N802
        if self._stale:
            self.refresh()
        super().showEvent(event)

    def refresh(self) -> None:
        """Show the project's script, problems and summary (while the dock is hidden: when it shows)."""
        if self.isHidden():
            self._stale = True
            return
        self._stale = False
        meta = self.meta()
        text = meta.get("text", "")
        if text != self._shown_text:
            self.text.setPlainText(text)
            self._shown_text = text
            self.highlighted = None
        self.problems.clear()
        for problem in meta.get("problems", []):
            item = QListWidgetItem(f"line {problem.get('line')}: {problem.get('message')}")
            item.setData(Qt.ItemDataRole.UserRole, int(problem.get("line", 1)))
            self.problems.addItem(item)
        removed = [i for i in meta.get("removed", []) if self.doc.project.panel_or_none(i) is not None]
        for panel_id in removed:
            item = QListWidgetItem(f"panel no longer in the script (kept): {panel_id}")
            item.setData(Qt.ItemDataRole.UserRole, 0)
            item.setData(Qt.ItemDataRole.UserRole + 1, panel_id)
            self.problems.addItem(item)
        if meta:
            self.summary.setText(f"{meta.get('source') or 'script'}: {len(meta.get('panels', {}))} panels, "
                                 f"{len(meta.get('problems', []))} problems, {len(removed)} removed panels kept")
        else:
            self.summary.setText("No script imported.")

    def highlight_panel(self, panel_id: str | None) -> None:
        """Highlight the script lines of ``panel_id`` (none for a panel the script did not make)."""
        lines = None
        for key, info in self.meta().get("panels", {}).items():
            if info.get("id") == panel_id and not key.endswith("+"):
                lines = tuple(info.get("lines", (0, 0)))
                break
        self.highlighted = lines
        selections = []
        if lines:
            doc = self.text.document()
            start = doc.findBlockByNumber(max(0, lines[0] - 1))
            end = doc.findBlockByNumber(max(0, lines[1] - 1))
            cursor = QTextCursor(start)
            cursor.setPosition(end.position() + max(0, end.length() - 1), QTextCursor.MoveMode.KeepAnchor)
            sel = QTextEdit.ExtraSelection()
            sel.cursor = cursor
            sel.format.setBackground(HIGHLIGHT)
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            selections.append(sel)
            self.text.setExtraSelections(selections)
            visible = QTextCursor(start)
            self.text.setTextCursor(visible)
            self.text.ensureCursorVisible()
        else:
            self.text.setExtraSelections(selections)

    def show_panel(self, page_id: str, panel_id: str) -> None:
        """Show the page and select the panel on the canvas (once installed in a window)."""
        if self.scene is not None:
            self.scene.set_page(page_id)
            self.scene.select_ids([panel_id])

    def follow_selection(self) -> None:
        """Highlight the script lines of the panel selected on the canvas."""
        if self.scene is not None and self.isVisible():
            ids = self.scene.selected_panel_ids()
            self.highlight_panel(ids[0] if ids else None)

    def _problem_clicked(self, item: QListWidgetItem) -> None:
        panel_id = item.data(Qt.ItemDataRole.UserRole + 1)
        if panel_id and self.doc.project.panel_or_none(panel_id) is not None:
            self.panelRequested.emit(self.doc.project.find_panel(panel_id)[0].id, panel_id)
        else:
            self.show_line(int(item.data(Qt.ItemDataRole.UserRole) or 0))

    def show_line(self, line: int) -> None:
        if line > 0:
            block = self.text.document().findBlockByNumber(line - 1)
            self.text.setTextCursor(QTextCursor(block))
            self.text.ensureCursorVisible()
            self.go_to_line(line)

    def go_to_line(self, line: int) -> None:
        """Show the panel whose script lines hold ``line``."""
        from app.script.builder import script_panel_at_line

        panel_id = script_panel_at_line(self.doc.project.settings, line)
        if panel_id is None:
            return
        try:
            page, _ = self.doc.project.find_panel(panel_id)
        except KeyError:
            self.message.emit("That panel was deleted from the book.")
            return
        self.panelRequested.emit(page.id, panel_id)

    # --- importing ------------------------------------------------------------------------------

    def import_file(self, path: str | Path) -> dict | None:
        """Import (or, when the book came from a script, update from) ``path``; errors in a message box."""
        from app.script.importer import has_script, import_script
        from app.script.parser import read_script_file

        try:
            text = read_script_file(path)
            update = has_script(self.doc)
            summary = import_script(self.doc, text, source=Path(path).name, update=update)
        except ValueError as exc:
            QMessageBox.warning(self, "Import Script", " ".join(str(exc).split()))
            return None
        self.show()
        self.refresh()
        self.raise_()
        verb = "Updated" if summary["update"] else "Imported"
        names = f"; no card for {', '.join(summary['unknown_names'])}" if summary["unknown_names"] else ""
        self.message.emit(f"{verb} {summary['pages']} pages, {summary['panels']} panels, {summary['balloons']} "
                          f"balloons, {len(summary['problems'])} problems{names}")
        return summary


def install(window: "MainWindow") -> ScriptDock:
    """Add the Script dock and the File ▸ Import Script… action (``window.act_import_script``)."""
    dock = ScriptDock(window.doc, window)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    dock.hide()
    scene = window.view.page_scene

    dock.scene = scene
    dock.panelRequested.connect(dock.show_panel)
    dock.message.connect(window.statusBar().showMessage)
    scene.selectionChanged.connect(dock.follow_selection)  # a bound slot: disconnected with the dock

    def choose() -> None:
        folder = str(window.doc.path.parent) if window.doc.path else ""
        path, _ = QFileDialog.getOpenFileName(window, "Import Script", folder, SCRIPT_FILTER)
        if path:
            dock.import_file(path)

    window.act_import_script = QAction("Import &Script…", window, statusTip="Lay out pages, prompts, cast and "
                                       "lettering from a comic script (again: update the book from the edited script)")
    window.act_import_script.triggered.connect(choose)
    window.script_dock = dock
    return dock
