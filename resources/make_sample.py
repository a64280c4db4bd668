"""Build resources/sample.comic, the project a new user sees first.

Public-domain pictures bundled with scikit-image (NASA's astronaut Eileen Collins, a rocket launch,
the Hubble deep field, the moon, a cup of coffee, Chelsea the cat) stand in for generated panels.
Everything is made through app.edits, as a user would. Run: ``.venv/bin/python resources/make_sample.py``.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from app import edits, layout  # noqa: E402
from app.document import Document  # noqa: E402
from app.project import BalloonKind, Placement, Rect  # noqa: E402
from app.project_io import save_project  # noqa: E402

MAX_SIDE = 400


def _png(image: Image.Image, max_side: int = MAX_SIDE) -> bytes:
    image = image.convert("RGB")
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _pictures() -> dict[str, Image.Image]:
    from skimage import data

    return {name: Image.fromarray(getattr(data, name)()) for name in
            ("astronaut", "rocket", "hubble_deep_field", "moon", "coffee", "chelsea")}


def _identity(doc: Document, panel_id: str, image: bytes) -> dict:
    """The panel's consistency scores for ``image``, stored with its variant as generation stores them
    (and the references' face analysis cached in the document): opening the sample starts no face job."""
    import copy

    from app.identity.consistency_scores import _score_job
    from app.identity.face_analysis import BACKEND
    from app.images import image_key
    from app.project import Project, Variant

    project = doc.project
    panel = copy.deepcopy(project.find_panel(panel_id)[1])
    key = image_key(image)
    panel.variants.append(Variant(id="scoring", image=key, kind="import"))
    panel.current = "scoring"
    cards = [copy.deepcopy(project.card(b.card)) for b in panel.characters if b.card in {c.id for c in project.characters}]
    images = {r.image: project.images[r.image] for c in cards for r in c.references} | {key: image}
    scores, fresh = _score_job(Project(characters=cards, images=images), panel)
    doc.cache_face_analysis({BACKEND: fresh})
    return {"identity": scores}


def build() -> Document:
    pics = _pictures()
    doc = Document()
    page1 = edits.add_page(doc, layout.PAGE_SIZES["A4"], "grid-2x3")
    page2 = edits.add_page(doc, layout.PAGE_SIZES["A4"], "manga-5")
    edits.set_project_attrs(doc, title="Moonshot (sample)", dpi=300)

    astronaut = _png(pics["astronaut"])
    face = _png(pics["astronaut"].crop((140, 20, 340, 220)), 200)
    hero = edits.add_card(doc, "character", "Eileen", [astronaut, face],
                          description="astronaut in an orange flight suit, short light-brown hair",
                          trigger="eileen")
    style = edits.add_card(doc, "style", "Press photo", [_png(pics["rocket"], 256)],
                           prompt_suffix="documentary photograph, film grain",
                           negative_prompt="cartoon, painting")

    panels = [p.id for p in doc.project.page(page1).panels]
    shots = [
        ("rocket", "night launch pad, a rocket lit by floodlights", None),
        ("astronaut", "portrait of the astronaut before the flight", hero),
        ("hubble_deep_field", "deep space full of galaxies", None),
        ("moon", "the moon, grey and cratered, seen from orbit", None),
        ("coffee", "a cup of coffee on a saucer, back home", None),
        ("chelsea", "a tabby cat waiting at the window", None),
    ]
    for panel_id, (name, prompt, card) in zip(panels, shots):
        edits.set_panel_fields(doc, panel_id, prompt=prompt, seed=1234)
        edits.bind_card(doc, panel_id, style, 100)
        if card:
            edits.bind_card(doc, panel_id, card, 100)
        image = astronaut if name == "astronaut" else _png(pics[name])
        edits.add_variant(doc, panel_id, image, kind="import", prompt=prompt,
                          params=_identity(doc, panel_id, image) if card else None)
    edits.set_placement(doc, panels[3], Placement(scale=1.4))

    edits.add_balloon(doc, page1, BalloonKind.CAPTION, Rect(14, 14, 60, 12), "Cape Canaveral, 4:12 a.m.")
    edits.add_balloon(doc, page1, BalloonKind.SPEECH, Rect(109, 62, 44, 24),
                      "Whatever happens up there, feed the cat.", tail=(146, 44))
    edits.add_balloon(doc, page1, BalloonKind.SHOUT, Rect(20, 110, 50, 28), "LIFT-OFF!", tail=(30, 150))
    edits.add_balloon(doc, page1, BalloonKind.THOUGHT, Rect(130, 200, 58, 26), "Is someone watching the stove?",
                      tail=(150, 240))

    p2 = [p.id for p in doc.project.page(page2).panels]
    edits.set_panel_fields(doc, p2[0], prompt="the capsule drifting above the moon, earthrise")
    edits.add_variant(doc, p2[0], _png(pics["moon"]), kind="import")
    edits.set_placement(doc, p2[0], Placement(offset_y=-10, scale=1.0))
    edits.bind_card(doc, p2[1], hero, 80)
    edits.set_panel_fields(doc, p2[1], prompt="eileen floating in the cabin, smiling")
    edits.add_balloon(doc, page2, BalloonKind.CAPTION, Rect(14, 14, 70, 12), "Day three. Empty frames wait for you.")
    return doc


def main() -> int:
    out = ROOT / "resources" / "sample.comic"
    doc = build()
    save_project(doc.project, out, backup=False)
    print(f"{out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
