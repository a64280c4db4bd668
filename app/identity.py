"""Character and style cards → engine conditioning, cached face analysis, consistency scores.

Face analysis of each reference image is cached in the project (``Reference.faces``, keyed by
backend: ``"insightface"`` for the ArcFace embedding that conditions generation, ``"builtin"`` for
the independent dlib descriptor the consistency score uses). A reference is stored by content
hash, so a changed reference is a new key and its cache can never be stale.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from engine import faces as face_api
from engine.conditioning import CharacterCondition, LoraRef, StyleCondition, resolve_regions

from . import edits
from .document import Document
from .images import decode_png
from .model import CharacterCard, Panel, Project, Reference, StyleCard

BUILTIN = "builtin"
INSIGHTFACE = "insightface"
IDENTITY_THRESHOLD = face_api.IDENTITY_THRESHOLD


@dataclass
class FaceCache:
    """What one backend found on one reference image (JSON-friendly)."""

    count: int
    faces: list[dict] = field(default_factory=list)  # bbox, kps, det_score, embedding (list)

    @staticmethod
    def from_faces(found: list) -> "FaceCache":
        return FaceCache(len(found), [{"bbox": [float(v) for v in f.bbox],
                                       "kps": [[float(x), float(y)] for x, y in f.kps_array],
                                       "det_score": float(f.det_score),
                                       "embedding": [float(v) for v in np.asarray(f.embedding).ravel()]}
                                      for f in found])


def _analyze(project: Project, ref: Reference, backend: str, models_dir: str | Path | None) -> FaceCache:
    image = decode_png(project.images[ref.image]).convert("RGB")
    if backend == BUILTIN:
        found = face_api.analyze(image, backend=face_api.builtin_backend())
    else:
        found = face_api.analyze(image, backend=face_api.insightface_backend(models_dir))
    return FaceCache.from_faces(found)


def reference_faces(project: Project, ref: Reference, backend: str,
                    models_dir: str | Path | None = None) -> FaceCache:
    """Cached analysis of a reference, computed now (not stored) when the cache lacks it."""
    cached = ref.faces.get(backend)
    if cached is not None:
        return FaceCache(**cached)
    return _analyze(project, ref, backend, models_dir)


def analyze_images(images: dict[str, bytes], backend: str = BUILTIN,
                   models_dir: str | Path | None = None) -> dict[str, dict]:
    """Face analysis of PNG images by key (no document access: safe off the GUI thread)."""
    project = Project(images=images)
    return {key: vars(_analyze(project, Reference(image=key), backend, models_dir)) for key in images}


def missing_analysis(project: Project, card_id: str, backend: str = BUILTIN) -> dict[str, bytes]:
    """The card's reference images (key → PNG) not yet analysed by ``backend``."""
    card = project.card(card_id)
    return {r.image: project.images[r.image] for r in card.references if backend not in r.faces}


def store_faces(doc: Document, card_id: str, found: dict[str, dict], backend: str = BUILTIN) -> bool:
    """Put analysis results (image key → FaceCache dict) into the card's references (one undo step).

    References that already have them, or whose image is no longer on the card, are left alone;
    returns whether anything was stored.
    """
    return store_analysis(doc, card_id, {backend: found})


def store_analysis(doc: Document, card_id: str, found: dict[str, dict[str, dict]]) -> bool:
    """:func:`store_faces` for several backends at once (backend → image key → FaceCache dict)."""
    try:
        card = doc.project.card(card_id)
    except KeyError:
        return False
    refs = copy.deepcopy(card.references)
    changed = False
    for ref in refs:
        for backend, results in found.items():
            if backend not in ref.faces and ref.image in results:
                ref.faces[backend] = copy.deepcopy(results[ref.image])
                changed = True
    if changed:
        edits.set_references(doc, card_id, refs, text="Analyse Faces")
    return changed


def analyze_backends(images: dict[str, dict[str, bytes]],
                     models_dir: str | Path | None = None) -> dict[str, dict[str, dict]]:
    """:func:`analyze_images` for several backends (backend → image key → PNG): plain data in and out."""
    return {backend: analyze_images(pngs, backend, models_dir) for backend, pngs in images.items() if pngs}


def face_notes(card: CharacterCard | StyleCard, backend: str = BUILTIN) -> list[str]:
    """User-facing notes about analysed references with no face or several faces."""
    notes = []
    for i, ref in enumerate(card.references, 1):
        cache = ref.faces.get(backend)
        if cache is None:
            continue
        count = cache["count"]
        if count == 0:
            notes.append(f"{card.name}: reference {i} shows no face")
        elif count > 1:
            notes.append(f"{card.name}: reference {i} shows {count} faces; using face {ref.face_index + 1} "
                         "(pick another in the card's references)")
    return notes


def face_status(ref: Reference, backend: str = BUILTIN) -> str:
    """Short status of one reference: "analysing…", "no face", "1 face" or "3 faces — pick one"."""
    cache = ref.faces.get(backend)
    if cache is None:
        return "analysing…"
    count = cache["count"]
    if count == 0:
        return "no face"
    if count == 1:
        return "1 face"
    return f"{count} faces — pick one"


