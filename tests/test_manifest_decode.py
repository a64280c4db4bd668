"""The specialised manifest decoders (``manifest.decode``) against the generic one (``decode_generic``):
on valid and on mutated manifests (wrong types, lone surrogates, non-finite numbers, missing and
unknown keys, deep nesting, start depths near MAX_DEPTH) both give the same value or the same error."""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Any

import pytest

from app import manifest
from app.manifest import MAX_DEPTH, ManifestError, decode, decode_generic, encode
from app.project import (Balloon, BalloonKind, CardBinding, CharacterCard, IdentityMethod, Motion, Page, Panel,
                         Placement, Project, Rect, Reference, StyleCard, Variant)
from tests.helpers_project import random_document


def _book(pages: int = 3) -> Project:
    """A small book that uses every field: cards, bindings, regions, variants, loops, balloons."""
    ada = CharacterCard("char-1", "Ada", "tall", [Reference("img-a", 1.5, {"insight": [{"box": [1, 2.5]}]}, 1)],
                        "ada", ["A", "Ádá"], "loras/ada.safetensors", 0.7, IdentityMethod.FACEID)
    ink = StyleCard("style-1", "Ink", [Reference("img-s")], ", ink", "blurry", "sd15.safetensors", None, 1.0, "manga-ink")
    out = Project(characters=[ada], styles=[ink], dpi=300, title="Tale ✓", settings={"steps": 20, "cfg": 6.5})
    for p in range(pages):
        panels = []
        for i in range(3):
            variants = [Variant(f"var-{p}-{i}-{v}", f"img-{p}-{i}-{v}", "generate", v or None, "a cat", v == 1,
                                "2024-01-01T00:00:00", {"identity": [{"card": "char-1", "score": 0.5}], "n": None})
                        for v in range(2)]
            variants[1].motion = Motion([variants[1].image, "frame-2"], 8, 0)
            panels.append(Panel(f"panel-{p}-{i}", [(10.0, 10.0 + 50 * i), (100.0, 10.0), (100.0, 50.0), (10, 50)],
                                i, "prompt", "", 7 if i else None,
                                [CardBinding("char-1", 80, [0.0, 0.0, 0.5, 1.0])], [CardBinding("style-1", 100)],
                                variants, variants[0].id, Placement(1.0, -2.0, 1.25)))
        balloons = [Balloon(f"bal-{p}", BalloonKind.WHISPER, Rect(20, 20.5, 50.0, 25.0), "Hi\n¡Ay!", (40.0, 60), "", 9.0)]
        out.pages.append(Page(f"page-{p}", 210.0, 297.0, "A4", panels=panels, balloons=balloons, template="grid"))
    return out


def _data(project: Project) -> dict:
    data = encode(dataclasses.replace(project, images={}))
    data.pop("images")
    return data


def _outcome(fn: Any, tp: Any, value: Any, depth: int = 0) -> tuple[str, str]:
    """What a decoder gives: the value's repr (telling 1 from 1.0 and True from 1), or the error."""
    try:
        return "ok", repr(fn(tp, value, "manifest", depth))
    except ManifestError as exc:
        return "ManifestError", str(exc)
    except Exception as exc:  # noqa: BLE001 - any other error must match too
        return type(exc).__name__, str(exc)


def _same(tp: Any, value: Any, depth: int = 0) -> tuple[str, str]:
    before = _copy(value)
    fast = _outcome(decode, tp, value, depth)
    assert fast == _outcome(decode_generic, tp, value, depth)
    assert value == before  # neither decoder changes its input
    return fast


def _nested(depth: int, rng: random.Random) -> Any:
    value: Any = rng.choice([1, "x", 1.5, None, {}, []])
    for _ in range(depth):
        value = [value] if rng.random() < 0.5 else {"k": value}
    return value


