"""cw / sw to adapter scales. The tables are in MAPPING.md; tests check they agree.

All mappings are piecewise linear between the knots below, hence monotonic (non-decreasing).
"""
from __future__ import annotations

from engine.jobs import EngineError

#: cw knots -> (face/identity adapter, IdentityNet ControlNet, appearance adapter).
CW_KNOTS: tuple[tuple[int, tuple[float, float, float]], ...] = (
    (0, (0.60, 0.50, 0.00)),
    (50, (0.70, 0.65, 0.25)),
    (100, (0.80, 0.80, 0.50)),
)

#: sw knots -> style adapter scale on the style blocks (InstantStyle).
SW_KNOTS: tuple[tuple[int, float], ...] = ((0, 0.0), (100, 0.65), (1000, 1.2))

#: Guidance InstantID works best with (its authors' 4-5); applied only when the request leaves
#: guidance to the engine and the model is not a few-step one (LCM/Lightning/Turbo keep theirs).
INSTANTID_GUIDANCE = 5.0
DEFAULT_CW = 100
DEFAULT_SW = 100


def _interp(x: float, xs: list[float], ys: list[float]) -> float:
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return ys[-1]


def cw_to_scales(cw: int) -> tuple[float, float, float]:
    """(face_adapter_scale, controlnet_scale, appearance_adapter_scale) for cw in 0..100.

    cw=0 keeps only the face identity (appearance 0); cw=100 adds hair/clothing from the full
    reference and gives InstantID's defaults (adapter 0.8, IdentityNet 0.8).
    """
    if not 0 <= cw <= 100:
        raise EngineError(f"cw must be in 0..100, got {cw}")
    xs = [k for k, _ in CW_KNOTS]
    out = tuple(round(_interp(cw, xs, [v[i] for _, v in CW_KNOTS]), 4) for i in range(3))
    return out  # type: ignore[return-value]


#: "Stronger identity": the face adapter and IdentityNet scales are multiplied by the strength,
#: each capped at IDENTITY_SCALE_CAP (InstantID degrades into over-sharpened, burnt faces above ~1).
IDENTITY_STRENGTH_RANGE = (0.5, 2.0)
IDENTITY_SCALE_CAP = 1.0


def identity_scales(cw: int, strength: float = 1.0) -> tuple[float, float, float]:
    """`cw_to_scales` with the face adapter and IdentityNet scales multiplied by `strength`.

    The appearance scale (hair/clothing from the full reference) is left as cw sets it. Both
    identity scales are capped at IDENTITY_SCALE_CAP, but never lowered below what cw gives when
    the strength is at least 1; a strength below 1 weakens them.
    """
    lo, hi = IDENTITY_STRENGTH_RANGE
    if not lo <= strength <= hi:
        raise EngineError(f"identity strength must be in [{lo}, {hi}], got {strength}")
    face, control, appearance = cw_to_scales(cw)

    def scaled(v: float) -> float:
        return round(v * strength if strength <= 1 else max(v, min(v * strength, IDENTITY_SCALE_CAP)), 4)

    return scaled(face), scaled(control), appearance


#: PhotoMaker: cw knots -> (fraction of the steps run on the text alone before the ID embedding is
#: merged in, PhotoMaker's start-merge step; LoRA adapter strength). PhotoMaker's own default is 20 %.
PHOTOMAKER_KNOTS: tuple[tuple[int, tuple[float, float]], ...] = ((0, (0.50, 0.50)), (100, (0.10, 1.00)))


def photomaker_schedule(cw: int, steps: int) -> tuple[int, float]:
    """(start-merge step, adapter strength) for PhotoMaker at ``cw`` with ``steps`` denoising steps.

    Steps ``start..steps-1`` (0-based) see the fused ID embedding, the earlier ones the plain text
    embedding; start = floor(fraction · steps), never past the last step. A higher cw merges earlier
    (more steps with the identity) and loads the adapter stronger: both monotonic (MAPPING.md).
    """
    if not 0 <= cw <= 100:
        raise EngineError(f"cw must be in 0..100, got {cw}")
    if steps < 1:
        raise EngineError(f"steps must be at least 1, got {steps}")
    xs = [k for k, _ in PHOTOMAKER_KNOTS]
    fraction = _interp(cw, xs, [v[0] for _, v in PHOTOMAKER_KNOTS])
    strength = round(_interp(cw, xs, [v[1] for _, v in PHOTOMAKER_KNOTS]), 4)
    return min(steps - 1, int(round(fraction, 6) * steps)), strength


def sw_to_scale(sw: int) -> float:
    """Style adapter scale for sw in 0..1000 (default 100 -> 0.65, 1000 -> 1.2)."""
    if not 0 <= sw <= 1000:
        raise EngineError(f"sw must be in 0..1000, got {sw}")
    return round(_interp(sw, [k for k, _ in SW_KNOTS], [v for _, v in SW_KNOTS]), 4)


def mapping_table_cw(step: int = 10) -> list[tuple[int, tuple[float, float, float]]]:
    return [(cw, cw_to_scales(cw)) for cw in range(0, 101, step)]


def mapping_table_sw(points: tuple[int, ...] = (0, 25, 50, 100, 200, 300, 500, 750, 1000)) -> list[tuple[int, float]]:
    return [(sw, sw_to_scale(sw)) for sw in points]


def cw_reference_counts(cw: int, references: int) -> tuple[int, int]:
    """(face crops, full references) a character card gives a reference-edit model at ``cw``.

    cw 0: the face crop only (outfit and age follow the prompt); cw 100: the full references only;
    in between both, with ceil(references · cw / 100) full references (the highest-weighted first).
    Face crops are non-increasing and full references non-decreasing in cw (MAPPING.md).
    """
    if not 0 <= cw <= 100:
        raise EngineError(f"cw must be in 0..100, got {cw}")
    full = -(-references * cw // 100)
    return (0 if cw == 100 and references else 1), full


def sw_reference_count(sw: int, references: int) -> int:
    """Style references a reference-edit model gets at ``sw``: none at 0, then
    ceil(references · min(sw, 100) / 100) (all of them from sw 100 up). Non-decreasing in sw."""
    if not 0 <= sw <= 1000:
        raise EngineError(f"sw must be in 0..1000, got {sw}")
    return -(-references * min(sw, 100) // 100)