def cache_card_faces(doc: Document, card_id: str, backends: tuple[str, ...] = (BUILTIN,),
                     models_dir: str | Path | None = None) -> list[str]:
    """Analyse a card's references once and store the result in the project (one undo step).

    Returns user-facing notes: references with no face or several faces.
    """
    card = doc.project.card(card_id)
    refs = copy.deepcopy(card.references)
    changed = False
    for ref in refs:
        for backend in backends:
            if backend not in ref.faces:
                ref.faces[backend] = vars(_analyze(doc.project, ref, backend, models_dir))
                changed = True
    if changed:
        edits.set_references(doc, card_id, refs)
    return face_notes(doc.project.card(card_id), backends[0])


def _ref_face(cache: FaceCache, ref: Reference) -> dict | None:
    if not cache.faces:
        return None
    return cache.faces[min(ref.face_index, len(cache.faces) - 1)]


def card_embeddings(project: Project, card: CharacterCard, backend: str,
                    models_dir: str | Path | None = None) -> tuple[list[np.ndarray], list[float], list[dict]]:
    """Embeddings (with reference weights and the faces) of a card's references that show a face."""
    embs, weights, found = [], [], []
    for ref in card.references:
        face = _ref_face(reference_faces(project, ref, backend, models_dir), ref)
        if face is not None:
            embs.append(np.asarray(face["embedding"], dtype=np.float32))
            weights.append(ref.weight)
            found.append(face)
    return embs, weights, found


def _lora(project_dir: Path | None, path: str | None, weight: float) -> LoraRef | None:
    if not path:
        return None
    p = Path(path)
    if not p.is_absolute() and project_dir is not None:
        p = project_dir / p
    return LoraRef(p, weight)


#: Region presets offered on a character's badge: (x, y, w, h) as fractions of the panel box.
REGION_PRESETS: dict[str, list[float] | None] = {
    "Whole panel": None,
    "Left half": [0.0, 0.0, 0.5, 1.0],
    "Right half": [0.5, 0.0, 0.5, 1.0],
    "Top half": [0.0, 0.0, 1.0, 0.5],
    "Bottom half": [0.0, 0.5, 1.0, 0.5],
}
MASK_LONG_SIDE = 1024


def mask_size(panel: Panel, long_side: int = MASK_LONG_SIDE) -> tuple[int, int]:
    """A (w, h) canvas with the panel's aspect ratio (the engine resizes masks to the output)."""
    box = panel.bbox
    if box.w >= box.h:
        return long_side, max(8, round(long_side * box.h / max(box.w, 1e-6)))
    return max(8, round(long_side * box.w / max(box.h, 1e-6))), long_side


def region_mask(region: list[float], size: tuple[int, int]) -> Image.Image:
    """An 'L' mask of ``size`` that is white inside the fractional region."""
    w, h = size
    x, y, rw, rh = region
    mask = Image.new("L", size, 0)
    box = (round(x * w), round(y * h), round((x + rw) * w), round((y + rh) * h))
    mask.paste(255, (box[0], box[1], max(box[2], box[0] + 1), max(box[3], box[1] + 1)))
    return mask


def binding_masks(regions: list[list[float] | None], size: tuple[int, int]) -> list[Image.Image | None]:
    """Masks for the characters of one panel: none for a lone character without a region;
    otherwise non-overlapping masks, the characters without a region sharing the rest in halves
    (as the engine's ``default_halves``/``resolve_regions`` do)."""
    if len(regions) == 1 and regions[0] is None:
        return [None]
    user = [None if r is None else region_mask(r, size) for r in regions]
    masks = resolve_regions(user, size)
    return [Image.fromarray((m * 255).astype(np.uint8), "L") for m in masks]


def character_conditions(project: Project, panel: Panel, models_dir: str | Path | None,
                         project_dir: Path | None = None, overrides: dict | None = None,
                         size: tuple[int, int] | None = None) -> tuple[list[CharacterCondition], list[str]]:
    """Conditioning for each character bound to a panel, plus notes for the user.

    Identity needs the ArcFace embedding of an insightface pack. Without one, a card still
    contributes its LoRA and trigger word, and a note says what to install. ``overrides`` may
    carry ``identity_strength`` (the Consistency dock's "regenerate with stronger identity");
    each character's region (its binding's, or a panel half when two share the panel) becomes a
    mask of ``size`` (default: the panel's aspect ratio, 1024 px on the long side).
    """
    conditions: list[CharacterCondition] = []
    regions: list[list[float] | None] = []
    notes: list[str] = []
    strength = float((overrides or {}).get("identity_strength") or 1.0)
    pack = face_api.find_pack(models_dir) if models_dir else None
    for binding in panel.characters:
        card = project.card(binding.card)
        if not isinstance(card, CharacterCard):
            continue
        lora = _lora(project_dir, card.lora, card.lora_weight)
        if pack is None:
            notes.append(f"{card.name}: no face model pack, so identity comes only from the card's "
                         f"LoRA and trigger word. {face_api.missing_pack_message(models_dir or '<models>')}")
            continue
        embs, weights, found = card_embeddings(project, card, INSIGHTFACE, models_dir)
        if not embs:
            notes.append(f"{card.name}: none of the card's references shows a face")
            continue
        refs = [decode_png(project.images[r.image]).convert("RGB") for r in card.references]
        conditions.append(CharacterCondition.from_references(
            card.id, embs, weights, cw=binding.weight,
            face_kps=np.asarray(found[0]["kps"], dtype=np.float32),
            kps_size=decode_png(project.images[card.references[0].image]).size,
            reference_images=refs, reference_weights=[r.weight for r in card.references], lora=lora,
            identity_strength=strength))
        regions.append(binding.region)
    if conditions:
        for condition, mask in zip(conditions, binding_masks(regions, size or mask_size(panel))):
            condition.region = mask
    return conditions, notes


