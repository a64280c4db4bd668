"""From a panel to one complete engine request: :func:`build_request`.

It reads the panel (prompt with Midjourney-style flags, seed, aspect ratio, bound character and
style cards), the project's generation settings and what the user asked for (:class:`Overrides`),
and returns a :class:`Prepared` request with notes for the user. It is pure: it reads cached
face analysis and analyses nothing; :func:`needed_analysis` says what must be analysed first
(the job queue does that in the helper process, the command line in-process).
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

from PIL import Image

from engine.jobs import (Direction, EngineError, GenerationRequest, JobKind, ModelNotFoundError, OutpaintSpec, PanSpec,
                         Preset, ZoomOutSpec)
from engine.prompt_flags import STYLE_PRESETS, PromptFlags, apply_flags, parse_prompt
from engine.families import is_reference_family
from engine.registry import GENERATORS, ModelRegistry

from ..identity import conditions, faces as face_cache
from ..images import decode_png
from ..project import Panel, Project, StyleCard
from ..safe_paths import looks_like_path, resolve_model_setting

SETTING_KEYS = ("model", "scheduler", "preset", "steps", "guidance", "device", "variants", "resolution")
REFINE_KEYS = ("steps", "scheduler", "preset", "guidance", "seed", "device")


@dataclasses.dataclass
class Overrides:
    """What one Generate, Vary, Pan or Upscale (click or command) adds to the panel's own set-up.

    ``fields``: request fields over the project's and the panel's settings (model, steps, seed,
    variants, device…; ``None`` values are ignored). For UPSCALE, ``model`` is the upscaler (empty:
    Lanczos) and ``dpi``, ``refine_strength`` and ``refine_model`` are understood too.
    ``extra``: other request fields, set as they are (e.g. ``feather_px``).
    ``identity_strength`` scales the bound characters' identity (the Consistency dock's regenerate).
    ``models_dir``/``registry``: where models and the face pack are; ``project_dir``: the base of
    relative paths; ``cref_faces``: the analysis of the prompt's ``--cref`` images (see
    :func:`needed_analysis`).
    """

    kind: JobKind = JobKind.GENERATE
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    mask: Image.Image | None = None
    outpaint: OutpaintSpec | None = None
    prompt: str | None = None
    identity_strength: float | None = None
    models_dir: str | Path | None = None
    registry: ModelRegistry | None = None
    project_dir: Path | None = None
    cref_faces: dict[str, dict] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, kind: JobKind = JobKind.GENERATE, fields: dict[str, Any] | None = None, **kwargs: Any) -> "Overrides":
        """Overrides from a flat dict of fields, where ``identity_strength`` may sit among them."""
        fields = {k: v for k, v in (fields or {}).items() if v is not None}
        strength = fields.pop("identity_strength", None)
        kwargs["extra"] = dict(kwargs.get("extra") or {})
        return cls(kind, fields, identity_strength=strength, **kwargs)

    def model_registry(self) -> ModelRegistry:
        if self.registry is None:
            self.registry = ModelRegistry(self.models_dir)
        return self.registry


@dataclasses.dataclass
class Prepared:
    """A complete request, and notes for the user (e.g. a card whose reference shows no face)."""

    request: GenerationRequest
    notes: list[str]


def missing_model_text(models_dir: Path) -> str:
    """One line: no image model is installed, and which files to put where."""
    return (f"no image model in {models_dir}: put a diffusers folder (with model_index.json) or a .safetensors "
            f"checkpoint (SD 1.5 or SDXL) in {Path(models_dir) / 'checkpoints'}, or choose another models folder")


def choose_model(project: Project, registry: ModelRegistry, requested: str | None,
                 project_dir: Path | None = None) -> str:
    """The model to use: asked for, else the project's (a path it names is confined to the project's
    folder and the models folder, see :mod:`app.safe_paths`), else the only one installed."""
    if requested:
        return requested
    if project.settings.get("model"):
        name = str(project.settings["model"])
        return resolve_model_setting(name, project_dir, registry.models_dir) if looks_like_path(name) else name
    models = registry.models(GENERATORS) or [m for m in registry.refresh() if m.kind in GENERATORS]
    if len(models) == 1:
        return str(models[0].path)
    if not models:
        raise ModelNotFoundError(missing_model_text(registry.models_dir), detail=registry.help())
    names = ", ".join(sorted(m.name for m in models))
    raise EngineError(f"several models are installed ({names}): choose one with --model NAME "
                      "or in Edit ▸ Preferences")


def current_image(project: Project, panel: Panel) -> Image.Image:
    if panel.image is None:
        raise EngineError(f"panel {panel.id} has no image yet: generate or import one first")
    return decode_png(project.images[panel.image]).convert("RGB")


def _flags(panel: Panel, overrides: Overrides) -> PromptFlags:
    return parse_prompt(panel.prompt if overrides.prompt is None else overrides.prompt)


def face_backends(models_dir: str | Path | None) -> tuple[str, ...]:
    """The face analyses a bound card's references need: dlib always, insightface with a face pack."""
    from engine import faces as face_api  # numpy: imported on first use

    if models_dir and face_api.find_pack(models_dir):
        return face_cache.BUILTIN, face_cache.INSIGHTFACE
    return (face_cache.BUILTIN,)


