"""Character and style cards (and ``--cref/--sref`` in a prompt) -> the engine's conditions."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from engine.jobs import EngineError, LoraConditioning

from ..images import decode_png, encode_png, open_image
from ..project import CharacterCard, Panel, Project, StyleCard
from ..safe_paths import default_models_dir, resolve_named
from .faces import BUILTIN, INSIGHTFACE, card_embeddings

if TYPE_CHECKING:  # numpy and the engine's conditions are imported where a job is built, not at window start
    from engine.conditioning import CharacterCondition, CharacterReference, LoraRef, StyleCondition


def _lora(project_dir: Path | None, path: str | None, weight: float,
          models_dir: str | Path | None = None) -> LoraRef | None:
    """A card's LoRA, confined to the project's folder and the models folder (app.safe_paths)."""
    from engine.conditioning import LoraRef

    if not path:
        return None
    p = resolve_named(path, project_dir, models_dir or default_models_dir(), models_subfolders=("loras",))
    if p.exists() and not (p.is_file() or p.is_dir()):  # a FIFO or device would block the loader forever
        raise ValueError(f"LoRA {path} is not a regular file")
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
    import numpy as np

    from engine.conditioning import resolve_regions

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
    import numpy as np

    from engine import faces as face_api
    from engine.conditioning import CharacterCondition

    conditions: list[CharacterCondition] = []
    regions: list[list[float] | None] = []
    notes: list[str] = []
    strength = float((overrides or {}).get("identity_strength") or 1.0)
    pack = face_api.find_pack(models_dir) if models_dir else None
    for binding in panel.characters:
        card = project.card(binding.card)
        if not isinstance(card, CharacterCard):
            continue
        lora = _lora(project_dir, card.lora, card.lora_weight, models_dir)
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
            identity_strength=strength, method=card.identity_method.value, name=card.name))
        regions.append(binding.region)
    if conditions:
        for condition, mask in zip(conditions, binding_masks(regions, size or mask_size(panel))):
            condition.region = mask
    return conditions, notes


FACE_MARGIN = 0.4  # a face crop keeps this much of the face box's size around it, on each side


def face_crop(image: Image.Image, bbox: list[float], margin: float = FACE_MARGIN) -> Image.Image:
    """A square crop around a face box (x0, y0, x1, y1), grown by ``margin`` and kept inside the image."""
    x0, y0, x1, y1 = bbox
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    side = min(side, image.width, image.height)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = min(max(0.0, cx - side / 2), image.width - side)
    top = min(max(0.0, cy - side / 2), image.height - side)
    return image.crop((round(left), round(top), round(left + side), round(top + side)))


def card_face_crop(project: Project, card: CharacterCard) -> Image.Image | None:
    """The card's chosen face crop: the chosen face of its highest-weighted reference that shows one
    (from the cached built-in face analysis); None when none does."""
    for ref in sorted(card.references, key=lambda r: -r.weight):
        cache = ref.faces.get(BUILTIN)
        if cache and cache["faces"]:
            face = cache["faces"][min(ref.face_index, len(cache["faces"]) - 1)]
            return face_crop(decode_png(project.images[ref.image]).convert("RGB"), face["bbox"])
    return None


def character_references(project: Project, panel: Panel) -> list[CharacterReference]:
    """The bound character cards as references for a reference-edit model (FLUX.2 klein,
    Qwen-Image-Edit, FLUX.1 Kontext): face crop, full references and name; no face pack needed."""
    from engine.conditioning import CharacterReference

    out = []
    for binding in panel.characters:
        card = project.card(binding.card)
        if not isinstance(card, CharacterCard) or not card.references:
            continue
        refs = [decode_png(project.images[r.image]).convert("RGB") for r in card.references]
        out.append(CharacterReference(card.id, card.name, cw=binding.weight, face_image=card_face_crop(project, card),
                                      reference_images=refs, reference_weights=[r.weight for r in card.references]))
    return out


def style_conditions(project: Project, panel: Panel, project_dir: Path | None = None,
                     models_dir: str | Path | None = None) -> list[StyleCondition]:
    from engine.conditioning import StyleCondition

    out = []
    for binding in panel.styles:
        card = project.card(binding.card)
        if not isinstance(card, StyleCard) or binding.weight == 0:
            continue
        refs = [decode_png(project.images[r.image]).convert("RGB") for r in card.references]
        lora = _lora(project_dir, card.lora, card.lora_weight, models_dir)
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


def _read_reference_files(refs: list, base_dir: Path | None,
                          models_dir: str | Path | None = None) -> list[tuple[Image.Image, float]]:
    out = []
    for ref in refs:
        if "://" in ref.ref:
            raise ValueError(f"{ref.ref}: Panelsmith works offline; save the image and give its path")
        path = resolve_named(ref.ref, base_dir, models_dir)  # the project's folder or the models folder
        out.append((open_image(path, what="reference image"), ref.weight))
    return out


def _has_pack(models_dir: str | Path | None) -> bool:
    from engine import faces as face_api

    return bool(models_dir and face_api.find_pack(models_dir))


def prompt_cref_images(flags, models_dir: str | Path | None, base_dir: Path | None) -> dict[str, bytes]:
    """The ``--cref/--oref`` images of a prompt that identity conditioning needs analysed
    (as written in the prompt → PNG); none without a face model pack."""
    if not flags.character_refs or not _has_pack(models_dir):
        return {}
    images = _read_reference_files(flags.character_refs, base_dir, models_dir)
    return {ref.ref: encode_png(img) for ref, (img, _) in zip(flags.character_refs, images)}


def prompt_reference_conditions(flags, models_dir: str | Path | None, base_dir: Path | None,
                                cref_faces: dict[str, dict] | None = None
                                ) -> tuple[list[CharacterCondition | StyleCondition], list[str]]:
    """Conditions for image paths given in the prompt: ``--cref/--oref IMG::W`` and ``--sref IMG::W``.

    They act like an unsaved character or style card (weights ``--cw/--ow`` and ``--sw``).
    ``cref_faces`` holds the insightface analysis of each ``--cref`` image (as written in the
    prompt → FaceCache dict); nothing is analysed here, a missing one raises EngineError.
    """
    import numpy as np

    from engine import faces as face_api
    from engine.conditioning import CharacterCondition, StyleCondition

    conditions: list[CharacterCondition | StyleCondition] = []
    notes: list[str] = []
    if flags.sref:
        refs = _read_reference_files(flags.sref, base_dir, models_dir)
        sw = 100 if flags.sw is None else flags.sw
        if sw:
            conditions.append(StyleCondition("prompt-sref", [img for img, _ in refs], sw=sw))
    if flags.character_refs:
        refs = _read_reference_files(flags.character_refs, base_dir, models_dir)
        if not _has_pack(models_dir):
            notes.append("--cref needs a face model pack: " + face_api.missing_pack_message(models_dir or "<models>"))
            return conditions, notes
        embs, weights, first = [], [], None
        for ref, (img, weight) in zip(flags.character_refs, refs):
            cache = (cref_faces or {}).get(ref.ref)
            if cache is None:
                raise EngineError(f"--cref image {ref.ref} has not been analysed yet")
            if not cache["faces"]:
                notes.append("a --cref image shows no face")
                continue
            face = cache["faces"][0]
            embs.append(np.asarray(face["embedding"], dtype=np.float32))
            weights.append(weight)
            first = first or (face, img.size)
        if embs:
            cw = flags.character_weight
            conditions.append(CharacterCondition.from_references(
                "prompt-cref", embs, weights, cw=100 if cw is None else cw,
                face_kps=np.asarray(first[0]["kps"], dtype=np.float32), kps_size=first[1],
                reference_images=[img for img, _ in refs], reference_weights=[w for _, w in refs]))
    return conditions, notes


def lora_conditions(project: Project, panel: Panel, project_dir: Path | None = None,
                    models_dir: str | Path | None = None) -> list[LoraConditioning]:
    """The bound characters' LoRAs as plain LoRA conditions (identity from a LoRA alone)."""
    out = []
    for binding in panel.characters:
        card = project.card(binding.card)
        lora = _lora(project_dir, getattr(card, "lora", None), getattr(card, "lora_weight", 1.0), models_dir)
        if lora is not None:
            out.append(LoraConditioning(str(lora.path), lora.weight))
    return out


def trigger_words(project: Project, panel: Panel) -> list[str]:
    """Trigger words of bound characters that have a LoRA (added to the prompt)."""
    words = []
    for binding in panel.characters:
        card = project.card(binding.card)
        if isinstance(card, CharacterCard) and card.lora and card.trigger:
            words.append(card.trigger)
    return words
