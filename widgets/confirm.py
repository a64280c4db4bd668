"""Questions asked before an edit drops work: what would be lost, in words."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app.project import Page


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def panel_work(page: Page) -> str:
    """The prompts and images on a page's panels, e.g. ``2 prompts and 3 images``; "" when none."""
    prompts = sum(1 for p in page.panels if p.prompt.strip())
    images = sum(len(p.variants) for p in page.panels)
    parts = [_count(n, w) for n, w in ((prompts, "prompt"), (images, "image")) if n]
    return " and ".join(parts)


def page_work(page: Page) -> str:
    """Everything on a page a person made: prompts, images and balloons; "" for an untouched page."""
    parts = [panel_work(page)] + ([_count(len(page.balloons), "balloon")] if page.balloons else [])
    return " and ".join(p for p in parts if p)


def ask(parent: QWidget, title: str, text: str, action: str) -> bool:
    """A yes/no question whose yes button names the action; No is the default."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    yes = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is yes
