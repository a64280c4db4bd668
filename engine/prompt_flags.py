"""Midjourney-style flags inside a prompt, e.g. ``a knight --ar 2:3 --seed 7 --no text, logo``.

`parse_prompt(text)` splits the text into the prompt and a `PromptFlags`; `apply_flags`
copies what the engine understands onto a `GenerationRequest`. Reference flags
(``--cref/--oref/--sref`` with their weights) are returned for the identity/style layer.

Flags (case-insensitive, ``--name value``):
  --ar / --aspect W:H     aspect ratio           --seed N          seed (0..2**32-1)
  --no a, b               negative prompt terms  --steps N         sampling steps
  --repeat / --r N        variants (1..64)       --variants N      same as --repeat
  --cref REF[::W] ...     character references   --cw N            character weight 0..100
  --oref REF[::W] ...     same as --cref (MJ 7)  --ow N            omni weight 0..1000
  --sref REF[::W] ...     style references       --sw N            style weight 0..1000
  --style raw             no style preset        --niji [V]        anime style preset
  --fast / --quality      sampling preset        --q / --quality N <1 -> fast, >=1 -> quality
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Optional

from engine.jobs import EngineError, GenerationRequest, Preset


class PromptFlagError(EngineError):
    """A flag in the prompt is unknown or has a bad value."""


@dataclass(frozen=True)
class Reference:
    """A reference image (path or URL) with its relative weight (``REF::2``)."""

    ref: str
    weight: float = 1.0


@dataclass(frozen=True)
class StylePreset:
    name: str
    prompt_suffix: str = ""
    negative: str = ""


STYLE_PRESETS: dict[str, StylePreset] = {
    "raw": StylePreset("raw"),
    "anime": StylePreset(
        "anime",
        "anime style, cel shading, clean line art, vibrant colors",
        "photo, photorealistic, 3d render",
    ),
    "manga-ink": StylePreset(
        "manga-ink",
        "black and white manga, ink drawing, screentone shading, bold clean linework, high contrast",
        "color, colour, colored, photo, photorealistic, 3d render, blurry",
    ),
    "western": StylePreset(
        "western",
        "western comic book art, bold ink outlines, flat vivid colors, halftone shading, dynamic",
        "anime, manga, photo, photorealistic, 3d render, monochrome",
    ),
}


@dataclass
class PromptFlags:
    prompt: str = ""
    negative: list[str] = field(default_factory=list)
    aspect_ratio: Optional[tuple[int, int]] = None
    seed: Optional[int] = None
    steps: Optional[int] = None
    variants: Optional[int] = None
    preset: Optional[Preset] = None
    style: Optional[str] = None
    cref: list[Reference] = field(default_factory=list)
    cw: Optional[int] = None
    oref: list[Reference] = field(default_factory=list)
    ow: Optional[int] = None
    sref: list[Reference] = field(default_factory=list)
    sw: Optional[int] = None

    @property
    def character_refs(self) -> list[Reference]:
        """--cref and --oref together (Panelsmith treats them as the same thing)."""
        return [*self.cref, *self.oref]

    @property
    def character_weight(self) -> Optional[int]:
        """--cw, or --ow scaled from 0..1000 to 0..100."""
        if self.cw is not None:
            return self.cw
        return None if self.ow is None else min(100, round(self.ow / 10))


_FLAG_RE = re.compile(r"(?:^|\s)--([A-Za-z][\w-]*)")
_ALIASES = {"aspect": "ar", "r": "repeat", "variants": "repeat", "q": "quality", "omni": "oref"}


def _int(name: str, value: str, lo: int, hi: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise PromptFlagError(f"--{name} needs a whole number, got {value.strip()!r}") from None
    if not lo <= number <= hi:
        raise PromptFlagError(f"--{name} must be between {lo} and {hi}, got {number}")
    return number


def _refs(name: str, value: str) -> list[Reference]:
    refs = []
    for token in value.split():
        ref, sep, weight = token.rpartition("::")
        if not sep:
            refs.append(Reference(token))
            continue
        try:
            refs.append(Reference(ref, float(weight)))
        except ValueError:
            raise PromptFlagError(f"--{name}: bad weight in {token!r} (use REF::2)") from None
    if not refs:
        raise PromptFlagError(f"--{name} needs at least one image path or URL")
    return refs


def _aspect(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*", value)
    if not match or 0 in (int(match[1]), int(match[2])):
        raise PromptFlagError(f"--ar needs W:H such as 2:3, got {value.strip()!r}")
    w, h = int(match[1]), int(match[2])
    if max(w / h, h / w) > 8:
        raise PromptFlagError(f"--ar {w}:{h} is too extreme (at most 8:1)")
    return w, h


def parse_prompt(text: str) -> PromptFlags:
    """Split `text` into the prompt and its flags; unknown flags raise PromptFlagError."""
    parts = _FLAG_RE.split(text)
    flags = PromptFlags(prompt=parts[0].strip())
    for raw_name, value in zip(parts[1::2], parts[2::2]):
        name = _ALIASES.get(raw_name.lower(), raw_name.lower())
        value = value.strip()
        if name == "ar":
            flags.aspect_ratio = _aspect(value)
        elif name == "seed":
            flags.seed = _int("seed", value, 0, 2**32 - 1)
        elif name == "no":
            terms = [t.strip() for t in value.split(",") if t.strip()]
            if not terms:
                raise PromptFlagError("--no needs something to avoid, e.g. --no text, logo")
            flags.negative.extend(terms)
        elif name == "steps":
            flags.steps = _int("steps", value, 1, 500)
        elif name == "repeat":
            flags.variants = _int(raw_name, value, 1, 64)
        elif name in ("cref", "oref", "sref"):
            getattr(flags, name).extend(_refs(raw_name, value))
        elif name == "cw":
            flags.cw = _int("cw", value, 0, 100)
        elif name in ("ow", "sw"):
            setattr(flags, name, _int(name, value, 0, 1000))
        elif name == "style":
            if value.lower() not in STYLE_PRESETS:
                raise PromptFlagError(f"--style {value!r} is unknown (known: {', '.join(STYLE_PRESETS)})")
            flags.style = value.lower()
        elif name == "niji":
            if value and not re.fullmatch(r"\d+(\.\d+)?", value):
                raise PromptFlagError(f"--niji takes an optional version number, got {value!r}")
            flags.style = "anime"
        elif name == "fast":
            _no_value(raw_name, value)
            flags.preset = Preset.FAST
        elif name == "quality":
            if not value:
                flags.preset = Preset.QUALITY
            else:
                try:
                    flags.preset = Preset.FAST if float(value) < 1 else Preset.QUALITY
                except ValueError:
                    raise PromptFlagError(f"--{raw_name} needs a number such as 0.5 or 1") from None
        else:
            raise PromptFlagError(
                f"unknown prompt flag --{raw_name} (known: --ar --seed --no --steps --repeat "
                "--cref --cw --oref --ow --sref --sw --style --niji --fast --quality)"
            )
    return flags


def _no_value(name: str, value: str) -> None:
    if value:
        raise PromptFlagError(f"--{name} takes no value, got {value!r}")


def apply_flags(request: GenerationRequest, flags: PromptFlags) -> GenerationRequest:
    """A copy of `request` with the prompt, negative, size, seed, steps, variants and style set."""
    prompt, negative = flags.prompt, list(flags.negative)
    preset = STYLE_PRESETS.get(flags.style or "")
    if preset and preset.prompt_suffix:
        prompt = f"{prompt}, {preset.prompt_suffix}" if prompt else preset.prompt_suffix
    if preset and preset.negative:
        negative.append(preset.negative)
    changes: dict = {"prompt": prompt}
    if negative:
        changes["negative_prompt"] = ", ".join(filter(None, [request.negative_prompt, *negative]))
    if flags.aspect_ratio:
        w, h = flags.aspect_ratio
        changes.update(aspect_ratio=w / h, width=None, height=None)
    for name in ("seed", "steps", "preset"):
        if getattr(flags, name) is not None:
            changes[name] = getattr(flags, name)
    if flags.variants is not None:
        changes["variants"] = flags.variants
    return dataclasses.replace(request, **changes)
