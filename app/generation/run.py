"""The command line's synchronous road from a panel to the engine and back, all in this process:
analyse missing faces (:func:`prepare`), build the request, run it, score each image against
the bound characters and add the result to the panel's history (:func:`run_panel_job`).
The window's :class:`app.generation.queue.JobQueue` walks the same road with the slow parts
in a helper process and a worker thread.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from engine.jobs import JobProgress, JobResult

from ..document import Document
from ..identity import consistency, faces as face_cache
from .request import Overrides, Prepared, build_request, needed_analysis, with_analysis
from .result import apply_result


def prepare(doc: Document, panel_id: str, overrides: Overrides) -> Prepared:
    """Analyse the faces the request needs (cached in the document as derived data; the
    ``--cref`` images for this request only), then build it."""
    if overrides.project_dir is None and doc.path is not None:
        overrides = dataclasses.replace(overrides, project_dir=doc.path.parent)
    _, panel = doc.project.find_panel(panel_id)
    missing = needed_analysis(doc.project, panel, overrides)
    if missing:
        found = face_cache.analyze_backends(missing, overrides.models_dir)
        doc.cache_face_analysis(found)
        overrides = with_analysis(overrides, found)
        _, panel = doc.project.find_panel(panel_id)
    return build_request(doc.project, panel, overrides)


def finish_result(doc: Document, panel_id: str, result: JobResult, select: bool = True) -> list[str]:
    """Score each image's identity against the bound characters, then add it to the history."""
    _, panel = doc.project.find_panel(panel_id)
    scores = []
    from engine.jobs import JobKind

    images = result.images[:1] if result.request.kind is JobKind.ANIMATE else result.images  # a loop: its still
    for image in images:
        try:
            scores.append(consistency.image_identity_scores(doc.project, panel, image.convert("RGB")))
        except Exception as exc:  # noqa: BLE001 - a score is a bonus; never lose a result for it
            scores.append([])
            result.metadata.setdefault("warnings", []).append(f"consistency score failed: {exc}")
    return apply_result(doc, panel_id, result, select=select, identity_scores=scores)


def run_panel_job(doc: Document, panel_id: str, engine, prepared: Prepared, select: bool = True,
                  progress: Callable[[JobProgress], None] | None = None, cancel=None) -> tuple[JobResult, list[str]]:
    """Run one prepared request for panel ``panel_id`` on ``engine`` (an :class:`engine.api.Engine`)
    and record the result."""
    result = engine.run(prepared.request, progress, cancel)
    ids = finish_result(doc, panel_id, result, select=select)
    return result, ids