_WRONG = [None, True, False, 0, 1, -1, 2**31, 2**70, 10**400, 1.5, -0.0, 1e308, math.nan, math.inf, -math.inf,
          "", "x", "é", "\ud800", "a\udfffb", "ltr", "speech", "auto", [], [1], [1.0, 2.0], [1, "x"], ["\ud83d"],
          [[1.0, 2.0]], {}, {"a": 1}, {"\udc00": 1}, {"a": math.nan}, {"x": 1.0, "y": 2.0, "w": 3.0, "h": 4.0}]


def _copy(value: Any) -> Any:
    """A copy of a JSON tree (faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return [_copy(v) for v in value] if isinstance(value, list) else value


def _place(data: dict, rng: random.Random) -> tuple[Any, Any]:
    """A random place in the JSON tree below its root: (the object or list holding it, its key)."""
    parent, key = data, rng.choice(list(data))
    while isinstance(parent[key], (dict, list)) and parent[key] and rng.random() < 0.8:
        parent = parent[key]
        key = rng.choice(list(parent)) if isinstance(parent, dict) else rng.randrange(len(parent))
    return parent, key


def _mutate(data: dict, rng: random.Random) -> dict:
    """``data`` with one to three random changes: a wrong value, a removed or unknown key, deep nesting."""
    data = _copy(data)
    for _ in range(rng.randint(1, 3)):
        parent, key = _place(data, rng)
        what = rng.random()
        if what < 0.15 and isinstance(parent, dict):
            del parent[key]
        elif what < 0.25 and isinstance(parent, dict):
            parent[rng.choice(["unknown", "extra\ud800", "ids"])] = rng.choice(_WRONG)
        elif what < 0.35:
            parent[key] = _nested(rng.randint(MAX_DEPTH - 12, MAX_DEPTH + 4), rng)
        elif what < 0.45 and isinstance(parent, dict):
            parent.pop(key)
            parent[key] = _copy(rng.choice(_WRONG))  # the same key, now last: another order
        else:
            parent[key] = _copy(rng.choice(_WRONG))
    return data


def test_valid_manifests_decode_equal_and_alike():
    data = _data(_book())
    project = decode(Project, data, "manifest")
    assert project == decode_generic(Project, data, "manifest") == _book()
    assert _same(Project, data)[0] == "ok"
    for seed in range(4):
        assert _same(Project, _data(random_document(seed, n_ops=25).project))[0] == "ok"


def _objects(data: dict) -> list[tuple[type, dict]]:
    """One object of each dataclass in a manifest, with its type."""
    page = data["pages"][0]
    panel, card = page["panels"][0], data["characters"][0]
    variant = panel["variants"][1]
    return [(Project, data), (Page, page), (Panel, panel), (CardBinding, panel["characters"][0]), (Variant, variant),
            (Motion, variant["motion"]), (Placement, panel["placement"]), (Balloon, page["balloons"][0]),
            (Rect, page["balloons"][0]["rect"]), (CharacterCard, card), (StyleCard, data["styles"][0]),
            (Reference, card["references"][0])]


def test_every_field_with_every_wrong_value_and_without_it():
    for tp, obj in _objects(_data(_book(pages=1))):
        for name in obj:
            for wrong in _WRONG:
                _same(tp, {**obj, name: wrong})
            _same(tp, {k: v for k, v in obj.items() if k != name})
            _same(tp, {**{k: v for k, v in obj.items() if k != name}, name: obj[name], "unknown": 1})


@pytest.mark.parametrize("seed", range(3))
def test_mutated_manifests_give_the_same_value_or_error(seed):
    rng = random.Random(seed)
    base = _data(_book(pages=1))
    kinds = set()
    for _ in range(300):
        kinds.add(_same(Project, _mutate(base, rng), rng.choice([0, 0, 0, 0, MAX_DEPTH - 12, MAX_DEPTH - 10]))[0])
    assert kinds >= {"ok", "ManifestError"}


def test_errors_name_the_same_path():
    data = _data(_book())
    data["pages"][1]["panels"][0]["variants"][1]["seed"] = "x"
    assert _same(Project, data) == (
        "ManifestError", "manifest.pages[1].panels[0].variants[1].seed: expected an integer, got 'x'")
    for value, message in ((True, "expected an integer, got True"), (1.0, "expected an integer, got 1.0")):
        data["pages"][1]["panels"][0]["variants"][1]["seed"] = value
        assert _same(Project, data)[1].endswith(message)
    data = _data(_book())
    del data["pages"][2]["balloons"][0]["rect"]["h"]
    assert _same(Project, data)[1] == "manifest.pages[2].balloons[0].rect: missing 'h'"
    data = _data(_book())
    data["pages"][0]["panels"][2]["points"][3][1] = math.inf
    assert _same(Project, data)[1] == "manifest.pages[0].panels[2].points[3][1]: expected a number, got inf"
    data = _data(_book())
    data["characters"][0]["aliases"][1] = "A\ud800"
    assert "characters[0].aliases[1]: the text holds an invalid character" in _same(Project, data)[1]


@pytest.mark.parametrize("start", range(MAX_DEPTH - 12, MAX_DEPTH + 2))
def test_max_depth_is_enforced_alike_at_every_start_depth(start):
    data = _data(_book(pages=1))
    _same(Project, data, start)
    page = data["pages"][0]
    for tp, value in ((Page, page), (Panel, page["panels"][0]), (Variant, page["panels"][0]["variants"][1]),
                      (list[Panel], page["panels"]), (Balloon, page["balloons"][0]), (dict, {"a": [[{"b": 1}]]})):
        _same(tp, value, start)
    params = page["panels"][0]["variants"][0]["params"]
    params["deep"] = _nested(start - 10, random.Random(start))
    _same(Project, data)


def test_the_deepest_file_that_passes():
    data = _data(_book(pages=1))
    results = [_same(Project, data, start)[0] for start in range(MAX_DEPTH + 2)]
    assert results[0] == "ok" and results[-1] == "ManifestError"
    assert results == sorted(results, key=lambda r: r != "ok")  # ok up to a depth, too deep after it
    assert {_same(Project, data, start)[1] for start in range(results.index("ManifestError"), MAX_DEPTH + 2)} >= {
        "manifest.pages[0].panels[0].variants[0].params.identity[0].card: nested too deeply"}


@dataclasses.dataclass
class _Inner:
    n: int = 0


@dataclasses.dataclass
class _Outer:
    inner: _Inner | None = None
    more: list[_Outer] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Only:
    inner: _Inner | None = None


def test_optional_and_recursive_dataclasses_at_the_depth_limit():
    chain: dict = {"inner": {"n": 1}}
    for _ in range(MAX_DEPTH // 2 + 1):
        chain = {"more": [chain, {"inner": None}]}
    for start in range(MAX_DEPTH - 3, MAX_DEPTH + 2):
        for value in ({"inner": None}, {"inner": {"n": 2}}, {"inner": None, "more": [{"inner": None}]}, chain):
            _same(_Outer, value, start)
        for value in ({"inner": None}, {"inner": {"n": 2}}, {}, {"inner": 1}):
            _same(_Only, value, start)


def test_other_shapes_the_clipboard_decodes():
    book = _data(_book(pages=1))
    for tp, value in ((list[Panel], book["pages"][0]["panels"]), (list[Balloon], book["pages"][0]["balloons"]),
                      (dict[str, str], {"a": "b"}), (dict[str, str], {"a": "\ud800"}), (list[Panel], {}),
                      (str | None, None), (int | str, "x"), (Any, {"a": [1, math.nan]}), (tuple[int, ...], [1])):
        _same(tp, value)
    assert manifest.decode(list[int], [1, 2], "w") == [1, 2]


def _reference_check_raw_counts(data: dict) -> None:
    """check_raw_counts as it was before it was made faster (the reference it is compared with)."""
    from app import limits
    from app.manifest import _count, _field

    pages = data.get("pages") if isinstance(data.get("pages"), list) else []
    problem = limits.count_problem(
        ((_count(_field(page, "panels")), _count(_field(page, "balloons")),
          (_count(_field(panel, "variants")) for panel in (_field(page, "panels") or [])
           if isinstance(_field(page, "panels"), list)))
         for page in pages),
        [_count(_field(card, "references")) for group in ("characters", "styles")
         for card in (data.get(group) if isinstance(data.get(group), list) else [])])
    if problem:
        raise ManifestError(f"the project is over a limit: {problem}")
    for page in pages:
        for panel in (_field(page, "panels") if isinstance(_field(page, "panels"), list) else []):
            for variant in (_field(panel, "variants") if isinstance(_field(panel, "variants"), list) else []):
                frames = _count(_field(_field(variant, "motion"), "frames"))
                if frames > limits.MAX_FRAMES_PER_LOOP:
                    raise ManifestError(f"the project is over a limit: a loop has {frames} frames "
                                        f"(the limit is {limits.MAX_FRAMES_PER_LOOP})")


def _raw_outcome(check: Any, data: dict) -> tuple[str, str]:
    try:
        check(data)
        return "ok", ""
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__, str(exc)


def _over(rng: random.Random, key: Any) -> Any:
    """A list at, just over or well over the limit on the count held at ``key``, or something not a list."""
    from app import limits

    n = {"pages": limits.MAX_PAGES, "panels": limits.MAX_PANELS_PER_PAGE, "balloons": limits.MAX_BALLOONS_PER_PAGE,
         "variants": limits.MAX_VARIANTS_PER_PANEL, "frames": limits.MAX_FRAMES_PER_LOOP,
         "references": limits.MAX_REFERENCES_PER_CARD}.get(key, limits.MAX_CARDS)
    return rng.choice([[{}] * (n + rng.choice([0, 1, 2, 40])), ["f"] * (n + rng.choice([0, 1])),
                       "ab", {"a": 1}, None, 0, [5]])


def _count_places(data: dict) -> list[tuple[Any, Any]]:
    """The places that hold a counted list: pages, panels, balloons, variants, frames, cards, references."""
    out = [(data, "pages"), (data, "characters"), (data, "styles")]
    out += [(card, "references") for card in data["characters"] + data["styles"]]
    for page in data["pages"]:
        out += [(page, "panels"), (page, "balloons")]
        for panel in page["panels"]:
            out.append((panel, "variants"))
            out += [(variant.get("motion") or variant, "frames") for variant in panel["variants"]]
    return out


@pytest.mark.parametrize("seed", range(2))
def test_raw_counts_refuse_what_they_refused(seed):
    from app.manifest import check_raw_counts

    rng = random.Random(seed)
    base = _data(_book(pages=2))
    outcomes = set()
    for _ in range(150):
        data = _copy(base)
        places = _count_places(data)
        for _ in range(rng.randint(1, 3)):
            parent, key = _place(data, rng) if rng.random() < 0.3 else rng.choice(places)
            parent[key] = _over(rng, key)
        old, new = _raw_outcome(_reference_check_raw_counts, data), _raw_outcome(check_raw_counts, data)
        assert new == old or (old[0] == "TypeError" and new[0] == "ok")  # "panels": 5 crashed the old one
        outcomes.add(new[0])
    assert outcomes == {"ok", "ManifestError"}


def test_a_number_where_a_list_belongs_is_refused_with_one_line():
    data = {"schema": manifest.SCHEMA_VERSION, **_data(_book(pages=1))}
    data["pages"][0]["panels"] = 5  # check_raw_counts used to raise TypeError on it
    with pytest.raises(ManifestError, match=r"^manifest\.pages\[0\]\.panels: expected a list, got 5$"):
        manifest.manifest_to_project(data, {})
