"""Run generation jobs for panels of a document, synchronously (command line) or as requests.

``prepare_request`` is the one place that turns a panel and its bound cards into a complete
engine request (prompt, flags, styles, identity conditioning, trigger words); the window's job
queue and the command line both use it. ``finish_result`` adds a result to the panel's history
with the consistency score of each image. Both run face analysis and scoring on the calling
thread; the window's :class:`app.job_queue.JobQueue` does that part in a helper process first
(``missing_faces``, :func:`app.identity.analyze_backends`, :func:`app.identity.score_images`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from engine.jobs import EngineError, GenerationRequest, JobKind, JobProgress, JobResult, LoraConditioning
from engine.prompt_flags import parse_prompt
from engine.registry import GENERATORS, ModelRegistry

from ..document import Document
from ..identity import conditions, consistency, faces as face_cache
from ..safe_paths import resolve_model_setting
from . import request as generation


@dataclasses.dataclass
class Prepared:
    request: GenerationRequest
    notes: list[str]


def choose_model(doc: Document, registry: ModelRegistry, requested: str | None) -> str:
    """The model to use: asked for, else the project's, else the only one installed."""
    if requested:
        return requested
    if doc.project.settings.get("model"):  # named by the project: confined (app.safe_paths)
        return resolve_model_setting(str(doc.project.settings["model"]), doc.path.parent if doc.path else None,
                                     registry.models_dir)
    models = registry.models(GENERATORS)
    if len(models) == 1:
        return str(models[0].path)
    if not models:
        registry.resolve("")  # raises ModelNotFoundError naming the folder layout
    names = ", ".join(sorted(m.name for m in models))
    raise EngineError(f"several models are installed ({names}): choose one with --model NAME")


def prepare_request(doc: Document, panel_id: str, kind: JobKind, models_dir: str | Path | None,
                    registry: ModelRegistry | None = None, **kwargs) -> Prepared:
    """A complete request for a panel, with identity/style conditioning from its bound cards.

    ``kwargs`` go to :func:`app.generation.panel_request` (overrides, mask, outpaint, prompt);
    ``overrides["identity_strength"]`` goes to the character conditions instead.
    Face analysis of the cards' references is cached in the document first (one undo step).
    """
    project = doc.project
    _, panel = project.find_panel(panel_id)
    notes: list[str] = []
    registry = registry or ModelRegistry(models_dir)
    overrides = dict(kwargs.pop("overrides", None) or {})
    if kind is JobKind.UPSCALE:
        return Prepared(upscale_request(doc, panel_id, registry, {**overrides, **(kwargs.get("extra") or {})}), notes)
    strength = overrides.pop("identity_strength", None)  # for the character conditions, not the request
    overrides["model"] = choose_model(doc, registry, overrides.get("model"))
    request = generation.panel_request(project, panel_id, kind, overrides=overrides, **kwargs)
    project_dir = doc.path.parent if doc.path else None
    if panel.characters:
        backends = face_backends(models_dir)
        for binding in panel.characters:
            notes += face_cache.cache_card_faces(doc, binding.card, backends, models_dir)
        _, panel = project.find_panel(panel_id)
    size = (request.width, request.height) if request.width and request.height else None
    # --cw/--sw in the prompt override the bound cards' weights; --cref/--sref paths add references.
    flags = parse_prompt(panel.prompt if kwargs.get("prompt") is None else kwargs["prompt"])
    weighted = conditions.with_prompt_weights(panel, flags.character_weight, flags.sw)
    chars, char_notes = conditions.character_conditions(project, weighted, models_dir, project_dir,
                                                      overrides={"identity_strength": strength}, size=size)
    notes += char_notes
    styles = conditions.style_conditions(project, weighted, project_dir)
    extra_refs, ref_notes = conditions.prompt_reference_conditions(flags, models_dir, project_dir)
    notes += ref_notes
    request.conditioning = [*request.conditioning, *chars, *styles, *extra_refs]
    if not chars:  # identity from a LoRA alone: apply the cards' LoRAs directly
        for binding in panel.characters:
            card = project.card(binding.card)
            lora = conditions._lora(project_dir, getattr(card, "lora", None), getattr(card, "lora_weight", 1.0),
                                    models_dir)
            if lora is not None:
                request.conditioning.append(LoraConditioning(str(lora.path), lora.weight))
    words = conditions.trigger_words(project, panel)
    if words:
        request.prompt = ", ".join([*words, request.prompt]) if request.prompt else ", ".join(words)
    return Prepared(request, notes)


def upscale_request(doc: Document, panel_id: str, registry: ModelRegistry, overrides: dict) -> GenerationRequest:
    """UPSCALE: the panel's current image to its print size; no identity conditioning.

    ``overrides``: ``model`` (the upscaler; empty: Lanczos), ``dpi`` (default: the project's),
    ``refine_strength`` (None: no refine), ``refine_model`` (default: as for generation) and
    sampling fields for the refine."""
    strength = overrides.get("refine_strength")
    refine_model = choose_model(doc, registry, overrides.get("refine_model")) if strength is not None else ""
    return generation.upscale_request(doc.project, panel_id, dpi=overrides.get("dpi"),
                                      upscaler=overrides.get("model") or "", refine_strength=strength,
                                      refine_model=refine_model, overrides=overrides)


def _face_pack(models_dir: str | Path | None):
    from engine import faces

    return faces.find_pack(models_dir) if models_dir else None


def face_backends(models_dir: str | Path | None) -> tuple[str, ...]:
    """The face analyses a bound card's references need: dlib always, insightface with a face pack."""
    return (face_cache.BUILTIN, face_cache.INSIGHTFACE) if _face_pack(models_dir) else (face_cache.BUILTIN,)


def missing_faces(doc: Document, panel_id: str, models_dir: str | Path | None) -> dict[str, dict[str, bytes]]:
    """Reference images of the panel's bound cards that ``prepare_request`` would analyse first
    (backend → image key → PNG); empty when everything is cached."""
    _, panel = doc.project.find_panel(panel_id)
    out: dict[str, dict[str, bytes]] = {}
    if panel.characters:
        for backend in face_backends(models_dir):
            for binding in panel.characters:
                out.setdefault(backend, {}).update(face_cache.missing_analysis(doc.project, binding.card, backend))
    return {backend: pngs for backend, pngs in out.items() if pngs}


def finish_result(doc: Document, result: JobResult, select: bool = True) -> list[str]:
    """Score each image's identity against the bound characters, then add it to the history."""
    _, panel = doc.project.find_panel(result.request.panel_id)
    scores = []
    for image in result.images:
        try:
            scores.append(consistency.image_identity_scores(doc.project, panel, image.convert("RGB")))
        except Exception as exc:  # noqa: BLE001 - a score is a bonus; never lose a result for it
            scores.append([])
            result.metadata.setdefault("warnings", []).append(f"consistency score failed: {exc}")
    return generation.apply_result(doc, result, select=select, identity_scores=scores)


def run_panel_job(doc: Document, engine, prepared: Prepared, select: bool = True,
                  progress: Callable[[JobProgress], None] | None = None, cancel=None) -> tuple[JobResult, list[str]]:
    """Run one prepared request on ``engine`` (an :class:`engine.api.Engine`) and record the result."""
    result = engine.run(prepared.request, progress, cancel)
    ids = finish_result(doc, result, select=select)
    return result, ids