def needed_analysis(project: Project, panel: Panel, overrides: Overrides) -> dict[str, dict[str, bytes]]:
    """Face analysis that :func:`build_request` needs and is not there yet (backend → key → PNG):
    the bound characters' reference images, and the prompt's ``--cref`` images (keyed as
    written in the prompt). Empty when nothing is missing."""
    if overrides.kind is JobKind.UPSCALE:
        return {}
    backends = face_backends(overrides.models_dir)
    out = face_cache.missing_analysis_of_cards(project, [b.card for b in panel.characters], backends)
    crefs = conditions.prompt_cref_images(_flags(panel, overrides), overrides.models_dir, overrides.project_dir)
    crefs = {key: png for key, png in crefs.items() if key not in overrides.cref_faces}
    if crefs:
        out.setdefault(face_cache.INSIGHTFACE, {}).update(crefs)
    return out


def with_analysis(overrides: Overrides, found: dict[str, dict[str, dict]]) -> Overrides:
    """``overrides`` with the analysed ``--cref`` images among ``found`` (backend → key → FaceCache)."""
    cref_faces = {**overrides.cref_faces, **found.get(face_cache.INSIGHTFACE, {})}
    return dataclasses.replace(overrides, cref_faces=cref_faces)


def build_request(project: Project, panel: Panel, overrides: Overrides) -> Prepared:
    """The complete request for a panel: one model choice, one prompt parse, the bound cards'
    conditions and trigger words.

    Precedence, lowest first: project settings, a bound style card's preferred model, the
    panel's seed, flags in the prompt, then ``overrides.fields`` and ``overrides.extra``.
    Raises EngineError (one line) when the request cannot be built, e.g. when face analysis it
    needs is missing.
    """
    registry = overrides.model_registry()
    if overrides.kind is JobKind.UPSCALE:
        return Prepared(_upscale_request(project, panel, overrides, registry), [])
    missing = face_cache.missing_analysis_of_cards(project, [b.card for b in panel.characters],
                                                   face_backends(overrides.models_dir)[1:])
    if missing:
        raise EngineError("the faces of the bound characters' references are not analysed yet")
    fields = dict(overrides.fields)
    fields["model"] = choose_model(project, registry, fields.get("model"), overrides.project_dir)
    flags = _flags(panel, overrides)
    request = _panel_request(project, panel, overrides.kind, flags, fields, overrides)
    notes = [note for b in dict.fromkeys(b.card for b in panel.characters)
             for note in face_cache.face_notes(project.card(b), face_cache.BUILTIN)]
    size = (request.width, request.height) if request.width and request.height else None
    # --cw/--sw in the prompt override the bound cards' weights; --cref/--sref paths add references.
    weighted = conditions.with_prompt_weights(panel, flags.character_weight, flags.sw)
    if _reference_family(registry, fields["model"]):
        chars, char_notes = conditions.character_references(project, weighted), []
    else:
        chars, char_notes = conditions.character_conditions(
            project, weighted, overrides.models_dir, overrides.project_dir,
            overrides={"identity_strength": overrides.identity_strength}, size=size)
    notes += char_notes
    styles = conditions.style_conditions(project, weighted, overrides.project_dir, overrides.models_dir)
    extra_refs, ref_notes = conditions.prompt_reference_conditions(flags, overrides.models_dir, overrides.project_dir,
                                                                  overrides.cref_faces)
    notes += ref_notes
    request.conditioning = [*request.conditioning, *chars, *styles, *extra_refs]
    if not chars:  # identity from a LoRA alone: apply the cards' LoRAs directly
        request.conditioning += conditions.lora_conditions(project, panel, overrides.project_dir, overrides.models_dir)
    words = conditions.trigger_words(project, panel)
    if words:
        request.prompt = ", ".join([*words, request.prompt]) if request.prompt else ", ".join(words)
    return Prepared(request, notes)


def _reference_family(registry: ModelRegistry, model: str) -> bool:
    """Whether ``model`` is a reference-edit family (its cards become reference images); an unknown
    model is left to the engine, which says what is wrong."""
    try:
        return is_reference_family(registry.resolve(model).arch.value)
    except EngineError:
        return False


def _style_cards(project: Project, panel: Panel) -> list[StyleCard]:
    cards = []
    for binding in panel.styles:
        card = project.card(binding.card)
        if isinstance(card, StyleCard) and binding.weight > 0:
            cards.append(card)
    return cards


