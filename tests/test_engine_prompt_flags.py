import pytest

from engine.jobs import GenerationRequest, Preset
from engine.prompt_flags import PromptFlagError, Reference, apply_flags, parse_prompt


def test_plain_prompt_has_no_flags():
    flags = parse_prompt("  a knight at dawn  ")
    assert flags.prompt == "a knight at dawn"
    assert flags.seed is None and flags.negative == [] and flags.aspect_ratio is None


def test_common_flags():
    flags = parse_prompt("a knight --ar 2:3 --seed 42 --no text, logo ,  --steps 12 --repeat 4")
    assert flags.prompt == "a knight"
    assert flags.aspect_ratio == (2, 3)
    assert flags.seed == 42
    assert flags.negative == ["text", "logo"]
    assert flags.steps == 12 and flags.variants == 4


def test_aliases_and_case():
    flags = parse_prompt("x --ASPECT 16:9 --r 2 --Seed 1")
    assert flags.aspect_ratio == (16, 9) and flags.variants == 2 and flags.seed == 1


def test_references_with_weights_and_oref():
    flags = parse_prompt("hero --cref a.png b.png::2 --cw 30 --sref https://x.org/s.jpg::0.5 --sw 250 --oref c.png --ow 400")
    assert flags.cref == [Reference("a.png"), Reference("b.png", 2.0)]
    assert flags.sref == [Reference("https://x.org/s.jpg", 0.5)]
    assert flags.cw == 30 and flags.sw == 250
    assert [r.ref for r in flags.character_refs] == ["a.png", "b.png", "c.png"]
    assert parse_prompt("x --ow 400").character_weight == 40


def test_style_presets():
    assert parse_prompt("x --niji 6").style == "anime"
    assert parse_prompt("x --niji").style == "anime"
    assert parse_prompt("x --style raw").style == "raw"
    assert parse_prompt("x --fast").preset is Preset.FAST
    assert parse_prompt("x --q .5").preset is Preset.FAST
    assert parse_prompt("x --quality 2").preset is Preset.QUALITY


@pytest.mark.parametrize("text, fragment", [
    ("x --chaos 20", "unknown prompt flag --chaos"),
    ("x --ar 2", "--ar needs W:H"),
    ("x --ar 0:3", "--ar needs W:H"),
    ("x --ar 20:1", "too extreme"),
    ("x --seed -1", "between 0 and"),
    ("x --seed abc", "whole number"),
    ("x --cw 101", "between 0 and 100"),
    ("x --sw 5000", "between 0 and 1000"),
    ("x --no", "needs something"),
    ("x --style fancy", "--style 'fancy' is unknown"),
    ("x --cref", "at least one"),
    ("x --repeat 0", "between 1 and 64"),
    ("x --fast yes", "takes no value"),
])
def test_bad_flags_give_one_line_errors(text, fragment):
    with pytest.raises(PromptFlagError) as info:
        parse_prompt(text)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_double_dash_inside_words_is_not_a_flag():
    assert parse_prompt("black--white ink").prompt == "black--white ink"


def test_apply_flags_to_request():
    request = GenerationRequest(model="m", prompt="ignored", negative_prompt="blurry", width=512, height=512)
    out = apply_flags(request, parse_prompt("a cat --ar 3:2 --seed 9 --no dog --niji --repeat 3 --fast"))
    assert out.prompt.startswith("a cat, anime style")
    assert out.negative_prompt.startswith("blurry, dog, photo")
    assert out.aspect_ratio == pytest.approx(1.5) and out.width is None and out.height is None
    assert out.seed == 9 and out.variants == 3 and out.preset is Preset.FAST
    assert request.prompt == "ignored"  # the original is untouched


def test_request_accepts_plain_strings():
    from engine.jobs import EngineError, JobKind

    request = GenerationRequest(kind="vary_region", preset="fast", model="m")
    assert request.kind is JobKind.VARY_REGION and request.preset is Preset.FAST
    with pytest.raises(EngineError):
        GenerationRequest(preset="turbo-max")
