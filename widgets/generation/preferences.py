"""Preferences: the models folder and device (per user, QSettings) and the generation defaults
of this project (model, scheduler, preset, steps, variants: ``project.settings``, undoable)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QFileSystemWatcher, QSettings, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QListWidget, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from app import edits
from app.document import Document
from app.generation.queue import EngineSettings
from widgets.engine_settings import EngineSettingsPage, load_engine_choice, save_engine_choice
from engine.device import DEVICES
from engine.errors import one_line
from engine.memory import MEMORY_LABELS, MEMORY_MODES

if TYPE_CHECKING:  # the registry and the samplers load when the dialog opens, not with the window
    from engine.registry import ModelRegistry

PRESETS = ["", "quality", "fast"]


def load_engine_settings(settings: QSettings) -> EngineSettings:
    folder = str(settings.value("engine/modelsDir", "") or "")
    device = str(settings.value("engine/device", "auto") or "auto")
    faces_cpu = str(settings.value("engine/facesOnCpu", "false")).lower() in ("1", "true")
    memory = str(settings.value("engine/memory", "auto") or "auto")
    engine = EngineSettings(folder or None, device if device in DEVICES else "auto", faces_cpu,
                            memory=memory if memory in MEMORY_MODES else "auto", **load_engine_choice(settings))
    engine.apply_environment()
    return engine


def save_engine_settings(settings: QSettings, engine: EngineSettings) -> None:
    settings.setValue("engine/modelsDir", engine.models_dir or "")
    settings.setValue("engine/device", engine.device)
    settings.setValue("engine/facesOnCpu", engine.faces_on_cpu)
    save_engine_choice(settings, engine.engine, engine.servers, engine.token)
    settings.setValue("engine/memory", engine.memory)
    settings.sync()


def describe_models(registry: ModelRegistry) -> tuple[list[str], str]:
    """Lines for the list of what the registry found, and a message (what is missing, problems)."""
    from engine.registry import GENERATORS

    models = registry.refresh()
    lines = [f"{m.name}  —  {m.kind.value}" + (f", {m.arch.value}" if m.arch.value != "unknown" else "") for m in models]
    message = ""
    if not registry.models_dir.is_dir():
        message = f"The folder {registry.models_dir} does not exist."
    elif not registry.models(GENERATORS):
        message = "No image model found here. " + registry.help()
    if registry.problems:
        message = "\n".join([message, *registry.problems]).strip()
    return lines, message


def model_to_use(registry: ModelRegistry, chosen: str) -> str:
    """What Generate will use with the model field ``chosen`` ("" = the project names none): the
    model's name, kind and file, or why there is none."""
    from engine.jobs import ModelNotFoundError
    from engine.registry import GENERATORS

    models = registry.models(GENERATORS)
    if not chosen:
        if len(models) == 1:
            chosen = str(models[0].path)
        elif models:
            return f"none yet: choose one of the {len(models)} image models above"
        else:
            return "none: no image model in the models folder"
    try:
        info = registry.resolve(chosen)
    except ModelNotFoundError as exc:
        return f"none: {one_line(exc)}"
    arch = f", {info.arch.value}" if info.arch.value != "unknown" else ""
    return f"{info.name} ({info.kind.value}{arch}): {info.path}"


