"""From a panel to an engine request, and from an engine result back into the document.

This is the one place that knows both sides: it reads the panel (prompt with Midjourney-style
flags, seed, aspect ratio, bound style cards) and the project's generation settings, builds a
:class:`engine.jobs.GenerationRequest`, and applies a :class:`engine.jobs.JobResult` as one undo
step in the panel's variant history. A failed or cancelled job never reaches ``apply_result``,
so it changes nothing.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from PIL import Image

from engine.jobs import (Direction, EngineError, GenerationRequest, JobKind, JobResult, PanSpec, Preset,
                         ZoomOutSpec)
from engine.prompt_flags import STYLE_PRESETS, apply_flags, parse_prompt

from .. import edits
from ..document import Document
from ..images import decode_png
from ..project import Panel, Placement, Project, StyleCard
from ..placement import placement_after_growth

SETTING_KEYS = ("model", "scheduler", "preset", "steps", "guidance", "device", "variants")

KIND_LABEL = {JobKind.GENERATE: "generate", JobKind.VARY_REGION: "vary", JobKind.OUTPAINT: "pan",
              JobKind.UPSCALE: "upscale"}


def current_image(project: Project, panel: Panel) -> Image.Image:
    if panel.image is None:
        raise EngineError(f"panel {panel.id} has no image yet: generate or import one first")
    return decode_png(project.images[panel.image]).convert("RGB")


def _style_cards(project: Project, panel: Panel) -> list[StyleCard]:
    cards = []
    for binding in panel.styles:
        card = project.card(binding.card)
        if isinstance(card, StyleCard) and binding.weight > 0:
            cards.append(card)
    return cards


def panel_request(project: Project, panel_id: str, kind: JobKind = JobKind.GENERATE, *,
                  overrides: dict[str, Any] | None = None, mask: Image.Image | None = None,
                  outpaint: PanSpec | ZoomOutSpec | None = None, prompt: str | None = None,
                  extra: dict[str, Any] | None = None) -> GenerationRequest:
    """The request that generates (or varies, extends) a panel, as the user set it up.

    Precedence, lowest first: project settings, a bound style card's preferred model, the
    panel's seed, flags in the prompt, then ``overrides`` (command-line options, dialog fields).
    ``extra`` sets other request fields as they are (e.g. ``feather_px``).
    """
    _, panel = project.find_panel(panel_id)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    settings = {k: v for k, v in project.settings.items() if k in SETTING_KEYS}
    styles = _style_cards(project, panel)
    for card in styles:
        if card.model:
            settings["model"] = card.model
    text = panel.prompt if prompt is None else prompt
    flags = parse_prompt(text)

    bbox = panel.bbox
    request = GenerationRequest(kind=kind, panel_id=panel_id, negative_prompt=panel.negative_prompt,
                                aspect_ratio=bbox.w / bbox.h if bbox.h else 1.0,
                                seed=panel.seed, mask=mask, outpaint=outpaint)
    for key, value in settings.items():
        if key == "preset":
            value = Preset(value)
        setattr(request, key, value)
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

    for key, value in {**overrides, **(extra or {})}.items():
        if key == "preset":
            value = Preset(value)
        setattr(request, key, value)
    if request.seed is None:
        request.seed = random.randrange(2**32)
    if kind is not JobKind.GENERATE:
        request.init_image = current_image(project, panel)
        request.aspect_ratio = None
    return request


def print_size(panel: Panel, size: tuple[int, int], dpi: int) -> tuple[int, int]:
    """Pixel size an image needs to print at ``dpi`` where it shows in its frame (its placement)."""
    from ..placement import image_frame

    rect = image_frame(panel.bbox, size, panel.placement).rect
    width = max(8, round(rect.w / 25.4 * dpi))
    return width, max(8, round(width * size[1] / size[0]))


REFINE_KEYS = ("steps", "scheduler", "preset", "guidance", "seed", "device")


def upscale_request(project: Project, panel_id: str, *, dpi: int | None = None, upscaler: str = "",
                    refine_strength: float | None = None, refine_model: str = "",
                    overrides: dict[str, Any] | None = None) -> GenerationRequest:
    """Upscale a panel's current image to its print size at ``dpi`` (default: the project's),
    with the ``upscaler`` model (empty: Lanczos) and an optional tiled img2img refine.
    The refine takes the panel's prompt and the project's sampling settings; ``overrides``
    may set steps, scheduler, preset, guidance, seed and device."""
    _, panel = project.find_panel(panel_id)
    sampling = {k: v for k, v in (overrides or {}).items() if k in REFINE_KEYS and v is not None}
    request = panel_request(project, panel_id, JobKind.UPSCALE, overrides=sampling)
    request.width, request.height = print_size(panel, request.init_image.size, dpi or project.dpi)
    request.model = upscaler or ""
    request.variants = 1
    request.refine_strength = refine_strength
    request.refine_model = refine_model if refine_strength is not None else ""
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


def content_offset(old_size: tuple[int, int], new_size: tuple[int, int], spec: PanSpec | ZoomOutSpec
                   ) -> tuple[int, int]:
    """Where the old image's top-left pixel lies in the outpainted image."""
    dw, dh = new_size[0] - old_size[0], new_size[1] - old_size[1]
    if isinstance(spec, ZoomOutSpec):
        return dw // 2, dh // 2
    return {Direction.LEFT: (dw, 0), Direction.RIGHT: (0, 0), Direction.UP: (0, dh),
            Direction.DOWN: (0, 0)}[spec.direction]


def apply_result(doc: Document, result: JobResult, select: bool = True,
                 identity_scores: list[list[dict]] | None = None) -> list[str]:
    """Add a finished job's images to its panel's variant history (one undo step).

    ``identity_scores`` holds each image's consistency scores (``[{"card", "score"}]``), kept
    with the variant so that ``info`` and the Consistency dock need not recompute them.
    """
    request = result.request
    page, panel = doc.project.find_panel(request.panel_id)
    placement: Placement | None = None
    if request.kind is JobKind.OUTPAINT and result.images and request.init_image is not None:
        old_size, new_size = request.init_image.size, result.images[0].size
        offset = result.metadata.get("content_offset") or content_offset(old_size, new_size, request.outpaint)
        placement = placement_after_growth(panel.bbox, old_size, new_size, tuple(offset), panel.placement)
    params = {"model": request.model, "steps": result.metadata.get("steps", request.steps),
              "scheduler": result.metadata.get("scheduler", request.scheduler),
              "guidance": result.metadata.get("guidance", request.guidance),
              "negative_prompt": request.negative_prompt, "warnings": result.metadata.get("warnings")}
    params = {k: v for k, v in params.items() if v not in (None, "", [])}
    per_variant = [{"identity": s} for s in identity_scores] if identity_scores else None
    return edits.add_variants(doc, panel.id, list(zip(result.images, result.seeds)),
                              kind=KIND_LABEL[request.kind], prompt=request.prompt, params=params,
                              select_first=select, placement=placement, per_variant=per_variant)


def repeat_requests(request: GenerationRequest, times: int) -> list[GenerationRequest]:
    """Repeat ×N: copies of a request with seeds advanced past each batch's variants."""
    out = []
    seed = request.seed or 0
    for _ in range(times):
        out.append(dataclasses.replace(request, seed=seed, job_id=GenerationRequest().job_id))
        seed = (seed + request.variants) % 2**32
    return out
