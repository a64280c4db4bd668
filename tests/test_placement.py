"""Image placement in a frame: outpainted images keep the old pixels where they were."""

import pytest

from app.project import Placement, Rect
from app.placement import image_frame, placement_after_growth, slide_into_view, uncovered_sides
from app.generation.request import pan_spec
from app.generation.result import content_offset


FRAME = Rect(10, 20, 80, 60)


def test_cover_fit_fills_frame():
    f = image_frame(FRAME, (512, 512), Placement())
    assert f.rect.w == pytest.approx(80) and f.rect.h == pytest.approx(80)
    assert f.rect.x == pytest.approx(10) and f.rect.y == pytest.approx(10)  # centred, overflowing top/bottom
    assert uncovered_sides(FRAME, (512, 512), Placement()) == {}


@pytest.mark.parametrize("spec_args,new_size", [(("left", 0.5, None), (768, 512)), (("up", 0.25, None), (512, 640)),
                                                 (("right", 1.0, None), (1024, 512)), ((None, None, 2.0), (1024, 1024))])
def test_old_pixels_stay_in_place_after_outpaint(spec_args, new_size):
    placement = Placement(offset_x=3.0, offset_y=-2.0, scale=1.2)
    old = image_frame(FRAME, (512, 512), placement)
    spec = pan_spec(*spec_args)
    offset = content_offset((512, 512), new_size, spec)
    new_placement = placement_after_growth(FRAME, (512, 512), new_size, offset, placement)
    new = image_frame(FRAME, new_size, new_placement)
    assert new.mm_per_px == pytest.approx(old.mm_per_px)
    assert new.rect.x + offset[0] * new.mm_per_px == pytest.approx(old.rect.x)
    assert new.rect.y + offset[1] * new.mm_per_px == pytest.approx(old.rect.y)


@pytest.mark.parametrize("direction,new_size", [("left", (768, 512)), ("right", (768, 512)), ("up", (512, 768)),
                                                ("down", (512, 768))])
def test_after_a_pan_the_new_strip_slides_into_the_frame(direction, new_size):
    placement = Placement(offset_x=3.0, offset_y=-2.0, scale=1.2)
    offset = content_offset((512, 512), new_size, pan_spec(direction, 0.5, None))
    grown = placement_after_growth(FRAME, (512, 512), new_size, offset, placement)
    hidden = image_frame(FRAME, new_size, grown).rect
    slid = slide_into_view(FRAME, new_size, grown, direction)
    img = image_frame(FRAME, new_size, slid)
    assert img.mm_per_px == pytest.approx(image_frame(FRAME, (512, 512), placement).mm_per_px)  # same scale
    edge = {"left": (img.rect.x, FRAME.x), "right": (img.rect.right, FRAME.right), "up": (img.rect.y, FRAME.y),
            "down": (img.rect.bottom, FRAME.bottom)}[direction]
    assert edge[0] == pytest.approx(edge[1])  # the new strip's outer edge meets the frame's: it is in sight
    assert img.rect.x <= FRAME.x + 1e-9 and img.rect.right >= FRAME.right - 1e-9  # the frame stays covered
    assert img.rect.y <= FRAME.y + 1e-9 and img.rect.bottom >= FRAME.bottom - 1e-9
    across = (hidden.y, img.rect.y) if direction in ("left", "right") else (hidden.x, img.rect.x)
    assert across[0] == pytest.approx(across[1])  # only along the pan's axis
    assert slide_into_view(FRAME, new_size, slid, direction) == slid  # an edge in sight stays put


def test_resized_frame_reports_uncovered_sides():
    wide = Rect(10, 20, 160, 60)  # the panel was made twice as wide
    placement = Placement()
    old_frame = image_frame(FRAME, (512, 384), placement)
    # keep the image's page position: offset/scale chosen for the old frame, now the frame is wider
    p = Placement(offset_x=old_frame.rect.x + old_frame.rect.w / 2 - (wide.x + wide.w / 2),
                  scale=old_frame.mm_per_px / (max(wide.w / 512, wide.h / 384)))
    sides = uncovered_sides(wide, (512, 384), p)
    assert set(sides) == {"right"} and sides["right"] == pytest.approx(1.0, rel=1e-3)


def test_pan_spec_errors_are_one_line():
    with pytest.raises(Exception, match="either --direction"):
        pan_spec("left", 0.5, 2.0)
    with pytest.raises(Exception, match="unknown direction"):
        pan_spec("sideways", 0.5, None)