def style_conditions(project: Project, panel: Panel, project_dir: Path | None = None) -> list[StyleCondition]:
    out = []
    for binding in panel.styles:
        card = project.card(binding.card)
        if not isinstance(card, StyleCard) or binding.weight == 0:
            continue
        refs = [decode_png(project.images[r.image]).convert("RGB") for r in card.references]
        lora = _lora(project_dir, card.lora, card.lora_weight)
        if refs or lora:
            out.append(StyleCondition(card.id, refs, sw=binding.weight, lora=lora))
    return out


def with_prompt_weights(panel: Panel, cw: int | None, sw: int | None) -> Panel:
    """A copy of ``panel`` whose bound cards take ``--cw``/``--sw`` from its prompt (the document is untouched)."""
    if cw is None and sw is None:
        return panel
    panel = copy.deepcopy(panel)
    for binding in panel.characters if cw is not None else []:
        binding.weight = cw
    for binding in panel.styles if sw is not None else []:
        binding.weight = sw
    return panel


def _read_reference_files(refs: list, base_dir: Path | None) -> list[tuple[Image.Image, float]]:
    out = []
    for ref in refs:
        if "://" in ref.ref:
            raise ValueError(f"{ref.ref}: Panelsmith works offline; save the image and give its path")
        path = Path(ref.ref).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            with Image.open(path) as img:
                out.append((img.convert("RGB"), ref.weight))
        except FileNotFoundError:
            raise ValueError(f"reference image {path} does not exist") from None
        except OSError as exc:
            raise ValueError(f"cannot read reference image {path}: {' '.join(str(exc).split())}") from None
    return out


def prompt_reference_conditions(flags, models_dir: str | Path | None, base_dir: Path | None
                                ) -> tuple[list[CharacterCondition | StyleCondition], list[str]]:
    """Conditions for image paths given in the prompt: ``--cref/--oref IMG::W`` and ``--sref IMG::W``.

    They act like an unsaved character or style card (weights ``--cw/--ow`` and ``--sw``).
    """
    conditions: list[CharacterCondition | StyleCondition] = []
    notes: list[str] = []
    if flags.sref:
        refs = _read_reference_files(flags.sref, base_dir)
        sw = 100 if flags.sw is None else flags.sw
        if sw:
            conditions.append(StyleCondition("prompt-sref", [img for img, _ in refs], sw=sw))
    if flags.character_refs:
        refs = _read_reference_files(flags.character_refs, base_dir)
        if not (models_dir and face_api.find_pack(models_dir)):
            notes.append("--cref needs a face model pack: " + face_api.missing_pack_message(models_dir or "<models>"))
            return conditions, notes
        backend = face_api.insightface_backend(models_dir)
        embs, weights, first = [], [], None
        for img, weight in refs:
            found = face_api.analyze(img, backend=backend)
            if not found:
                notes.append("a --cref image shows no face")
                continue
            embs.append(np.asarray(found[0].embedding, dtype=np.float32))
            weights.append(weight)
            first = first or (found[0], img.size)
        if embs:
            cw = flags.character_weight
            conditions.append(CharacterCondition.from_references(
                "prompt-cref", embs, weights, cw=100 if cw is None else cw,
                face_kps=np.asarray(first[0].kps_array, dtype=np.float32), kps_size=first[1],
                reference_images=[img for img, _ in refs], reference_weights=[w for _, w in refs]))
    return conditions, notes


def trigger_words(project: Project, panel: Panel) -> list[str]:
    """Trigger words of bound characters that have a LoRA (added to the prompt)."""
    words = []
    for binding in panel.characters:
        card = project.card(binding.card)
        if isinstance(card, CharacterCard) and card.lora and card.trigger:
            words.append(card.trigger)
    return words


# --- consistency score -----------------------------------------------------------------------------

def image_identity_scores(project: Project, panel: Panel, image: Image.Image) -> list[dict]:
    """Score each bound character against the faces in ``image`` with the independent recognizer.

    Characters are matched to faces greedily, best score first, one face per character; a
    character with no face left scores 0.
    """
    chars = [project.card(b.card) for b in panel.characters]
    chars = [c for c in chars if isinstance(c, CharacterCard)]
    if not chars:
        return []
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
    return [{"card": cid, "score": s} for cid, s in scores.items()]


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
