"""Where a panel's image lands in its frame, and how that changes when the image grows.

Placement math is shared by the canvas, export and outpainting so that all three agree:
the image is centred on the frame's bounding box, scaled to cover it (``Placement.scale`` 1.0),
then moved by ``offset_x/offset_y`` mm and scaled by ``Placement.scale``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .project import Placement, Rect


@dataclass(frozen=True)
class ImageFrame:
    """An image's rectangle on the page in mm (x, y, w, h) and its mm-per-pixel."""

    rect: Rect
    mm_per_px: float


def cover_mm_per_px(frame: Rect, size: tuple[int, int]) -> float:
    w, h = size
    return max(frame.w / w, frame.h / h)


def image_frame(frame: Rect, size: tuple[int, int], placement: Placement) -> ImageFrame:
    """The page rectangle an image of ``size`` px covers inside ``frame`` with ``placement``."""
    mmpx = cover_mm_per_px(frame, size) * placement.scale
    w, h = size[0] * mmpx, size[1] * mmpx
    cx = frame.x + frame.w / 2 + placement.offset_x
    cy = frame.y + frame.h / 2 + placement.offset_y
    return ImageFrame(Rect(cx - w / 2, cy - h / 2, w, h), mmpx)


def placement_after_growth(frame: Rect, old_size: tuple[int, int], new_size: tuple[int, int],
                           content_offset: tuple[int, int], placement: Placement) -> Placement:
    """Placement that keeps the old pixels where they were after the image grew (outpainting).

    ``content_offset`` is where the old image's top-left pixel lies in the new image.
    The new image shows at the same mm-per-pixel, so nothing visibly moves until the user reframes.
    """
    old = image_frame(frame, old_size, placement)
    new_cover = cover_mm_per_px(frame, new_size)
    scale = old.mm_per_px / new_cover
    new_w, new_h = new_size[0] * old.mm_per_px, new_size[1] * old.mm_per_px
    new_x = old.rect.x - content_offset[0] * old.mm_per_px
    new_y = old.rect.y - content_offset[1] * old.mm_per_px
    return Placement(offset_x=new_x + new_w / 2 - (frame.x + frame.w / 2),
                     offset_y=new_y + new_h / 2 - (frame.y + frame.h / 2), scale=scale)


def slide_into_view(frame: Rect, size: tuple[int, int], placement: Placement, side: str) -> Placement:
    """``placement`` moved, at the same scale, so that the image's ``side`` edge ("left", "right", "up"
    or "down") meets the frame's: after a pan the new strip is in sight. Moving toward that edge never
    uncovers the opposite side; an edge already inside the frame does not move."""
    img = image_frame(frame, size, placement).rect
    hidden = {"left": frame.x - img.x, "right": img.right - frame.right,
              "up": frame.y - img.y, "down": img.bottom - frame.bottom}
    if side not in hidden:
        raise ValueError(f"unknown side {side!r}")
    shift = max(0.0, hidden[side]) * (1.0 if side in ("left", "up") else -1.0)
    dx, dy = (shift, 0.0) if side in ("left", "right") else (0.0, shift)
    return Placement(offset_x=placement.offset_x + dx, offset_y=placement.offset_y + dy, scale=placement.scale)


def uncovered_sides(frame: Rect, size: tuple[int, int], placement: Placement, tolerance_mm: float = 0.05
                    ) -> dict[str, float]:
    """Sides of ``frame`` the image no longer fills, as fractions of the image's width/height.

    Used after a panel is resized to a new shape: the window offers to outpaint these parts.
    """
    img = image_frame(frame, size, placement).rect
    gaps = {
        "left": img.x - frame.x,
        "right": frame.right - img.right,
        "up": img.y - frame.y,
        "down": frame.bottom - img.bottom,
    }
    out: dict[str, float] = {}
    for side, gap in gaps.items():
        if gap > tolerance_mm:
            out[side] = gap / (img.w if side in ("left", "right") else img.h)
    return out
