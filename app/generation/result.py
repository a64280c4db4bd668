"""A finished engine job into the document: the panel's variant history, as one undo step (after a pan
the image slides so that the new strip is in the frame; its old pixels stay byte-identical).

A failed or cancelled job never reaches :func:`apply_result`, so it changes nothing.
"""

from __future__ import annotations

from engine.jobs import Direction, JobKind, JobResult, PanSpec, ZoomOutSpec

from .. import edits
from ..document import Document
from ..placement import placement_after_growth, slide_into_view
from ..project import Placement

KIND_LABEL = {JobKind.GENERATE: "generate", JobKind.VARY_REGION: "vary", JobKind.OUTPAINT: "pan",
              JobKind.UPSCALE: "upscale", JobKind.EDIT: "edit", JobKind.ANIMATE: "animate"}


def variant_kind(request) -> str:
    """The variant's label: what made it ("zoom out" or "pan" for outpainting)."""
    if request.kind is JobKind.OUTPAINT and isinstance(request.outpaint, ZoomOutSpec):
        return "zoom out"
    return KIND_LABEL[request.kind]


def content_offset(old_size: tuple[int, int], new_size: tuple[int, int], spec: PanSpec | ZoomOutSpec
                   ) -> tuple[int, int]:
    """Where the old image's top-left pixel lies in the outpainted image."""
    dw, dh = new_size[0] - old_size[0], new_size[1] - old_size[1]
    if isinstance(spec, ZoomOutSpec):
        return dw // 2, dh // 2
    return {Direction.LEFT: (dw, 0), Direction.RIGHT: (0, 0), Direction.UP: (0, dh),
            Direction.DOWN: (0, 0)}[spec.direction]


def apply_result(doc: Document, panel_id: str, result: JobResult, select: bool = True,
                 identity_scores: list[list[dict]] | None = None) -> list[str]:
    """Add a finished job's images to the variant history of panel ``panel_id`` (one undo step).

    ``identity_scores`` holds each image's consistency scores (``[{"card", "score"}]``), kept
    with the variant so that ``info`` and the Consistency dock need not recompute them.
    """
    request = result.request
    _, panel = doc.project.find_panel(panel_id)
    placement: Placement | None = None
    if request.kind is JobKind.OUTPAINT and result.images and request.init_image is not None:
        old_size, new_size = request.init_image.size, result.images[0].size
        offset = result.metadata.get("content_offset") or content_offset(old_size, new_size, request.outpaint)
        if isinstance(request.outpaint, ZoomOutSpec):  # the wider picture fills the frame, the original in the middle
            placement = Placement(offset_x=0.0, offset_y=0.0, scale=1.0)
        else:
            grown = placement_after_growth(panel.bbox, old_size, new_size, tuple(offset), panel.placement)
            placement = slide_into_view(panel.bbox, new_size, grown, request.outpaint.direction.value)
    params = {"model": request.model, "steps": result.metadata.get("steps", request.steps),
              "scheduler": result.metadata.get("scheduler", request.scheduler),
              "guidance": result.metadata.get("guidance", request.guidance),
              "negative_prompt": request.negative_prompt, "warnings": result.metadata.get("warnings")}
    params = {k: v for k, v in params.items() if v not in (None, "", [])}
    if request.kind is JobKind.ANIMATE:  # one loop: its frames are one variant
        params["motion_adapter"] = result.metadata.get("motion_adapter")
        if identity_scores:
            params["identity"] = identity_scores[0]
        return [edits.add_loop(doc, panel.id, result.images, result.seeds[0] if result.seeds else None,
                               int(result.metadata.get("fps", request.fps)), request.prompt, params,
                               select=select)]
    per_variant = [{"identity": s} for s in identity_scores] if identity_scores else None
    return edits.add_variants(doc, panel.id, list(zip(result.images, result.seeds)),
                              kind=variant_kind(request), prompt=request.prompt, params=params,
                              select_first=select, placement=placement, per_variant=per_variant)