def _set_fields(request: GenerationRequest, fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        setattr(request, key, Preset(value) if key == "preset" else value)


def _panel_request(project: Project, panel: Panel, kind: JobKind, flags: PromptFlags, fields: dict[str, Any],
                   overrides: Overrides) -> GenerationRequest:
    """The request as the panel, the project's settings, the prompt's flags and ``fields`` set it up."""
    settings = {k: v for k, v in project.settings.items() if k in SETTING_KEYS}
    styles = _style_cards(project, panel)
    for card in styles:
        if card.model:
            settings["model"] = card.model
    bbox = panel.bbox
    request = GenerationRequest(kind=kind, negative_prompt=panel.negative_prompt,
                                aspect_ratio=bbox.w / bbox.h if bbox.h else 1.0,
                                seed=panel.seed, mask=overrides.mask, outpaint=overrides.outpaint)
    _set_fields(request, settings)
    request = apply_flags(request, flags)

    # Style cards: their prompt suffix, negative prompt and bundled preset.
    prompt_text, negative = request.prompt, [request.negative_prompt] if request.negative_prompt else []
    for card in styles:
        preset = STYLE_PRESETS.get(card.preset or "")
        for suffix in (card.prompt_suffix, preset.prompt_suffix if preset else ""):
            if suffix:
                prompt_text = f"{prompt_text}, {suffix}" if prompt_text else suffix
        negative += [n for n in (card.negative_prompt, preset.negative if preset else "") if n]
    request.prompt = prompt_text
    request.negative_prompt = ", ".join(negative)

    _set_fields(request, {**{k: v for k, v in fields.items() if v is not None}, **overrides.extra})
    if request.seed is None:
        request.seed = random.randrange(2**32)
    if kind is JobKind.ANIMATE:  # one loop; `extra` may hold init_image (first-frame continuity)
        request.variants = 1
    elif kind is not JobKind.GENERATE:
        request.init_image = current_image(project, panel)
        request.aspect_ratio = None
    return request


def print_size(panel: Panel, size: tuple[int, int], dpi: int) -> tuple[int, int]:
    """Pixel size an image needs to print at ``dpi`` where it shows in its frame (its placement)."""
    from ..placement import image_frame

    rect = image_frame(panel.bbox, size, panel.placement).rect
    width = max(8, round(rect.w / 25.4 * dpi))
    return width, max(8, round(width * size[1] / size[0]))


def _upscale_request(project: Project, panel: Panel, overrides: Overrides,
                     registry: ModelRegistry) -> GenerationRequest:
    """UPSCALE: the panel's current image to its print size at ``dpi`` (default: the project's),
    with the upscaler ``model`` (empty: Lanczos) and an optional tiled img2img refine
    (``refine_strength``, None: off) by ``refine_model`` (default: as for generation). The refine
    takes the panel's prompt and the project's sampling settings over which the fields may set
    steps, scheduler, preset, guidance, seed and device. No identity conditioning."""
    options = {**overrides.fields, **overrides.extra}
    strength = options.get("refine_strength")
    refine_model = choose_model(project, registry, options.get("refine_model"), overrides.project_dir) if strength is not None else ""
    sampling = {k: v for k, v in options.items() if k in REFINE_KEYS and v is not None}
    request = _panel_request(project, panel, JobKind.UPSCALE, _flags(panel, overrides), sampling,
                             dataclasses.replace(overrides, extra={}))
    request.width, request.height = print_size(panel, request.init_image.size, options.get("dpi") or project.dpi)
    request.model = options.get("model") or ""
    request.variants = 1
    request.refine_strength = strength
    request.refine_model = refine_model
    return request


def pan_spec(direction: str | None, amount: float | None, zoom_out: float | None) -> PanSpec | ZoomOutSpec:
    """Parse the pan/zoom-out options of the command line and the window into an outpaint spec."""
    if zoom_out is not None:
        if direction is not None:
            raise EngineError("use either --direction with --amount or --zoom-out, not both")
        return ZoomOutSpec(float(zoom_out))
    if direction is None:
        raise EngineError("pan needs --direction left|right|up|down (with --amount) or --zoom-out FACTOR")
    try:
        return PanSpec(Direction(direction), 0.25 if amount is None else float(amount))
    except ValueError:
        raise EngineError(f"unknown direction {direction!r} (use left, right, up or down)") from None


def repeat_requests(request: GenerationRequest, times: int) -> list[GenerationRequest]:
    """Repeat ×N: copies of a request with seeds advanced past each batch's variants."""
    out = []
    seed = request.seed or 0
    for _ in range(times):
        out.append(dataclasses.replace(request, seed=seed, job_id=GenerationRequest().job_id))
        seed = (seed + request.variants) % 2**32
    return out
