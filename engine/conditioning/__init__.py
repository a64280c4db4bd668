"""Identity (character cards, --cref/--cw) and style (style cards, --sref/--sw) conditioning.

This package's top level is plain data and mappings (no torch). The diffusers side lives in
`engine.conditioning.apply` (`apply_conditioning`, `remove_conditioning`).
"""
from engine.conditioning.blend import blend_embeddings
from engine.conditioning.files import find_adapters, has_conditioning, suggested_guidance
from engine.conditioning.mapping import (DEFAULT_CW, DEFAULT_SW, INSTANTID_GUIDANCE, cw_to_scales, identity_scales,
                                         sw_to_scale)
from engine.conditioning.regions import default_halves, draw_keypoints, place_keypoints, resolve_regions
from engine.conditioning.types import AdapterFiles, CharacterCondition, CharacterReference, LoraRef, StyleCondition

__all__ = [
    "AdapterFiles", "CharacterCondition", "CharacterReference", "LoraRef", "StyleCondition",
    "blend_embeddings", "cw_to_scales", "identity_scales", "sw_to_scale", "DEFAULT_CW", "DEFAULT_SW", "INSTANTID_GUIDANCE",
    "default_halves", "draw_keypoints", "place_keypoints", "resolve_regions",
    "find_adapters", "has_conditioning", "suggested_guidance",
]
