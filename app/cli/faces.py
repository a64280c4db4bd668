"""Command line for faces: ``faces``, ``compare``, ``swap``, and the ``identity`` scores in ``info``."""

from __future__ import annotations

import argparse
import json

from .common import CliError, card as find_card, document, panel as find_panel, save, command
from .main import INFO_PANEL_HOOKS


def _image(path: str):
    from PIL import Image, UnidentifiedImageError

    from ..images import MAX_IMAGE_PIXELS
    from ..safe_paths import check_regular

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        check_regular(path, "image")  # a FIFO or device would block forever
        with Image.open(path) as img:
            return img.convert("RGB")
    except FileNotFoundError:
        raise CliError(f"image {path} does not exist") from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise CliError(f"cannot read image {path}: {' '.join(str(exc).split())}") from None


def cmd_faces(args: argparse.Namespace) -> int:
    from engine import faces

    report = faces.faces_report(_image(args.image), models_dir=args.models, cpu_only=args.cpu)
    print(json.dumps(report.to_dict(), indent=2))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from engine import faces

    print(json.dumps(faces.compare_report(_image(args.image_a), _image(args.image_b)), indent=2))
    return 0


def cmd_swap(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from engine import faces
    from engine.registry import ModelKind, ModelRegistry

    from .. import edits
    from ..identity import consistency, faces as face_cache
    from ..generation.request import current_image

    doc = document(args.path)
    panel = find_panel(doc, args.panel, args.path)
    card = find_card(doc, args.card, args.path, character=True)
    registry = ModelRegistry(args.models)
    swapper = registry.resolve(args.swapper or "inswapper", (ModelKind.FACE_SWAPPER,))
    notes = face_cache.cache_card_faces(doc, card.id, (face_cache.BUILTIN, face_cache.INSIGHTFACE), registry.models_dir)
    embs, weights, _ = face_cache.card_embeddings(doc.project, card, face_cache.INSIGHTFACE, registry.models_dir)
    if not embs:
        raise CliError(f"{card.name}: none of the card's references shows a face" + (f" ({notes[0]})" if notes else ""))
    source = faces.blend_embeddings(embs, weights)
    image = current_image(doc.project, panel)
    found = faces.analyze(image, backend=faces.insightface_backend(registry.models_dir, cpu_only=args.cpu))
    if not found:
        raise CliError(f"no face found in panel {panel.id}'s image to swap")
    target = faces.select_face(found, args.face)
    swapped = faces.swap_face(np.asarray(image), target, source, swapper.path, cpu_only=args.cpu)
    result = Image.fromarray(np.asarray(swapped, dtype=np.uint8), "RGB")
    scores = consistency.image_identity_scores(doc.project, panel, result)
    edits.add_variant(doc, panel.id, result, kind="swap", prompt=panel.prompt,
                      params={"card": card.id, "identity": scores})
    save(doc)
    print(json.dumps({"panel": panel.id, "card": card.id, "identity": scores}))
    return 0


def _identity_hook(project, page, panel, entry: dict) -> None:
    """``info``: the consistency score of each bound character in panels with an image."""
    if entry.get("image") is None or not panel.characters:
        return
    from ..identity import consistency, faces as face_cache

    entry["identity"] = consistency.panel_identity_scores(project, panel)


def register(subparsers: argparse._SubParsersAction) -> None:
    if _identity_hook not in INFO_PANEL_HOOKS:
        INFO_PANEL_HOOKS.append(_identity_hook)

    p = command(subparsers, "faces", cmd_faces, "detect faces: boxes, 5 keypoints and embedding size (JSON)")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--models", metavar="DIR", help="use the insightface pack found there (else the built-in recognizer)")
    p.add_argument("--cpu", action="store_true", help="run face analysis on the CPU (saves VRAM)")

    p = command(subparsers, "compare", cmd_compare, "identity score between the main faces of two images (JSON)")
    p.add_argument("image_a", metavar="IMAGE_A")
    p.add_argument("image_b", metavar="IMAGE_B")

    p = command(subparsers, "swap", cmd_swap, "swap a character card's face into a panel (inswapper pass)")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--panel", metavar="ID", required=True)
    p.add_argument("--card", metavar="ID", required=True)
    p.add_argument("--face", type=int, metavar="N", help="which face of the panel (0 = largest)")
    p.add_argument("--models", metavar="DIR")
    p.add_argument("--swapper", metavar="NAME", help="swapper model name (default inswapper_128)")
    p.add_argument("--cpu", action="store_true", help="run face analysis on the CPU")
