"""Cards -> references of reference-edit models: the cw/sw mapping is monotonic and matches
MAPPING.md; too many references are composed side by side with a note; the wording names each."""

import re
from pathlib import Path

from PIL import Image

from engine.conditioning.mapping import cw_reference_counts, sw_reference_count
from engine.conditioning.references import plan_references
from engine.conditioning.types import CharacterReference, StyleCondition
from engine.families import FLUX2_KLEIN, FLUX_KONTEXT, QWEN_IMAGE_EDIT

MAPPING = Path(__file__).resolve().parents[1] / "engine" / "conditioning" / "MAPPING.md"


def test_cw_reference_counts_are_monotonic():
    for n in range(0, 6):
        counts = [cw_reference_counts(cw, n) for cw in range(101)]
        faces, full = [c[0] for c in counts], [c[1] for c in counts]
        assert all(a >= b for a, b in zip(faces, faces[1:]))  # face crop: non-increasing
        assert all(a <= b for a, b in zip(full, full[1:]))  # full references: non-decreasing
        assert full[0] == 0 and full[100] == n and faces[0] == 1
        assert all(f == 1 and 0 < r < n + 1 for f, r in counts[1:100]) or n == 0  # between: both


def test_sw_reference_count_is_monotonic():
    for n in range(0, 4):
        counts = [sw_reference_count(sw, n) for sw in range(1001)]
        assert counts[0] == 0 and counts[100] == n and counts[1000] == n
        assert all(a <= b for a, b in zip(counts, counts[1:]))


def test_mapping_table_matches_the_code():
    text = MAPPING.read_text(encoding="utf-8")
    section = text[text.index("cw_reference_counts(cw, n)"):]
    rows = re.findall(r"^\| cw (\d+)\s+\| (\d) \| (\d) \| (\d) \|$", section, re.M)
    assert len(rows) == 5
    for cw, face, full2, full4 in rows:
        assert cw_reference_counts(int(cw), 2) == (int(face), int(full2))
        assert cw_reference_counts(int(cw), 4) == (int(face), int(full4))


def _char(name, cw, colours):
    refs = [Image.new("RGB", (80, 100), c) for c in colours]
    return CharacterReference(name.lower(), name, cw=cw, face_image=Image.new("RGB", (40, 40), (1, 2, 3)),
                              reference_images=refs)


def test_two_characters_and_a_style_are_named_in_the_prompt():
    plan = plan_references(FLUX2_KLEIN, [_char("Mira", 0, [(255, 0, 0)]), _char("Juno", 100, [(0, 255, 0)]),
                                         StyleCondition("s", [Image.new("RGB", (64, 64))], sw=100)])
    assert len(plan.images) == 3 and not plan.notes
    assert plan.images[0].size == (64, 64)  # the 40 px face crop, enlarged to the pipelines' minimum
    assert plan.prompt("on a roof") == ("keep Mira exactly as in image 1; keep Juno exactly as in image 2; "
                                        "in the style of image 3. on a roof")


def test_more_references_than_the_model_takes_are_composed_with_a_note():
    chars = [_char("Mira", 50, [(255, 0, 0), (0, 0, 255)]), _char("Juno", 100, [(0, 255, 0)])]
    plan = plan_references(QWEN_IMAGE_EDIT, chars, current=Image.new("RGB", (64, 64)))
    # current, Mira's face, Mira's full reference, Juno's full reference: 4 > 3
    assert len(plan.images) == 3 and plan.notes and "composed side by side" in plan.notes[0]
    assert plan.images[2].width > plan.images[2].height  # two images side by side
    assert plan.wording.startswith("edit Picture 1;") and "Juno exactly as in Picture 3 (part 2 from the left)" \
        in plan.wording
    single = plan_references(FLUX_KONTEXT, chars)
    assert len(single.images) == 1 and single.notes


def test_cw_changes_what_is_sent():
    face_only = plan_references(FLUX2_KLEIN, [_char("Mira", 0, [(255, 0, 0)])]).images
    full_only = plan_references(FLUX2_KLEIN, [_char("Mira", 100, [(255, 0, 0)])]).images
    both = plan_references(FLUX2_KLEIN, [_char("Mira", 50, [(255, 0, 0)])]).images
    assert [im.size for im in face_only] == [(64, 64)]
    assert [im.getpixel((0, 0)) for im in full_only] == [(255, 0, 0)]
    assert len(both) == 2
