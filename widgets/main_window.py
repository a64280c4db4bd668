"""The Panelsmith main window: the page canvas in the middle, docks around it, files and settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from app import edits, layout
from app.background import BackgroundTasks
from app.document import Document
from app.lettering import lettering_font
from app.project import BalloonKind, Project, ReadingOrder
from app.project_io import ProjectFileError, load_project
from engine.errors import one_line

from . import actions, autosave
from .clipboard import CanvasClipboard
from .canvas import PageView, Tool
from .canvas.balloon_item import BalloonItem
from .docks import CardsDock, PagesDock, PanelPropertiesDock, VariantsDock
from .generation.controller import GenerationController
from .generation.extend_offer import ExtendOffer
from .generation.jobs_dock import JobQueueDock
from .generation.training_dock import TrainingDock
from .help_menu import install as install_help
from .identity import install as install_identity
from .identity.characters import Characters
from .saving import BackgroundSave
from .settings import (APPLICATION, ORGANISATION, add_recent_file, app_settings, recent_files, remove_recent_file,
                       undo_limit)

FILE_FILTER = "Panelsmith comics (*.comic);;All files (*)"
#: Bumped when the toolbars or docks change, so that a layout saved for the old ones is not restored onto the new.
WINDOW_STATE_VERSION = 2
SAMPLE = Path(__file__).resolve().parent.parent / "resources" / "sample.comic"


def new_project() -> Project:
    """A fresh comic: one A4 page with a classic manga layout."""
    project = Project(title="Untitled")
    project.pages.append(layout.new_page(layout.PAGE_SIZES["A4"], "manga-5"))
    return project


WARM_UP_MS = 500  # after the first frame, the first save's imports load on a helper thread


class FirstFrame(QObject):
    """Runs callbacks once ``widget`` has painted for the first time (work the first frame does not need)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._widget: QWidget | None = widget
        self._callbacks: list[Callable[[], None]] = []
        widget.installEventFilter(self)

    @property
    def painted(self) -> bool:
        return self._widget is None

    def later(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after the first frame (at once when it was painted already)."""
        if self.painted:
            callback()
        else:
            self._callbacks.append(callback)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self._widget and event.type() == QEvent.Type.Paint:
            self._widget.removeEventFilter(self)
            self._widget = None
            QTimer.singleShot(0, self._run)
        return False

    def _run(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()


class MainWindow(QMainWindow):
    def __init__(self, doc: Document | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PanelsmithMainWindow")
        self.doc = doc or Document(new_project())
        self.settings = app_settings()
        self.doc.set_undo_limit(undo_limit(self.settings))
        self.view = PageView(self.doc, self)
        self.setCentralWidget(self._with_note_bar(self.view))
        # the window's layout deletes the view first: its scene must not report the lost selection
        # to the controllers and docks that outlive it for a moment
        scene = self.view.page_scene
        self.destroyed.connect(lambda *_: scene.blockSignals(True))
        self.clipboard = CanvasClipboard(self.view)  # Cut/Copy/Paste/Duplicate (widgets/clipboard.py)
        self.setDockNestingEnabled(True)
        self.first_frame = FirstFrame(self.view.viewport())
        self.pages_dock = PagesDock(self.doc, self)
        self.pages_dock.thumbnailer.hold()  # page thumbnails are drawn after the canvas's first frame
        self.first_frame.later(self.pages_dock.thumbnailer.release)
        self.cards_dock = CardsDock(self.doc, self, hold_icons=True)  # the cards' pictures also come after it
        self.first_frame.later(self.cards_dock.icons.release)
        self.first_frame.later(lambda: QTimer.singleShot(WARM_UP_MS, self._warm_up))
        self.props_dock = PanelPropertiesDock(self.doc, self)
        self.variants_dock = VariantsDock(self.doc, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.pages_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.cards_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.props_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.variants_dock)
        self.resizeDocks([self.pages_dock], [190], Qt.Orientation.Horizontal)
        self.resizeDocks([self.cards_dock], [360], Qt.Orientation.Horizontal)
        self.resizeDocks([self.cards_dock, self.props_dock, self.variants_dock], [260, 340, 220],
                         Qt.Orientation.Vertical)
        # one helper process for face analysis and consistency scores (job queue and identity UI)
        self.tasks = BackgroundTasks(self)
        self.generation = GenerationController(self.doc, self.view, self.settings, self.tasks, self)
        self.characters = Characters(self.doc, self.view, self.cards_dock.lists["character"],
                                     self.generation.queue.settings, self)
        self.generation.engineConfigured.connect(self.characters.configure)
        self.generation.message.connect(self._long_message)
        self.generation.modelMissing.connect(lambda text: self.note_bar.show_note(text, again=True))
        self.characters.message.connect(self._long_message)
        self.jobs_dock = JobQueueDock(self.generation.queue, self)
        self.training_dock = TrainingDock(self.characters.trainer, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.jobs_dock)
        self.tabifyDockWidget(self.jobs_dock, self.training_dock)
        self.jobs_dock.raise_()
        self.resizeDocks([self.jobs_dock], [300], Qt.Orientation.Vertical)
        self.identity = install_identity(self)
        # Consistency dock's "Regenerate with stronger identity" runs through the job queue.
        self.identity.regenerateRequested.connect(self._regenerate_panel)
        actions.build(self)
        install_help(self)
        self._build_status_bar()
        self.extend_offer = ExtendOffer(self.doc, self.view, self.generation, self.statusBar())
        self._connect()
        self.autosave = autosave.Autosaver(self.doc, self)
        self.saving = BackgroundSave(self)
        self.update_title()
        self.update_recent_menu()
        self._sync_page_controls()
        self._selection_changed()
        self.resize(1500, 950)
        self.restore_state()

    # --- wiring ------------------------------------------------------------------------------

    def _regenerate_panel(self, panel_id: str, overrides: dict) -> None:
        self.generation.queue.submit_panels([panel_id], overrides=overrides)

    def _with_note_bar(self, view: PageView) -> QWidget:
        from .note_bar import NoteBar

        self.note_bar = NoteBar(lambda: self.generation.preferences())
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.note_bar)
        column.addWidget(view, 1)
        return box

    def _long_message(self, text: str) -> None:
        """Messages go to the status bar; a note (``label: note: …``) to the note bar, once per run."""
        from .note_bar import is_note

        if not is_note(text):
            self.statusBar().showMessage(text, 10000)
        elif self.note_bar.show_note(text):
            self.statusBar().clearMessage()

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.selection_label = QLabel()
        self.cursor_label = QLabel()
        self.cursor_label.setMinimumWidth(150)
        self.zoom_label = QLabel()
        self.zoom_label.setMinimumWidth(80)
        for label in (self.selection_label, self.cursor_label, self.zoom_label):
            sb.addPermanentWidget(label)

    def _connect(self) -> None:
        doc, view, scene = self.doc, self.view, self.view.page_scene
        doc.modifiedChanged.connect(self.update_title)
        doc.undo_stack.indexChanged.connect(self.update_title)
        view.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z:.0f} %"))
        view.cursorMoved.connect(lambda x, y: self.cursor_label.setText(f"x {x:.1f}  y {y:.1f} mm"))
        view.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        view.toolChanged.connect(self._tool_changed)
        view.panelActivated.connect(self._focus_prompt)
        self.cards_dock.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        scene.selectionChanged.connect(self._selection_changed)
        scene.pageShown.connect(self.pages_dock.show_page)
        self.pages_dock.thumbnailer.decoded = scene.pixmaps.decoded  # the shown page's art: not decoded again
        scene.pageShown.connect(self._sync_page_controls)
        self.pages_dock.pageSelected.connect(scene.set_page)
        doc.pageChanged.connect(self._sync_page_controls)
        doc.pagesChanged.connect(self._sync_page_controls)
        doc.itemsChanged.connect(self._selection_changed)
        self.pages_dock.show_page(scene.page_id)

    def _tool_changed(self, tool: str) -> None:
        key = f"balloon:{self.view.balloon_kind.value}" if tool == Tool.BALLOON.value else tool
        if key in self.tool_actions:
            self.tool_actions[key].setChecked(True)

    def set_balloon_tool(self, kind: BalloonKind) -> None:
        self.view.balloon_kind = BalloonKind(kind)
        self.view.set_tool(Tool.BALLOON)

    def _focus_prompt(self, panel_id: str) -> None:
        self.props_dock.set_panel(panel_id)
        self.props_dock.raise_()
        self.props_dock.prompt.setFocus()

    def _selection_changed(self, *_) -> None:
        scene = self.view.page_scene
        ids = scene.selected_ids()
        panels = scene.selected_panel_ids()
        balloons = [scene.items_by_id[i] for i in ids if isinstance(scene.items_by_id.get(i), BalloonItem)]
        panel_id = panels[0] if len(panels) == 1 else ""
        self.props_dock.set_panel(panel_id)
        self.variants_dock.set_panel(panel_id)
        if not ids:
            text = "Nothing selected"
        elif len(ids) == 1:
            text = "1 panel" if panels else "1 balloon"
        else:
            text = f"{len(panels)} panels, {len(ids) - len(panels)} balloons"
        self.selection_label.setText(text)
        has_sel = bool(ids)
        self.act_delete.setEnabled(has_sel)
        self.act_copy.setEnabled(has_sel)
        self.act_cut.setEnabled(has_sel)
        self.act_duplicate.setEnabled(has_sel)
        self.act_merge.setEnabled(len(panels) >= 2)
        self.act_split_h.setEnabled(len(panels) == 1)
        self.act_split_v.setEnabled(len(panels) == 1)
        for a in (self.act_front, self.act_forward, self.act_backward, self.act_back):
            a.setEnabled(len(ids) == 1)
        self.lettering_toolbar.setEnabled(bool(balloons))
        self.tool_options.set_balloon_selected(bool(balloons))
        if balloons:
            b = balloons[0].balloon
            self.font_combo.blockSignals(True)
            self.font_combo.setCurrentFont(lettering_font(b.font, b.font_size))
            self.font_combo.blockSignals(False)
            self.font_size.blockSignals(True)
            self.font_size.setValue(b.font_size)
            self.font_size.blockSignals(False)

    def _sync_page_controls(self, *_) -> None:
        page = self.view.page_scene.page
        for w in (self.gutter_spin, self.order_combo, self.template_combo):
            w.blockSignals(True)
            w.setEnabled(page is not None)
        if page is not None:
            self.gutter_spin.setValue(page.gutter_mm)
            self.order_combo.setCurrentIndex(0 if ReadingOrder(page.reading_order) == ReadingOrder.LTR else 1)
            self.template_combo.setCurrentIndex(max(0, self.template_combo.findText(page.template or "—")))
        for w in (self.gutter_spin, self.order_combo, self.template_combo):
            w.blockSignals(False)
        self.act_remove_page.setEnabled(len(self.doc.project.pages) > 1)

    # --- edit commands ------------------------------------------------------------------------

    def _edit(self, fn, *args, **kwargs):
        return self.view.run_edit(fn, *args, **kwargs)

    def delete_selection(self) -> None:
        ids = self.view.page_scene.selected_ids()
        if ids:
            self._edit(edits.delete_items, self.doc, self.view.page_id, ids)

    def select_all(self) -> None:
        scene = self.view.page_scene
        scene.select_ids(list(scene.items_by_id))

    def merge_selection(self) -> None:
        ids = self.view.page_scene.selected_panel_ids()
        new_id = self._edit(edits.merge_panels, self.doc, self.view.page_id, ids)
        if isinstance(new_id, str):
            self.view.page_scene.select_ids([new_id])

    def split_selection(self, vertical: bool) -> None:
        ids = self.view.page_scene.selected_panel_ids()
        if len(ids) == 1:
            self._edit(edits.split_panel_evenly, self.doc, self.view.page_id, ids[0], vertical)

    def z_order(self, where: str) -> None:
        ids = self.view.page_scene.selected_ids()
        if len(ids) == 1:
            self._edit(edits.set_z_order, self.doc, self.view.page_id, ids[0], where)

    def apply_template(self, name: str) -> None:
        page = self.view.page_scene.page
        if page is None:
            return
        from .confirm import ask, panel_work

        work = panel_work(page)
        if work and not ask(self, "Apply Template", f"The template replaces this page's panels: their {work} "
                            "will be dropped (Undo brings them back).", f"Apply {name}"):
            self._sync_page_controls()
            return
        self._edit(edits.apply_template, self.doc, page.id, name)

    def set_gutter(self, value: float) -> None:
        page = self.view.page_scene.page
        if page is not None and abs(page.gutter_mm - value) > 1e-6:
            self._edit(edits.set_page_props, self.doc, page.id, gutter_mm=round(value, 2))

    def set_reading_order(self, order: str) -> None:
        page = self.view.page_scene.page
        if page is not None and ReadingOrder(page.reading_order) != ReadingOrder(order):
            self._edit(edits.set_page_props, self.doc, page.id, reading_order=ReadingOrder(order))
            self.act_order.setChecked(True)

    def set_balloon_font(self, **fields) -> None:
        scene = self.view.page_scene
        for item_id in scene.selected_ids():
            if isinstance(scene.items_by_id.get(item_id), BalloonItem):
                self._edit(edits.update_balloon, self.doc, self.view.page_id, item_id, **fields)

    # --- files --------------------------------------------------------------------------------

    def update_title(self, *_) -> None:
        try:
            modified = self.doc.modified
        except RuntimeError:  # the undo stack is being destroyed at shutdown
            return
        name = self.doc.path.name if self.doc.path else "Untitled"
        self.setWindowTitle(f"{name}[*] — Panelsmith")
        self.setWindowModified(modified)

    def update_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = recent_files(self.settings)
        for path in files:
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_file(p)).setToolTip(path)
        self.recent_menu.setEnabled(bool(files))

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; True when it is fine to go on (saved or discarded)."""
        if not self.doc.modified:
            return True
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"Save the changes to {self.doc.path.name if self.doc.path else 'this comic'}?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        box.setInformativeText("Your changes will be lost if you don't save them.")
        self.unsaved_box = box
        answer = box.exec()
        self.unsaved_box = None
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_file(self, project: Project | None = None) -> None:
        """Replace the comic by ``project`` (File ▸ New…'s choice; default :func:`new_project`)."""
        if self.maybe_save():
            self.view.finish_text_edit()
            self.doc.reset(project or new_project())
            self.autosave.reset()

    def open_file(self, path: str | None = None) -> bool:
        if not self.maybe_save():
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open comic", self._last_dir(), FILE_FILTER)
            if not path:
                return False
        return self.load(path)

    def _warm_up(self) -> None:
        """Load the first save's modules (the file lock) on a helper thread while the window is idle."""
        import threading

        from app import file_lock

        threading.Thread(target=file_lock.warm_up, name="panelsmith-warm-up", daemon=True).start()

    def load(self, path: str | Path, offer_recovery: bool = True, keep_path: bool = True) -> bool:
        """Open ``path`` (no unsaved-changes question); errors appear in a message box.

        ``keep_path=False`` opens a file as a new untitled comic (the bundled sample)."""
        try:
            project = load_project(path)
        except (ProjectFileError, OSError, ValueError) as exc:
            QMessageBox.critical(self, "Cannot open file", f"{Path(path).name}: {one_line(exc)}")
            remove_recent_file(str(Path(path).resolve()), self.settings)
            self.update_recent_menu()
            return False
        self.view.finish_text_edit()
        self.doc.reset(project, path if keep_path else None)
        self.autosave.reset()
        if keep_path:
            add_recent_file(path, self.settings)
            self.update_recent_menu()
            self.settings.setValue("lastDir", str(Path(path).resolve().parent))
        if keep_path:
            self._consent_outside_paths(Path(path))
        if offer_recovery:
            self.autosave.offer_recovery(self)
        return True

    def _consent_outside_paths(self, path: Path) -> None:
        """Ask once per project (remembered in the settings) before it may name files outside its
        folder and the models folder (a LoRA, a --sref image, a model): see app.safe_paths."""
        import hashlib

        from app.safe_paths import allow_outside, outside_names

        names = outside_names(self.doc.project, path.parent)
        if not names:
            return
        key = "outsidePaths/" + hashlib.sha256(str(path.resolve()).encode("utf-8", "replace")).hexdigest()[:32]
        if self.settings.value(key) != "yes":
            answer = QMessageBox.question(
                self, "Files outside the project",
                f"{path.name} names files outside its folder and the models folder, such as "
                f"{names[0][:200]!r}. Let this project read them? (Choose No unless you trust its author.)",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return
            self.settings.setValue(key, "yes")
        allow_outside(path.parent)

    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self) -> bool:
        start = str(self.doc.path) if self.doc.path else str(Path(self._last_dir()) / "comic.comic")
        path, _ = QFileDialog.getSaveFileName(self, "Save comic as", start, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(".comic"):
            path += ".comic"
        return self._save_to(Path(path), compact=True)

    def _save_to(self, path: Path, compact: bool = False) -> bool:
        self.view.finish_text_edit()
        if path == self.doc.path and self.doc.changed_on_disk():
            answer = QMessageBox.question(
                self, "Changed on disk", f"{path.name} was changed by another program since it was opened "
                f"or saved here. Replace it with this version?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        old_path = self.doc.path
        try:  # written on a helper thread; the window keeps painting meanwhile
            if not self.saving.save(self.doc, path, compact=compact):
                self.statusBar().showMessage("A save is still being written", 3000)
                return False
        except Exception as exc:  # noqa: BLE001 - any failure is shown, never a traceback
            QMessageBox.critical(self, "Cannot save", f"{path.name}: {one_line(exc)}")
            return False
        self.autosave.saved(old_path)
        add_recent_file(path, self.settings)
        self.update_recent_menu()
        self.statusBar().showMessage(f"Saved {path.name}", 3000)
        self.update_title()
        return True

    def export(self) -> None:
        from app.export import ExportCancelled
        from app.export import export as export_project

        from .export_dialog import ExportDialog, ExportProgress

        stem = self.doc.path.stem if self.doc.path else "comic"
        dialog = ExportDialog(self.doc.project, str(Path(self._last_dir()) / f"{stem}.pdf"), self)
        self.export_dialog = dialog
        accepted = dialog.exec() == ExportDialog.DialogCode.Accepted
        self.export_dialog = None
        if not accepted or not dialog.path.text().strip():
            return
        choice = dialog.choice()
        project = choice.project(self.doc.project, stem if self.doc.path else "Untitled")
        self.export_progress = progress = ExportProgress(choice.out.name, self)
        failed: Exception | None = None
        try:
            out = export_project(project, choice.fmt, choice.out, dpi=choice.dpi, bleed=choice.bleed,
                                 project_path=self.doc.path, progress=progress.step)
        except Exception as exc:  # noqa: BLE001 - any failure is shown, never a traceback
            failed = exc
        finally:
            progress.close()
            self.export_progress = None
        if isinstance(failed, ExportCancelled):
            self.statusBar().showMessage("Export cancelled: nothing was written", 5000)
            return
        if failed is not None:
            QMessageBox.critical(self, "Export failed", one_line(failed))
            return
        where = choice.out.name if choice.fmt != "png" else f"{len(out)} pages in {choice.out.name}"
        self.statusBar().showMessage(f"Exported {where}", 5000)

    def _last_dir(self) -> str:
        return str(self.settings.value("lastDir", str(Path.home())))

    # --- window state ---------------------------------------------------------------------------

    def restore_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state, WINDOW_STATE_VERSION)  # a state saved for other toolbars is ignored

    def save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(WINDOW_STATE_VERSION))
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.view.finish_text_edit()
        self.saving.wait()  # a save in flight is finished first
        if not self.generation.confirm_quit() or not self.maybe_save():
            event.ignore()
            return
        self.save_state()
        self.hide()  # gone at once; the worker threads end behind it
        self.autosave.stop(clean=True)
        self.saving.stop()
        self.generation.shutdown()  # cancel jobs, join the worker thread (after its current step)
        self.characters.shutdown()  # cancel a training run, join its thread
        self.tasks.shutdown()  # no helper process outlives the window; pending results are dropped
        event.accept()


def run(path: str | None = None) -> int:
    """Start the GUI with ``path`` (or the bundled sample); returns the exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    icon = Path(__file__).resolve().parent.parent / "resources" / "icon.png"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    window = MainWindow()
    window.show()
    target = Path(path) if path else (SAMPLE if SAMPLE.exists() else None)
    if target is not None:
        QTimer.singleShot(0, lambda: window.load(target, keep_path=bool(path)))
    return app.exec()
