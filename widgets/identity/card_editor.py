"""Edit a character or style card: fields, LoRA, preset, and its weighted reference images.

Every change goes through :mod:`app.edits` as one undo step (typing and spin-box drags merge).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QScrollArea,
                               QToolButton, QVBoxLayout, QWidget)

from app import edits
from app.document import Document
from app.generation.card_model import card_model_line
from app.project import CharacterCard, IdentityMethod, Reference, StyleCard
from engine.prompt_flags import STYLE_PRESETS

from .. import mime
from app.identity.face_analysis import FaceAnalysis
from .references import ReferenceRow

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp)"
LORA_FILTER = "LoRA weights (*.safetensors *.pt *.bin);;All files (*)"
MODEL_FILTER = "Models (*.safetensors *.ckpt);;All files (*)"
IDENTITY_METHOD_LABELS = {IdentityMethod.AUTO: "auto", IdentityMethod.INSTANTID: "InstantID",
                          IdentityMethod.FACEID: "FaceID", IdentityMethod.PHOTOMAKER: "PhotoMaker"}


class CardEditor(QDialog):
    """A non-modal editor for one card; it follows the document (undo, redo, removal)."""

    message = Signal(str)

    def __init__(self, doc: Document, card_id: str, faces: FaceAnalysis, parent: QWidget | None = None,
                 models_dir: Callable[[], Optional[str]] = lambda: None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.models_dir = models_dir
        self.card_id = card_id
        self.faces = faces
        card = doc.project.card(card_id)
        self.is_character = isinstance(card, CharacterCard)
        self.setObjectName(f"CardEditor-{card_id}")
        self.setAcceptDrops(True)
        self.setMinimumWidth(420)
        self.rows: list[ReferenceRow] = []
        self._row_keys: list[str] = []
        self._build()
        doc.cardsChanged.connect(self.sync)
        doc.imagesChanged.connect(self.sync)
        faces.analyzed.connect(self._on_analyzed)
        self.sync()
        self.resize(460, 720)

    # --- building ---------------------------------------------------------------------------------

    def _line(self, field: str, placeholder: str = "", merge: bool = True) -> QLineEdit:
        edit = QLineEdit(placeholderText=placeholder)
        if merge:
            edit.textEdited.connect(lambda text, f=field: self._set(f, text, merge=True))
        return edit

    def _path_row(self, edit: QLineEdit, field: str, title: str, flt: str) -> QWidget:
        edit.editingFinished.connect(lambda: self._set(field, edit.text().strip() or None))
        browse = QToolButton(text="…", toolTip=f"Choose the {title} file")
        browse.clicked.connect(lambda: self._browse(field, title, flt))
        clear = QToolButton(text="×", toolTip=f"No {title}")
        clear.clicked.connect(lambda: self._set(field, None))
        row = QWidget()
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(edit, 1)
        lay.addWidget(browse)
        lay.addWidget(clear)
        return row

    def _build(self) -> None:
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.textEdited.connect(lambda t: self._set("name", t, merge=True) if t.strip() else None)
        form.addRow("Name", self.name)
        if self.is_character:
            self.description = QPlainTextEdit()
            self.description.setPlaceholderText("Who this is, for you and for prompts (age, build, usual outfit)")
            self.description.setMaximumHeight(64)
            self.description.textChanged.connect(self._description_changed)
            form.addRow("Description", self.description)
            self.trigger = self._line("trigger", "word that calls the card's LoRA, e.g. aki_tnk")
            form.addRow("Trigger word", self.trigger)
            self.identity_method = QComboBox()
            for method, label in IDENTITY_METHOD_LABELS.items():
                self.identity_method.addItem(label, method.value)
            self.identity_method.setToolTip("auto: InstantID on SDXL when installed, else IP-Adapter FaceID; "
                                            "PhotoMaker (SDXL) reads several photos of the person")
            self.identity_method.activated.connect(
                lambda _: self._set("identity_method", IdentityMethod(self.identity_method.currentData())))
            form.addRow("Identity method", self.identity_method)
        else:
            self.preset = QComboBox()
            self.preset.addItem("(none)", None)
            for name in STYLE_PRESETS:
                self.preset.addItem(name, name)
            self.preset.activated.connect(lambda _: self._set("preset", self.preset.currentData()))
            form.addRow("Bundled preset", self.preset)
            self.prompt_suffix = self._line("prompt_suffix", "added to the end of each prompt")
            form.addRow("Prompt suffix", self.prompt_suffix)
            self.negative = self._line("negative_prompt", "added to the negative prompt")
            form.addRow("Negative prompt", self.negative)
            self.model = QLineEdit(placeholderText="project default")
            form.addRow("Preferred model", self._path_row(self.model, "model", "model", MODEL_FILTER))
        self.lora = QLineEdit(placeholderText="none")
        form.addRow("LoRA", self._path_row(self.lora, "lora", "LoRA", LORA_FILTER))
        self.lora_weight = QDoubleSpinBox(decimals=2, minimum=-4.0, maximum=4.0, singleStep=0.05)
        self.lora_weight.valueChanged.connect(lambda v: self._set("lora_weight", round(v, 4), merge=True))
        form.addRow("LoRA weight", self.lora_weight)
        self.model_licence = QLabel(wordWrap=True, objectName="modelLicence",
                                    textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_licence.setToolTip("The model this card's panels are generated with, and the licence of its "
                                      "weights (what you may do with the pictures)")
        form.addRow("Generated with", self.model_licence)

        self.refs_box = QWidget()
        self.refs_layout = QVBoxLayout(self.refs_box)
        self.refs_layout.setContentsMargins(0, 0, 0, 0)
        self.refs_layout.addStretch()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.refs_box)
        self.add_button = QPushButton("Add Images…", autoDefault=False)  # Return in a field only commits it
        self.add_button.clicked.connect(self.add_from_dialog)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: #8a5a00;")
        hint = QLabel("Drop image files here to add references." + (
            " Each reference's face is analysed in the background." if self.is_character else ""))
        hint.setStyleSheet("color: #666;")
        hint.setWordWrap(True)
        group = QGroupBox("Reference images")
        g = QVBoxLayout(group)
        g.addWidget(scroll, 1)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(hint, 1)
        g.addLayout(row)
        g.addWidget(self.notes)
        close = QPushButton("Close", autoDefault=False)
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(group, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)

    # --- model → widgets --------------------------------------------------------------------------

    @property
    def card(self) -> CharacterCard | StyleCard | None:
        try:
            return self.doc.project.card(self.card_id)
        except KeyError:
            return None

    @staticmethod
    def _put(edit: QLineEdit, text: str | None) -> None:
        if edit.text() != (text or ""):
            edit.setText(text or "")

    def sync(self) -> None:
        card = self.card
        if card is None:
            self.close()
            return
        kind = "Character" if self.is_character else "Style"
        self.setWindowTitle(f"{kind} card — {card.name}")
        if self.name.text().strip() or not self.name.hasFocus():  # a name being retyped is kept
            self._put(self.name, card.name)
        if self.is_character:
            if self.description.toPlainText() != card.description:
                self.description.blockSignals(True)
                self.description.setPlainText(card.description)
                self.description.blockSignals(False)
            self._put(self.trigger, card.trigger)
            self.identity_method.setCurrentIndex(max(0, self.identity_method.findData(card.identity_method.value)))
        else:
            self.preset.setCurrentIndex(max(0, self.preset.findData(card.preset)))
            self._put(self.prompt_suffix, card.prompt_suffix)
            self._put(self.negative, card.negative_prompt)
            self._put(self.model, card.model)
        self._put(self.lora, card.lora)
        self._sync_model_licence(card)
        if abs(self.lora_weight.value() - card.lora_weight) > 1e-9:
            self.lora_weight.blockSignals(True)
            self.lora_weight.setValue(card.lora_weight)
            self.lora_weight.blockSignals(False)
        self._sync_references(card.references)

    def _sync_model_licence(self, card: CharacterCard | StyleCard) -> None:
        """The model the card's panels use and its licence; a non-commercial licence stands out."""
        project_dir = self.doc.path.parent if self.doc.path else None
        key = (self.models_dir(), self.doc.project.settings.get("model"), getattr(card, "model", None), project_dir)
        if key == getattr(self, "_licence_key", None):  # the models folder is scanned only when this changes
            return
        self._licence_key = key
        line = card_model_line(self.doc.project, card, key[0], project_dir).removeprefix("Model: ")
        self.model_licence.setText(line)
        self.model_licence.setStyleSheet("color: #b00020; font-weight: bold;" if "non-commercial" in line else "")

    def _sync_references(self, refs: list[Reference]) -> None:
        keys = [r.image for r in refs]
        if keys != self._row_keys:  # added/removed/reordered: rebuild the rows
            for row in self.rows:
                self.refs_layout.removeWidget(row)
                row.deleteLater()
            self.rows = []
            images = self.doc.project.images
            for i, ref in enumerate(refs):
                row = ReferenceRow(i, images.get(ref.image, b""), ref.weight, self.is_character)
                row.image_key = ref.image
                row.weightChanged.connect(self.set_weight)
                row.facePicked.connect(self.pick_face)
                row.removeRequested.connect(self.remove_reference)
                self.refs_layout.insertWidget(i, row)
                self.rows.append(row)
            self._row_keys = keys
        for row, ref in zip(self.rows, refs):
            row.set_weight(ref.weight)
        if self.is_character:
            self.faces.request(refs)
            self._show_faces()

    def _show_faces(self) -> None:
        card = self.card
        if card is None or not self.is_character:
            return
        notes = []
        for i, (row, ref) in enumerate(zip(self.rows, card.references), 1):
            found = self.faces.faces(ref)
            row.set_faces(self.faces.status(ref), found, ref.face_index)
            if found is not None and found["count"] == 0:
                notes.append(f"Reference {i} shows no face: it adds nothing to the identity.")
            elif found is not None and found["count"] > 1:
                notes.append(f"Reference {i} shows {found['count']} faces: using face "
                             f"{min(ref.face_index, found['count'] - 1) + 1} (click another box to change).")
        if not card.references:
            notes.append("Add at least one picture of the character's face.")
        self.notes.setText("\n".join(notes))

    def _on_analyzed(self, keys: list) -> None:
        if set(keys) & set(self._row_keys):
            self._show_faces()

    # --- widgets → edits ---------------------------------------------------------------------------

    def _run(self, fn, *args, **kwargs) -> None:
        try:
            fn(self.doc, self.card_id, *args, **kwargs)
        except (ValueError, KeyError) as exc:
            self.message.emit(str(exc).strip("'\""))

    def _set(self, field: str, value, merge: bool = False) -> None:
        card = self.card
        if card is not None and getattr(card, field) != value:
            self._run(edits.update_card, merge=merge, **{field: value})

    def _description_changed(self) -> None:
        self._set("description", self.description.toPlainText(), merge=True)

    def _browse(self, field: str, title: str, flt: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Choose the {title} file", "", flt)
        if path:
            base = self.doc.path.parent if self.doc.path else None
            p = Path(path)
            if base is not None and p.is_relative_to(base):
                path = str(p.relative_to(base))
            self._set(field, path)

    def _references(self) -> list[Reference]:
        """The card's references with this session's face analysis folded in."""
        return [self.faces.with_faces(r) for r in self.card.references]

    def set_weight(self, index: int, weight: float) -> None:
        refs = self._references()
        if abs(refs[index].weight - weight) > 1e-9:
            refs[index].weight = round(float(weight), 4)
            self._run(edits.set_references, refs, merge=f"weight{index}", text="Reference Weight")

    def pick_face(self, index: int, face: int) -> None:
        refs = self._references()
        if refs[index].face_index != face:
            refs[index].face_index = int(face)
            self._run(edits.set_references, refs, text="Pick Face")

    def remove_reference(self, index: int) -> None:
        refs = self._references()
        del refs[index]
        self._run(edits.set_references, refs, text="Remove Reference")

    def add_images(self, paths: list[str]) -> None:
        images = []
        for path in paths:
            try:
                images.append(mime.load_image(path))
            except ValueError as exc:
                self.message.emit(str(exc))
        if images:
            self._run(edits.add_references, images)

    def add_from_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add reference images", "", IMAGE_FILTER)
        self.add_images(paths)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        mime.accept_image_drag(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = mime.accept_image_drop(event)
        if paths:
            self.add_images(paths)
