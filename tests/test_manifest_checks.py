"""The load checks made faster (``check_project``, ``check_page``, the geometry shortcut) refuse exactly
what the previous versions refused, with the same message: compared on mutated books and outlines."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from app import layout, manifest
from app.manifest import ManifestError, _check_motion, _plainly_valid, check_counts, decode_generic
from app.project import Page, Project
from tests.test_manifest_decode import _book, _copy, _data

# --- the previous versions, as references ---------------------------------------------------------------

def _ref_check_project(project: Project, image_keys: set[str], checked: Any = None) -> None:
    """Semantic checks: counts, page sizes, geometry, unique ids, card bindings, image references.

    A page ``checked`` already knows (unchanged since it was encoded) skips the checks that depend
    on the page alone (:func:`check_page`)."""
    check_counts(project)
    if not 36 <= project.dpi <= 2400:
        raise ManifestError(f"dpi {project.dpi} is out of range (36–2400)")
    ids: set[str] = set()

    def unique(item_id: str, where: str) -> None:
        if not item_id or item_id in ids:
            raise ManifestError(f"{where}: duplicate or empty id {item_id!r}")
        ids.add(item_id)

    for c, card in enumerate(project.characters):
        unique(card.id, f"characters[{c}]")
    for c, card in enumerate(project.styles):
        unique(card.id, f"styles[{c}]")
    char_ids = {c.id for c in project.characters}
    style_ids = {c.id for c in project.styles}
    for p, page in enumerate(project.pages):
        where = f"pages[{p}]"
        unique(page.id, where)
        if checked is None or not checked.known(page):
            _ref_check_page(page, where)
        for i, panel in enumerate(page.panels):
            pw = f"{where}.panels[{i}]"
            unique(panel.id, pw)
            for b in panel.characters:
                if b.card not in char_ids:
                    raise ManifestError(f"{pw} is bound to unknown character card {b.card!r}")
            for b in panel.styles:
                if b.card not in style_ids:
                    raise ManifestError(f"{pw} is bound to unknown style card {b.card!r}")
            vids = set()
            for v, variant in enumerate(panel.variants):
                unique(variant.id, f"{pw}.variants[{v}]")
                vids.add(variant.id)
                if variant.image not in image_keys:
                    raise ManifestError(f"{pw}.variants[{v}] refers to missing image {variant.image!r}")
                if variant.motion is not None:
                    _check_motion(variant, image_keys, f"{pw}.variants[{v}].motion")
            if panel.current is not None and panel.current not in vids:
                raise ManifestError(f"{pw}.current refers to unknown variant {panel.current!r}")
        for i, balloon in enumerate(page.balloons):
            unique(balloon.id, f"{where}.balloons[{i}]")
    for card in [*project.characters, *project.styles]:
        if not -10 <= card.lora_weight <= 10:  # NaN fails too
            raise ManifestError(f"card {card.id!r}: LoRA weight {card.lora_weight} is out of range (-10–10)")
        for r, ref in enumerate(card.references):
            if ref.image not in image_keys:
                raise ManifestError(f"card {card.id!r} reference {r} refers to missing image {ref.image!r}")
            if not 0 <= ref.weight <= 100:
                raise ManifestError(f"card {card.id!r} reference {r}: weight {ref.weight} is out of range (0–100)")
            if not 0 <= ref.face_index < 1000:
                raise ManifestError(f"card {card.id!r} reference {r}: face index {ref.face_index} is out of range")


def _ref_check_page(page: Page, where: str) -> None:
    """The checks that depend on the page alone: its size and margins, each item's geometry and ranges."""
    if not (1 <= page.width_mm <= 10_000 and 1 <= page.height_mm <= 10_000):
        raise ManifestError(f"{where}: page size {page.width_mm:g} × {page.height_mm:g} mm is absurd")
    for name in ("bleed_mm", "safe_mm", "gutter_mm", "stroke_mm"):
        value = getattr(page, name)
        if not 0 <= value <= 100:
            raise ManifestError(f"{where}.{name} {value:g} is out of range (0–100 mm)")
    for i, panel in enumerate(page.panels):
        pw = f"{where}.panels[{i}]"
        _ref_geometry(panel.points, page, pw)
        if not 0.05 <= panel.placement.scale <= 20:
            raise ManifestError(f"{pw}.placement.scale {panel.placement.scale} is out of range (0.05–20)")
        if abs(panel.placement.offset_x) > 10_000 or abs(panel.placement.offset_y) > 10_000:
            raise ManifestError(f"{pw}.placement offset is absurd")
        for b in panel.characters:
            if not 0 <= b.weight <= 100:
                raise ManifestError(f"{pw}: cw {b.weight} is out of range (0–100)")
        for b in panel.styles:
            if not 0 <= b.weight <= 1000:
                raise ManifestError(f"{pw}: sw {b.weight} is out of range (0–1000)")
    for i, balloon in enumerate(page.balloons):
        bw = f"{where}.balloons[{i}]"
        _ref_geometry(balloon.rect.points(), page, bw)
        if balloon.tail is not None:
            _ref_geometry([balloon.tail, (balloon.tail[0] + 1, balloon.tail[1]), (balloon.tail[0], balloon.tail[1] + 1)],
                      page, f"{bw}.tail")
        if not 0.5 <= balloon.font_size <= 500:
            raise ManifestError(f"{bw}.font_size {balloon.font_size} is out of range (0.5–500 pt)")


