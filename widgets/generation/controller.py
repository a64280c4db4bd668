"""The generation controller of a window: the job queue and the actions that feed it.

:class:`GenerationController` owns the queue and exposes, as attributes, its actions (Generate,
Generate Page, Vary Region, Edit by Instruction, Animate…, Clear Mask, Pan, Zoom Out, Upscale to Print, Use First Result,
Preferences, the Mask tool) and the input widgets they read (repeat count, mask brush settings,
region prompt, pan amount, refine strength). :mod:`widgets.actions` places them in menus and toolbars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLineEdit, QMessageBox, QSpinBox, QWidget

from app.background import BackgroundTasks
from app.document import Document
from app.generation.queue import EngineSettings, JobQueue, JobState
from engine.errors import one_line

from ..canvas import PageView, Tool
from ..canvas.jobs_overlay import PanelJobStates
from ..canvas.mask import MaskMode
from .preferences import PreferencesDialog, load_engine_settings

if TYPE_CHECKING:  # the Animate dialog loads when it first opens
    from .animate import AnimateDialog, AnimateOptions

PAN_DIRECTIONS = ("left", "right", "up", "down")


def make_action(parent: QObject, text: str, slot: Callable[[], object], shortcut: str | None = None,
                tip: str = "") -> QAction:
    """A window-wide action whose tooltip names its shortcut and says what it does."""
    act = QAction(text, parent)
    if shortcut:
        act.setShortcut(QKeySequence(shortcut))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    act.setToolTip(f"{text} ({shortcut})\n{tip}" if shortcut else f"{text}\n{tip}")
    act.setStatusTip(tip)
    act.triggered.connect(lambda *_: slot())
    return act


class GenerationController(QObject):
    """Owns the job queue of a window and the actions and inputs that submit jobs to it."""

    message = Signal(str)  # one line for the status bar
    engineConfigured = Signal(object)  # EngineSettings, after Preferences were applied
    modelMissing = Signal(str)  # what is missing and where to put it; the window offers Preferences

    def __init__(self, doc: Document, view: PageView, qsettings: QSettings, tasks: BackgroundTasks,
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.doc = doc
        self.view = view
        self.qsettings = qsettings
        self.dialog_parent = parent
        self.last_message = ""
        self.question: QMessageBox | None = None  # the open question box (tests answer it)
        self.animate_dialog: AnimateDialog | None = None  # the open Animate dialog
        self.animate_options: AnimateOptions | None = None  # what the last Animate asked for (None: the defaults)
        self.queue = JobQueue(doc, load_engine_settings(qsettings), self, tasks=tasks)
        self._build_actions(parent)
        self._build_inputs()
        self.queue.message.connect(self.show_message)
        self._canvas_jobs = PanelJobStates()
        for signal in (self.queue.jobAdded, self.queue.jobChanged, self.queue.jobFinished, self.queue.jobsCleared):
            signal.connect(self.show_jobs_on_canvas)
        self.queue.jobFinished.connect(self._note_failed_loop)
        view.maskChanged.connect(self.update_actions)
        view.page_scene.selectionChanged.connect(self.update_actions)
        doc.itemsChanged.connect(self.update_actions)
        self.update_actions()

    # --- building ---------------------------------------------------------------------------------

    def _build_actions(self, parent: QObject) -> None:
        a = lambda *args: make_action(parent, *args)  # noqa: E731
        self.act_generate = a("Generate", self.generate_selected, "Ctrl+G",
                              "Generate images for the selected panels (queued, in reading order)")
        self.act_generate_page = a("Generate Page", self.generate_page, "Ctrl+Shift+G",
                                   "Generate the empty panels of this page, in reading order (queued); "
                                   "asks before panels that have art")
        self.act_vary = a("Vary Region", self.vary_region, "Ctrl+Shift+V",
                          "Repaint the masked part of the panel image with the region prompt")
        self.act_edit = a("Edit by Instruction", self.edit_selected, "Ctrl+Shift+I",
                          "Edit the panel image by the instruction in the Edit field (FLUX.2 klein, "
                          "Qwen-Image-Edit or FLUX.1 Kontext models): a new variant")
        self.act_animate = a("Animate…", self.animate_selected, "Ctrl+Shift+M",
                             "Make the selected panel a short loop (AnimateDiff): frames, speed, continuity "
                             "from the current image, seed; the loop is a new variant")
        self.act_clear_mask = a("Clear Mask", self.clear_mask, None, "Remove the painted mask")
        self.act_zoom15 = a("Zoom Out 1.5×", lambda: self.extend(zoom_out=1.5), None,
                            "Outpaint around the image: 1.5× larger, the original stays in place")
        self.act_zoom2 = a("Zoom Out 2×", lambda: self.extend(zoom_out=2.0), None,
                           "Outpaint around the image: 2× larger, the original stays in place")
        self.act_pan = {d: a(f"Pan {d.title()}", lambda d=d: self.extend(direction=d), None,
                             f"Extend the image {d}wards by the pan amount (outpainting)") for d in PAN_DIRECTIONS}
        self.act_upscale = a("Upscale to Print", self.upscale_to_print, None,
                             "Bring the panel image to the page's print size at the project dpi (Lanczos), "
                             "with the optional tiled refine")
        self.act_auto_pick = QAction("Use First Result", parent, checkable=True, checked=True,
                                     toolTip="Show the first new image in the panel; off: only add results to "
                                             "the History dock")
        self.act_preferences = a("Preferences…", self.preferences, "Ctrl+,", "Models folder, device, defaults")
        self.act_mask_tool = QAction("Mask", parent, checkable=True, shortcut=QKeySequence("M"),
                                     toolTip="Mask brush (M)\nPaint where Vary Region repaints the panel image")
        self.act_mask_tool.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.act_mask_tool.toggled.connect(lambda on: on and self.view.set_tool(Tool.MASK))

    def _build_inputs(self) -> None:
        self.repeat = QSpinBox(minimum=1, maximum=50, value=1,
                               toolTip="Repeat ×N: queue N jobs with incrementing seeds")
        self.repeat.setObjectName("RepeatSpin")
        self.pan_amount = QDoubleSpinBox(minimum=0.05, maximum=4.0, singleStep=0.05, value=0.25, decimals=2,
                                         toolTip="Pan amount: fraction of the image's width or height")
        self.refine_strength = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=0.0, decimals=2,
                                              prefix="Refine ", specialValueText="No refine",
                                              toolTip="After upscaling, refine with img2img over overlapping "
                                                      "tiles at this strength (0: no refine)")
        self.refine_strength.setObjectName("RefineStrength")
        self.mask_mode = QComboBox(toolTip="Brush adds to the mask, eraser removes, lasso fills a drawn outline "
                                           "(Alt+lasso removes)")
        for mode in MaskMode:
            self.mask_mode.addItem(mode.value.title(), mode.value)
        self.mask_mode.currentIndexChanged.connect(
            lambda _: setattr(self.view, "mask_mode", MaskMode(self.mask_mode.currentData())))
        self.brush_size = QSpinBox(minimum=1, maximum=1024, value=int(self.view.brush_px), suffix=" px",
                                   toolTip="Brush size in image pixels")
        self.brush_size.valueChanged.connect(lambda v: setattr(self.view, "brush_px", float(v)))
        self.feather = QSpinBox(minimum=0, maximum=512, value=8, suffix=" px",
                                toolTip="Blend band around the mask; pixels farther away stay identical")
        self.region_prompt = QLineEdit(placeholderText="What to paint in the region…", clearButtonEnabled=True)
        self.region_prompt.setMinimumWidth(220)
        self.region_prompt.returnPressed.connect(self.vary_region)
        self.edit_prompt = QLineEdit(placeholderText="Edit: night, rain, a red coat…", clearButtonEnabled=True,
                                     toolTip="Instruction for Edit (Return or Ctrl+Shift+I): the panel image is the "
                                             "first reference")
        self.edit_prompt.setObjectName("EditPrompt")
        self.edit_prompt.setMinimumWidth(200)
        self.edit_prompt.returnPressed.connect(self.edit_selected)

    # --- state ------------------------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        self.last_message = text
        self.message.emit(text)

    def selected_panels(self) -> list[str]:
        """Selected panels of the shown page, in reading order."""
        return self.view.page_scene.selected_panels_in_reading_order()

    def _single_panel(self) -> str:
        ids = self.selected_panels()
        if len(ids) != 1:
            self.show_message("Select one panel first")
            return ""
        return ids[0]

    def update_actions(self, *_) -> None:
        """Enable what the selection and the mask allow."""
        ids = self.selected_panels()
        self.act_generate.setEnabled(bool(ids))
        self.act_generate_page.setEnabled(self.view.page_scene.page is not None)
        panel = self.doc.project.panel_or_none(ids[0]) if len(ids) == 1 else None
        has_image = panel is not None and panel.image is not None
        self.act_animate.setEnabled(panel is not None)
        for act in (*self.act_pan.values(), self.act_zoom15, self.act_zoom2, self.act_upscale, self.act_edit):
            act.setEnabled(has_image)
        layer = self.view.mask_layer
        self.act_vary.setEnabled(layer is not None and layer.panel_id in ids)
        self.act_clear_mask.setEnabled(layer is not None)

    def show_jobs_on_canvas(self, *_) -> None:
        """The canvas shows each panel's queued jobs, and the running one's progress and live preview."""
        self.view.page_scene.set_panel_jobs(self._canvas_jobs.states(self.queue.active()))

    # --- jobs -------------------------------------------------------------------------------------

    def model_problem(self) -> str:
        """What stops generation before it starts: no image model installed or the chosen one not
        found (one line naming the models folder and the files to put there); "" when there is one."""
        from app.generation.request import choose_model  # the request builder loads with the first job
        from engine.jobs import EngineError, ModelNotFoundError

        registry = self.queue.registry
        try:
            model = choose_model(self.doc.project, registry, None, self.doc.path.parent if self.doc.path else None)
            registry.resolve(model)
        except ModelNotFoundError as exc:
            return one_line(exc)
        except (EngineError, OSError, ValueError):  # several models, an unreadable file: the job says so
            return ""
        return ""

    def _say_if_no_model(self) -> None:
        problem = self.model_problem()
        if problem:
            self.modelMissing.emit(problem[:1].upper() + problem[1:])

    def generate_selected(self) -> list[str]:
        ids = self.selected_panels()
        if not ids:
            self.show_message("Select a panel to generate")
            return []
        self._say_if_no_model()
        return self.queue.submit_panels(ids, repeat=self.repeat.value(), select=self.act_auto_pick.isChecked())

    def generate_page(self) -> list[str]:
        """Queue the page's empty panels in reading order; where panels have art, ask whether to
        generate those too. A panel with a queued or running job is not queued again."""
        page = self.view.page_scene.page
        if page is None:
            return []
        busy = {job.panel_id for job in self.queue.active()}
        todo = [p for p in page.panels_in_reading_order() if p.id not in busy]
        with_art = [p for p in todo if p.image is not None]
        if not todo:
            self.show_message("Every panel of this page is already queued")
            return []
        if with_art:
            answer = self._ask_replace(len(with_art), len(todo) - len(with_art))
            if answer is None:
                return []
            if not answer:
                todo = [p for p in todo if p.image is None]
        if not todo:
            return []
        self._say_if_no_model()
        return self.queue.submit_panels([p.id for p in todo], repeat=self.repeat.value(),
                                        select=self.act_auto_pick.isChecked())

    def _ask_replace(self, with_art: int, empty: int) -> bool | None:
        """Ask before generating over art: True (all panels), False (empty ones only), None (cancel)."""
        art = f"{with_art} panel{'s' if with_art != 1 else ''}"
        box = QMessageBox(QMessageBox.Icon.Question, "Generate Page",
                          f"{art} of this page already {'have' if with_art != 1 else 'has'} art.",
                          QMessageBox.StandardButton.Cancel, self.dialog_parent)
        box.setInformativeText("New images replace the shown art (the old images stay in each panel's "
                               "History).")
        empty_button = box.addButton(f"Only Empty Panels ({empty})", QMessageBox.ButtonRole.AcceptRole)
        empty_button.setEnabled(empty > 0)
        all_button = box.addButton(f"Replace Art Too ({with_art + empty})", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(empty_button if empty else box.button(QMessageBox.StandardButton.Cancel))
        self.question = box
        box.exec()
        self.question = None
        clicked = box.clickedButton()
        return True if clicked is all_button else False if clicked is empty_button else None

    def vary_region(self) -> list[str]:
        layer = self.view.mask_layer
        if layer is None or layer.is_empty():
            self.show_message("Paint a mask on the panel image first (Mask tool, M)")
            return []
        prompt = self.region_prompt.text().strip() or None
        from engine.jobs import JobKind  # the engine's plain data loads with the first job

        return self.queue.submit_panels([layer.panel_id], JobKind.VARY_REGION, mask=layer.mask_image(),
                                        prompt=prompt, extra={"feather_px": self.feather.value()},
                                        repeat=self.repeat.value(), select=self.act_auto_pick.isChecked())

    def edit_selected(self, panel_id: str | None = None) -> list[str]:
        """Queue an EDIT job for the selected panel: its image as the first reference, the Edit field's
        text as the instruction."""
        panel_id = panel_id or self._single_panel()
        if not panel_id:
            return []
        instruction = self.edit_prompt.text().strip()
        if not instruction:
            self.show_message("Type an instruction in the Edit field first (e.g. \"night, rain\")")
            self.edit_prompt.setFocus()
            return []
        from engine.jobs import JobKind

        return self.queue.submit_panels([panel_id], JobKind.EDIT, prompt=instruction, repeat=self.repeat.value(),
                                        select=self.act_auto_pick.isChecked())

    def animate_selected(self, panel_id: str | None = None) -> AnimateDialog | None:
        """Ask for the loop's frames, speed, continuity and seed (a window-modal dialog, not blocking);
        Animate queues one ANIMATE job for the panel."""
        panel_id = panel_id or self._single_panel()
        panel = self.doc.project.panel_or_none(panel_id) if panel_id else None
        if panel is None:
            return None
        page, _ = self.doc.project.find_panel(panel_id)
        number = [p.id for p in page.panels_in_reading_order()].index(panel_id) + 1
        label = f"p{self.doc.project.page_index(page.id) + 1}·{number}"
        from .animate import AnimateDialog, AnimateOptions

        dialog = AnimateDialog(label, panel.image is not None, self.animate_options or AnimateOptions(),
                               self.dialog_parent)
        dialog.accepted.connect(lambda: self.animate(panel_id, dialog.options()))
        dialog.finished.connect(lambda _: setattr(self, "animate_dialog", None))
        self.animate_dialog = dialog
        dialog.open()
        return dialog

    def motion_problem(self) -> str:
        """What stops a loop before it is queued: no image model, or no motion adapter in the models
        folder (the engine's own line naming what to install where); "" when it can be tried."""
        problem = self.model_problem()
        if problem or self.queue.settings.engine != "local":
            return problem
        from app.generation.request import choose_model
        from engine.jobs import EngineError
        from engine.motion import find_motion_adapter
        from engine.registry import ModelKind

        registry = self.queue.registry
        if registry.models((ModelKind.MOTION_ADAPTER,)):
            return ""  # whether one fits the model is known once the model is read: the job says so

        try:
            model = choose_model(self.doc.project, registry, None, self.doc.path.parent if self.doc.path else None)
            find_motion_adapter(registry, (), model)
        except (EngineError, OSError, ValueError) as exc:
            return one_line(exc)
        return ""

    def animate(self, panel_id: str, options: AnimateOptions) -> list[str]:
        """Queue one ANIMATE job (a loop, one undo step when it arrives) for ``panel_id``; a missing
        model or motion adapter is one line in the note bar and nothing is queued."""
        self.animate_options = options
        problem = self.motion_problem()
        if problem:
            self.modelMissing.emit(problem[:1].upper() + problem[1:])
            return []
        panel = self.doc.project.panel_or_none(panel_id)
        if panel is None:
            return []
        from app.generation.request import current_image
        from engine.jobs import JobKind

        extra = {"init_image": current_image(self.doc.project, panel)} if options.continuity and panel.image else None
        return self.queue.submit_panels([panel_id], JobKind.ANIMATE, options.fields(), extra=extra,
                                        select=self.act_auto_pick.isChecked())

    def _note_failed_loop(self, job_id: str) -> None:
        """A loop that failed (e.g. no motion adapter fits the model) says why in the note bar."""
        from engine.jobs import JobKind

        job = self.queue.jobs.get(job_id)
        if job is not None and job.kind is JobKind.ANIMATE and job.state is JobState.FAILED and job.message:
            self.modelMissing.emit(f"{job.label}: {job.message}")

    def clear_mask(self) -> None:
        if self.view.mask_layer is not None:
            self.view.mask_layer.clear()
        self.view.drop_mask()

    def extend(self, direction: str | None = None, zoom_out: float | None = None,
               amount: float | None = None, panel_id: str | None = None) -> list[str]:
        """Pan (``direction`` by ``amount``, default the pan amount input) or zoom out the selected panel."""
        panel_id = panel_id or self._single_panel()
        if not panel_id:
            return []
        from app.generation.request import pan_spec
        from engine.jobs import JobKind

        spec = pan_spec(direction, amount if amount is not None else self.pan_amount.value(), zoom_out)
        return self.queue.submit_panels([panel_id], JobKind.OUTPAINT, outpaint=spec,
                                        select=self.act_auto_pick.isChecked())

    def upscale_to_print(self, refine: float | None = None, panel_id: str | None = None) -> list[str]:
        """Queue an UPSCALE job for the selected panel: its print size at the project dpi;
        ``refine`` (default: the refine strength input, 0 = off) adds a tiled img2img refine."""
        panel_id = panel_id or self._single_panel()
        if not panel_id:
            return []
        strength = self.refine_strength.value() if refine is None else refine
        overrides = {"refine_strength": float(strength)} if strength and strength > 0 else {}
        from engine.jobs import JobKind

        return self.queue.submit_panels([panel_id], JobKind.UPSCALE, overrides, select=self.act_auto_pick.isChecked())

    # --- preferences ------------------------------------------------------------------------------

    def preferences(self) -> PreferencesDialog:
        dialog = PreferencesDialog(self.doc, self.queue.settings, self.dialog_parent)
        dialog.accepted.connect(lambda: self.apply_preferences(dialog))
        dialog.open()
        return dialog

    def apply_preferences(self, dialog: PreferencesDialog) -> EngineSettings:
        engine = dialog.apply(self.qsettings)
        self.queue.configure(engine)
        self.engineConfigured.emit(engine)
        return engine

    # --- shutdown ---------------------------------------------------------------------------------

    def confirm_quit(self) -> bool:
        """With jobs queued or running, ask whether to quit and lose them; True: go on closing."""
        active = self.queue.active()
        if not active:
            return True
        running = sum(job.state is JobState.RUNNING for job in active)
        n = len(active)
        box = QMessageBox(QMessageBox.Icon.Warning, "Jobs in progress",
                          f"{n} generation job{'s' if n != 1 else ''} ({running} running, {n - running} queued) "
                          f"will be lost if you quit now.", QMessageBox.StandardButton.Cancel, self.dialog_parent)
        box.setInformativeText("Finished results are already in their panels.")
        quit_button = box.addButton(f"Quit and Lose {n} Job{'s' if n != 1 else ''}",
                                    QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.question = box
        box.exec()
        self.question = None
        return box.clickedButton() is quit_button

    def shutdown(self) -> None:
        """Cancel every job and join the worker thread (the window is closing)."""
        self.queue.stop()
