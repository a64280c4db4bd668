"""Consistency score: how well a generated image matches the bound characters (independent recognizer)."""

from __future__ import annotations

import copy

from PIL import Image

from engine.limits import IDENTITY_THRESHOLD

from ..images import decode_png
from ..project import CharacterCard, Panel, Project
from .faces import BUILTIN, card_embeddings


def image_identity_scores(project: Project, panel: Panel, image: Image.Image) -> list[dict]:
    """Score each bound character against the faces in ``image`` with the independent recognizer.

    Characters are matched to faces greedily, best score first, one face per character; a
    character with no face left scores 0 and is marked ``"face": False`` (not a different person:
    nobody to compare).
    """
    chars = [project.card(b.card) for b in panel.characters]
    chars = [c for c in chars if isinstance(c, CharacterCard)]
    if not chars:
        return []
    from engine import faces as face_api  # numpy and the recognizer: imported on first use

    found = face_api.analyze(image, backend=face_api.builtin_backend())
    table = []
    for card in chars:
        embs, weights, _ = card_embeddings(project, card, BUILTIN)
        row = [face_api.identity_score(embs, f.embedding, weights) if embs else 0.0 for f in found]
        table.append(row)
    scores = {c.id: 0.0 for c in chars}
    used_faces: set[int] = set()
    pairs = sorted(((s, ci, fi) for ci, row in enumerate(table) for fi, s in enumerate(row)), reverse=True)
    done: set[int] = set()
    for s, ci, fi in pairs:
        if ci in done or fi in used_faces:
            continue
        scores[chars[ci].id] = round(float(s), 4)
        done.add(ci)
        used_faces.add(fi)
    matched = {chars[ci].id for ci in done}
    return [{"card": cid, "score": s, "face": cid in matched} for cid, s in scores.items()]


def scoring_snapshot(project: Project, panel: Panel) -> tuple[Project, Panel] | None:
    """What :func:`image_identity_scores` needs for ``panel``, as a small picklable copy.

    The copy holds the bound character cards (with their cached analysis) and only the images of
    references not analysed yet; None when no character card is bound.
    """
    cards: dict[str, CharacterCard] = {}
    for binding in panel.characters:
        try:
            card = project.card(binding.card)
        except KeyError:
            continue
        if isinstance(card, CharacterCard):
            cards[card.id] = copy.deepcopy(card)
    if not cards:
        return None
    images = {r.image: project.images[r.image] for c in cards.values() for r in c.references
              if BUILTIN not in r.faces and r.image in project.images}
    bindings = [copy.deepcopy(b) for b in panel.characters if b.card in cards]
    return Project(characters=list(cards.values()), images=images), Panel(id=panel.id, points=[], characters=bindings)


def score_images(project: Project, panel: Panel, images: list[Image.Image]) -> list[list[dict]]:
    """:func:`image_identity_scores` of each image (for a helper process: no document access)."""
    return [image_identity_scores(project, panel, image.convert("RGB")) for image in images]


def panel_identity_scores(project: Project, panel: Panel) -> list[dict]:
    """Consistency of a panel's current image: cached in its variant when scored at generation."""
    variant = panel.current_variant()
    if variant is None or not panel.characters:
        return []
    cached = variant.params.get("identity")
    bound = sorted(b.card for b in panel.characters)
    if cached and sorted(c["card"] for c in cached) == bound:
        return cached
    image = decode_png(project.images[variant.image]).convert("RGB")
    return image_identity_scores(project, panel, image)


def flagged(scores: list[dict], threshold: float = IDENTITY_THRESHOLD) -> list[str]:
    """Cards whose score is below the threshold."""
    return [s["card"] for s in scores if s["score"] < threshold]
