"""Panel ▸ Animate…: the dialog that asks for a loop's frames, speed, first-frame continuity and seed.

The controller (:class:`widgets.generation.controller.GenerationController`) opens it for the selected
panel and queues one ANIMATE job with its :class:`AnimateOptions`, like the command line's ``animate``.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout,
                               QWidget)

from app.limits import MAX_LOOP_FPS

RANDOM_SEED = -1  # the seed box's "random" value
MAX_SEED = 2**31 - 1  # a QSpinBox holds a signed 32-bit int


@dataclasses.dataclass(frozen=True)
class AnimateOptions:
    """What one Animate asks for (the defaults are the command line's)."""

    frames: int = 16
    fps: int = 8
    continuity: bool = False  # start from the panel's current image (first-frame continuity)
    seed: int | None = None  # None: a new random seed

    def fields(self) -> dict:
        """Request fields over the panel's and the project's settings."""
        return {"frames": self.frames, "fps": self.fps, "seed": self.seed}


class AnimateDialog(QDialog):
    """Frames, fps, "continue from the current image" and seed for one panel's loop."""

    def __init__(self, panel_label: str, has_image: bool, last: AnimateOptions, parent: QWidget | None = None) -> None:
        from engine.jobs import MAX_FRAMES  # the engine's job types load when the dialog first opens

        super().__init__(parent)
        self.setObjectName("AnimateDialog")
        self.setWindowTitle(f"Animate {panel_label}")
        self.frames = QSpinBox(minimum=2, maximum=MAX_FRAMES, value=last.frames, suffix=" frames",
                               toolTip="Frames in the loop (AnimateDiff works best with 16 to 32)")
        self.fps = QSpinBox(minimum=1, maximum=MAX_LOOP_FPS, value=last.fps, suffix=" fps",
                            toolTip="Playback speed, stored with the loop")
        self.continuity = QCheckBox("Continue from the current image",
                                    toolTip="Start every frame from the panel's image, so the loop grows out of "
                                            "the picture already there (first-frame continuity)")
        self.continuity.setChecked(last.continuity and has_image)
        self.continuity.setEnabled(has_image)
        if not has_image:
            self.continuity.setToolTip("The panel has no image yet: the loop starts from the prompt")
        self.seed = QSpinBox(minimum=RANDOM_SEED, maximum=MAX_SEED, specialValueText="random",
                             toolTip="The same seed, prompt and settings give the same loop")
        self.seed.setValue(RANDOM_SEED if last.seed is None else min(last.seed, MAX_SEED))
        self.length = QLabel()
        self.length.setObjectName("LoopLength")
        for box in (self.frames, self.fps):
            box.valueChanged.connect(self._show_length)
        form = QFormLayout()
        form.addRow("Frames", self.frames)
        form.addRow("Speed", self.fps)
        form.addRow("", self.length)
        form.addRow("", self.continuity)
        form.addRow("Seed", self.seed)
        note = QLabel("The loop is generated from the panel's prompt, cards and style with the AnimateDiff "
                      "motion adapter in the models folder's motion_adapters/. It becomes a new variant in "
                      "History; print exports keep its still frame.")
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(placeholder-text);")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Animate")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(note)
        column.addWidget(self.buttons)
        self.setMinimumWidth(380)
        self._show_length()

    def _show_length(self) -> None:
        self.length.setText(f"a {self.frames.value() / self.fps.value():.1f} s loop")

    def options(self) -> AnimateOptions:
        seed = self.seed.value()
        return AnimateOptions(self.frames.value(), self.fps.value(),
                              self.continuity.isChecked() and self.continuity.isEnabled(),
                              None if seed == RANDOM_SEED else seed)
