"""Screenshot of the identity tools: Consistency dock, score badges, a character region, card editor.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshot_identity.py [OUT_DIR]

The sample project gets a character card from scikit-image's public-domain astronaut photo (plus
a picture with two faces, to show the face picker) and two panels: the astronaut mirrored (scores
high) and the cameraman (a different person: flagged).
"""

from __future__ import annotations

import sys

from shot_setup import isolated_app, sample_window  # first: puts the repository on sys.path

from PIL import Image, ImageOps
from PySide6.QtCore import QTimer
from skimage import data as skdata

from app import edits
from app.identity import conditions


def main() -> int:
    app, out_dir = isolated_app()
    window = sample_window()
    state: dict = {}

    def pose() -> None:
        doc, ui = window.doc, window.identity
        astronaut = Image.fromarray(skdata.astronaut())
        camera = Image.fromarray(skdata.camera()).convert("RGB")
        pair = Image.new("RGB", (1024, 512))
        pair.paste(astronaut, (0, 0))
        pair.paste(camera.resize((512, 512)), (512, 0))
        card = edits.add_card(doc, "character", "Eileen Collins", [astronaut, pair.resize((512, 256))])
        state["card"] = card
        panels = window.view.page_scene.page.panels_in_reading_order()
        first, second = panels[0], panels[1]
        edits.bind_card(doc, first.id, card, 60)
        edits.add_variant(doc, first.id, ImageOps.mirror(astronaut).resize((448, 448)), seed=7)
        edits.bind_card(doc, second.id, card, 60)
        edits.add_variant(doc, second.id, camera.resize((448, 448)), seed=8)
        edits.set_binding_region(doc, first.id, card, conditions.REGION_PRESETS["Left half"])
        window.cards_dock.add_style_preset("manga-ink")
        ui.dock.raise_()
        window.view.fit_page()
        ui.canvas.select_binding(first.id, card)
        editor = ui.edit_card(card)
        editor.move(0, 100)
        editor.resize(430, 880)
        state["editor"] = editor

    def pick() -> None:
        editor = state["editor"]
        window.identity.wait(20000)
        app.processEvents()
        editor.pick_face(1, 0)  # the astronaut is face 1 of the pair (already the default)

    def grab() -> None:
        window.identity.wait(20000)
        app.processEvents()
        screen = app.primaryScreen()
        screen.grabWindow(0).save(str(out_dir / "screenshot-identity.png"))
        print(out_dir / "screenshot-identity.png")
        window.doc.undo_stack.setClean()
        app.quit()

    QTimer.singleShot(500, pose)
    QTimer.singleShot(3500, pick)
    QTimer.singleShot(6000, grab)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