def _ref_geometry(points: list, page: Page, where: str) -> None:
    try:
        layout.validate_geometry(points, page)
    except ValueError as exc:
        raise ManifestError(f"{where}: {exc}") from None


# --- the comparisons ------------------------------------------------------------------------------------


def _outcome(check: Any, *args: Any) -> tuple[str, str]:
    try:
        check(*args)
        return "ok", ""
    except Exception as exc:  # noqa: BLE001 - any error must match too
        return type(exc).__name__, str(exc)


_NUMBERS = [-1e9, -20001, -101, -11, -1, -0.5, 0, 0.01, 0.04, 0.3, 0.5, 1, 2, 7, 36, 60, 61, 99, 100, 101, 255, 256,
            500, 999, 1000, 1001, 2400, 2401, 9999, 10_000, 10_001, 20_000, 1e5, 1e9]


def _leaves(data: Any, path: tuple = ()) -> list[tuple]:
    """The paths of every number and text in a JSON tree."""
    if isinstance(data, (dict, list)):
        items = data.items() if isinstance(data, dict) else enumerate(data)
        return [leaf for key, item in items for leaf in _leaves(item, (*path, key))]
    return [path] if isinstance(data, (int, float, str)) and not isinstance(data, bool) else []


def _mutated_project(base: dict, leaves: list[tuple], rng: random.Random, ids: list[str],
                     keys: list[str]) -> Project | None:
    """A decodable project with one to three values changed: numbers, ids (repeated, empty), image keys."""
    data = _copy(base)
    for path in rng.sample(leaves, rng.randint(1, 3)):
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        value = parent[path[-1]]
        if isinstance(value, str):
            parent[path[-1]] = rng.choice([*ids, *keys, "", "missing"])
        else:
            parent[path[-1]] = rng.choice(_NUMBERS) if isinstance(value, float) else int(rng.choice(_NUMBERS))
    try:
        return decode_generic(Project, data, "manifest")
    except ManifestError:
        return None


@pytest.mark.parametrize("seed", range(3))
def test_check_project_refuses_what_it_refused(seed):
    rng = random.Random(seed)
    book = _book(pages=2)
    base, keys = _data(book), sorted(book.referenced_images())
    leaves = _leaves(base)
    ids = [p.id for p in book.pages] + [x.id for _, pn in book.iter_panels() for x in [pn, *pn.variants]]
    outcomes = set()
    for _ in range(250):
        project = _mutated_project(base, leaves, rng, ids, keys)
        if project is None:
            continue
        image_keys = set(rng.sample(keys, len(keys) - (rng.random() < 0.15)))
        new = _outcome(manifest.check_project, project, image_keys)
        assert new == _outcome(_ref_check_project, project, image_keys)
        outcomes.add(new[0])
    assert outcomes == {"ok", "ManifestError"}


def _outline(rng: random.Random, page: Page) -> list:
    """Corners of many kinds: ordinary, tiny, huge, far off, non-finite, too few or too many, odd types."""
    n = rng.choice([2, 3, 4, 4, 5, 8, 64, 65])
    scale = rng.choice([1e-3, 0.3, 0.7, 1, 10, 300, 3000, 1e5])
    x0, y0 = rng.uniform(-50, 250), rng.uniform(-50, 300)
    points = [(x0 + scale * math.cos(2 * math.pi * k / n), y0 + scale * math.sin(2 * math.pi * k / n))
              for k in range(n)]
    if rng.random() < 0.2:  # a sliver, an area just around 0.25 mm²
        w = rng.choice([0.24999, 0.25, 0.25001, 0.26, 0.5, 1.0]) / rng.choice([1, 0.5, 10])
        points = [(x0, y0), (x0 + rng.choice([1, 0.5, 10]), y0), (x0 + rng.choice([1, 0.5, 10]), y0 + w)][::-1]
        points = [(x0, y0), (points[1][0], y0), (points[1][0], y0 + w)]
    if rng.random() < 0.2:
        k = rng.randrange(len(points))
        points[k] = (rng.choice([math.nan, math.inf, -math.inf, 1e300, 10**400, "1", None, 30000]), points[k][1])
    if rng.random() < 0.05:
        points[0] = (1.0, 2.0, 3.0)
    return points


def test_the_geometry_shortcut_passes_only_what_validate_geometry_passes():
    rng = random.Random(7)
    kinds = set()
    for _ in range(3000):
        page = Page("p", rng.choice([1.0, 210.0, 10_000.0]), rng.choice([1.0, 297.0, 10_000.0]))
        points = _outline(rng, page)
        expected = _outcome(layout.validate_geometry, points, page)
        if _plainly_valid(points, page):
            assert expected == ("ok", ""), points
        got = _outcome(manifest._geometry, points, page, "{}.panels[{}]", "pages[3]", 2)
        if expected[0] == "ValueError":
            expected = ("ManifestError", f"pages[3].panels[2]: {expected[1]}")
        assert got == expected
        kinds.add((expected[0], _plainly_valid(points, page)))
    assert kinds >= {("ok", True), ("ok", False), ("ManifestError", False)}


def test_check_counts_is_unchanged():
    check_counts(_book())  # check_project still starts with it
    assert _check_motion is manifest._check_motion
