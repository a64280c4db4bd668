"""The card library's pictures: decoded off the GUI thread after the canvas's first frame, initials meanwhile."""

from __future__ import annotations

import threading

from PIL import Image
from PySide6.QtCore import QSize

from app import edits
from app.document import Document
from widgets import thumbnails
from widgets.docks.cards import CARD_ICON_PX
from widgets.main_window import MainWindow

from .helpers_window import record_paints


def test_card_pictures_are_drawn_after_the_first_frame_off_the_gui_thread(qtbot, monkeypatch):
    doc = Document()
    card_id = edits.add_card(doc, "character", "Ada", [Image.new("RGB", (120, 80), (200, 30, 30))])
    doc.undo_stack.setClean()
    key = doc.project.card(card_id).references[0].image
    expected = thumbnails.image_icon(doc.project, key, CARD_ICON_PX).toImage()
    order: list[str] = []
    real = thumbnails.square_image

    def spy(png, size, key=None):
        order.append("icon" if threading.current_thread() is not threading.main_thread() else "icon on GUI thread")
        return real(png, size, key)
    monkeypatch.setattr(thumbnails, "square_image", spy)

    win = MainWindow(doc)
    qtbot.addWidget(win, before_close_func=lambda w: w.doc.undo_stack.setClean())
    record_paints(win.view.viewport(), order)
    item = win.cards_dock.lists["character"].item(0)
    initials = item.icon().pixmap(QSize(CARD_ICON_PX, CARD_ICON_PX)).toImage()
    win.show()
    qtbot.waitExposed(win)

    def shows_picture() -> bool:
        got = win.cards_dock.lists["character"].item(0).icon().pixmap(QSize(CARD_ICON_PX, CARD_ICON_PX)).toImage()
        return got == expected
    qtbot.waitUntil(shows_picture, timeout=20_000)
    assert initials != expected  # the initials tile first
    assert "icon on GUI thread" not in order
    assert order.index("paint") < order.index("icon")
    win.cards_dock.icons.wait()
