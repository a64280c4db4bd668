"""Training dock and dialog: train a character card's LoRA in the background, with a loss plot."""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QDockWidget, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from app.training_job import CardTrainer

from .loss_plot import LossPlot


class TrainDialog(QDialog):
    """Steps, rank, learning rate and "resume from the last checkpoint" for one card."""

    def __init__(self, card_name: str, can_resume: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Train LoRA — {card_name}")
        self.steps = QSpinBox(minimum=1, maximum=100000, value=800)
        self.rank = QSpinBox(minimum=1, maximum=256, value=16)
        self.lr = QDoubleSpinBox(decimals=6, minimum=0.000001, maximum=0.5, singleStep=0.00005, value=0.0001)
        self.checkpoint = QSpinBox(minimum=0, maximum=100000, value=100, specialValueText="never")
        self.resume = QCheckBox("Resume from the last checkpoint")
        self.resume.setEnabled(can_resume)
        self.resume.setChecked(can_resume)
        form = QFormLayout()
        form.addRow("Steps", self.steps)
        form.addRow("Rank", self.rank)
        form.addRow("Learning rate", self.lr)
        form.addRow("Checkpoint every", self.checkpoint)
        form.addRow("", self.resume)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Train")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Training runs in the background; the LoRA is attached to the card when done."))
        layout.addWidget(buttons)

    def options(self) -> dict:
        return {"steps": self.steps.value(), "rank": self.rank.value(), "learning_rate": self.lr.value(),
                "checkpoint_every": self.checkpoint.value(), "resume": self.resume.isChecked()}


class TrainingDock(QDockWidget):
    def __init__(self, trainer: CardTrainer, parent: QWidget | None = None) -> None:
        super().__init__("Training", parent)
        self.setObjectName("TrainingDock")
        self.trainer = trainer
        self.status = QLabel("No LoRA training running. Use Characters ▸ Train LoRA… on a character card.")
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setMaximumHeight(14)
        self.loss = QLabel()
        self.plot = LossPlot()
        self.cancel = QPushButton("Cancel", toolTip="Stop training (a checkpoint is kept to resume from)")
        self.cancel.clicked.connect(trainer.cancel)
        self.cancel.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.loss, 1)
        row.addWidget(self.cancel)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.status)
        layout.addWidget(self.bar)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        self.setWidget(body)
        trainer.started.connect(self._started)
        trainer.stepped.connect(self._stepped)
        trainer.finished.connect(self._finished)
        trainer.failed.connect(lambda text: self._ended(f"Training failed: {text}"))
        trainer.cancelled.connect(lambda: self._ended("Training cancelled; resume it from Train LoRA…"))

    def _card_name(self) -> str:
        try:
            return self.trainer.doc.project.card(self.trainer.card_id).name
        except KeyError:
            return self.trainer.card_id

    def _started(self, card_id: str) -> None:
        self.status.setText(f"Training a LoRA for {self._card_name()}…")
        self.bar.setRange(0, max(self.trainer.total, 1))
        self.bar.setValue(0)
        self.plot.set_values([], self.trainer.total)
        self.loss.setText("loading the base model…")
        self.cancel.setEnabled(True)
        self.show()
        self.raise_()

    def _stepped(self, step: int, total: int, loss: float) -> None:
        self.bar.setRange(0, total)
        self.bar.setValue(step)
        self.loss.setText(f"step {step}/{total} · loss {loss:.4f}")
        self.plot.set_values(self.trainer.losses, total)

    def _finished(self, result) -> None:
        self._ended(f"LoRA for {self._card_name()} saved and attached: {result.lora_path}")

    def _ended(self, text: str) -> None:
        self.status.setText(text)
        self.cancel.setEnabled(False)