class PreferencesDialog(QDialog):
    def __init__(self, doc: Document, engine: EngineSettings, parent: QWidget | None = None) -> None:
        from engine.registry import ModelRegistry
        from engine.sampling import SCHEDULERS

        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setObjectName("PreferencesDialog")
        self.doc = doc
        self.folder = QLineEdit(engine.models_dir or "")
        self.folder.setPlaceholderText(str(ModelRegistry(None).models_dir))
        self.folder.editingFinished.connect(self.rescan)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.found = QListWidget()
        self.found.setMaximumHeight(130)
        self.missing = QLabel()
        self.missing.setWordWrap(True)
        self.missing.setStyleSheet("color: #b3261e;")
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(engine.device)
        user = QGroupBox("All projects")
        form = QFormLayout(user)
        form.addRow("Models folder", folder_row)
        form.addRow("Found", self.found)
        form.addRow("", self.missing)
        form.addRow("Device", self.device)
        self.faces_cpu = QCheckBox("Run face analysis on the CPU (saves GPU memory for generation)")
        self.faces_cpu.setChecked(engine.faces_on_cpu)
        form.addRow("Faces", self.faces_cpu)
        self.memory = QComboBox(objectName="memoryMode", toolTip="Where the model's weights live while it runs; "
                                "offload trades speed for GPU memory. VAE tiling turns on by itself for large images.")
        for mode in MEMORY_MODES:
            self.memory.addItem(MEMORY_LABELS[mode], mode)
        self.memory.setCurrentIndex(MEMORY_MODES.index(engine.memory))
        form.addRow("Memory", self.memory)

        s = doc.project.settings
        self.model = QComboBox(editable=True, toolTip="Model name in the models folder, or a path")
        self.will_use = QLabel(wordWrap=True, toolTip="The model Generate uses with these settings")
        self.will_use.setObjectName("ModelToUse")
        self.scheduler = QComboBox()
        self.scheduler.addItems(["", *SCHEDULERS])  # "": the model family's preset
        self.scheduler.setCurrentText(str(s.get("scheduler") or ""))
        self.preset = QComboBox()
        self.preset.addItems(PRESETS)
        self.preset.setCurrentText(str(s.get("preset") or ""))
        self.steps = QSpinBox(minimum=0, maximum=500, specialValueText="model default")
        self.steps.setValue(int(s.get("steps") or 0))
        self.variants = QSpinBox(minimum=1, maximum=64)
        self.variants.setValue(int(s.get("variants") or 1))
        project = QGroupBox("This project")
        pform = QFormLayout(project)
        pform.addRow("Model", self.model)
        pform.addRow("Will use", self.will_use)
        pform.addRow("Scheduler", self.scheduler)
        pform.addRow("Preset", self.preset)
        pform.addRow("Steps", self.steps)
        pform.addRow("Variants", self.variants)
        self.engine_page = EngineSettingsPage(engine.engine, engine.servers, engine.token)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.engine_page)
        layout.addWidget(user)
        layout.addWidget(project)
        layout.addWidget(buttons)
        self.registry = ModelRegistry(None)
        # the list follows the models folder: a model copied in (or removed) shows without a restart
        self.watcher = QFileSystemWatcher(self)
        self._rescan_soon = QTimer(self, singleShot=True, interval=300, timeout=self.rescan)
        self.watcher.directoryChanged.connect(lambda *_: self._rescan_soon.start())
        self.rescan()
        self.model.setCurrentText(str(s.get("model") or ""))
        self.model.currentTextChanged.connect(self.update_model_to_use)
        self.update_model_to_use()
        self.resize(560, 600)

    def browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Models folder", self.folder.text() or self.folder.placeholderText())
        if path:
            self.folder.setText(path)
            self.rescan()

    def rescan(self) -> None:
        """List what the registry finds in the folder now (or say what is missing) and watch it."""
        from engine.registry import GENERATORS, ModelRegistry

        registry = self.registry = ModelRegistry(self.folder.text().strip() or None)
        lines, message = describe_models(registry)
        self._watch(registry.models_dir)
        self.found.clear()
        self.found.addItems(lines)
        self.missing.setText(message)
        self.missing.setVisible(bool(message))
        current = self.model.currentText()
        self.model.clear()
        self.model.addItem("")
        self.model.addItems([m.name for m in registry.models(GENERATORS)])
        self.model.setCurrentText(current)
        self.update_model_to_use()

    def _watch(self, folder: Path) -> None:
        """Watch ``folder``, its subfolders one level down (checkpoints/, loras/…) and, while it does not
        exist, its parent (so that creating it is noticed)."""
        old = self.watcher.directories()
        if old:
            self.watcher.removePaths(old)
        paths = [folder] if folder.is_dir() else [p for p in (folder.parent,) if p.is_dir()]
        if folder.is_dir():
            try:
                paths += [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
            except OSError:
                pass
        if paths:
            self.watcher.addPaths([str(p) for p in paths])

    def update_model_to_use(self, *_) -> None:
        """Say which model Generate will use (the chosen one, or the only one installed)."""
        self.will_use.setText(model_to_use(self.registry, self.model.currentText().strip()))

    def engine_settings(self) -> EngineSettings:
        return EngineSettings(self.folder.text().strip() or None, self.device.currentText(),
                              self.faces_cpu.isChecked(), memory=str(self.memory.currentData()),
                              **self.engine_page.values())

    def project_settings(self) -> dict:
        """``project.settings`` with this dialog's values (empty fields removed)."""
        settings = dict(self.doc.project.settings)
        values = {"model": self.model.currentText().strip(), "scheduler": self.scheduler.currentText(),
                  "preset": self.preset.currentText(), "steps": self.steps.value() or None,
                  "variants": self.variants.value() if self.variants.value() != 1 else None}
        for key, value in values.items():
            if value:
                settings[key] = value
            else:
                settings.pop(key, None)
        return settings

    def apply(self, qsettings: QSettings) -> EngineSettings:
        """Store the user settings and (one undo step, when changed) the project's."""
        engine = self.engine_settings()
        save_engine_settings(qsettings, engine)
        settings = self.project_settings()
        if settings != self.doc.project.settings:
            edits.set_project_attrs(self.doc, settings=settings)
        return engine
