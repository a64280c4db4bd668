"""Pick the adapter files for a base model from the registry (no torch)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from engine.conditioning.mapping import INSTANTID_GUIDANCE
from engine.conditioning.types import AdapterFiles, CharacterCondition, CharacterReference, StyleCondition
from engine.registry import Arch, ModelInfo, ModelKind, ModelRegistry


def _encoder_near(path: Path) -> Optional[Path]:
    for folder in (path.parent, path.parent.parent):
        cand = folder / "image_encoder"
        if (cand / "config.json").is_file():
            return cand
    return None


def find_adapters(registry: ModelRegistry, arch: Arch) -> AdapterFiles:
    """The IP-Adapter (+ image encoder), FaceID, InstantID, IdentityNet and PhotoMaker for `arch`.

    Files whose architecture could not be read from their header (pickled .bin) are accepted
    for any architecture; a mismatch is reported when the adapter is loaded.
    """
    def fits(m: ModelInfo) -> bool:
        return m.arch in (arch, Arch.UNKNOWN)

    ip = [m for m in registry.models([ModelKind.IP_ADAPTER]) if fits(m) and not m.path.is_dir()]
    plain = [m for m in ip if m.variant in ("base", "plus", "pickle") and "faceid" not in m.name.lower()]
    faceid = [m for m in ip if m.variant == "faceid" or (m.variant == "pickle" and "faceid" in m.name.lower())]
    inst = registry.models([ModelKind.INSTANTID])
    inst_file = [m for m in inst if not m.path.is_dir() and fits(m)]
    inst_net = [m for m in inst if m.path.is_dir()]
    encoders = registry.models([ModelKind.IMAGE_ENCODER])
    photomaker = sorted(registry.models([ModelKind.PHOTOMAKER]), key=lambda m: m.variant, reverse=True)  # V2 first
    ip_path = plain[0].path if plain else None
    encoder = (_encoder_near(ip_path) if ip_path else None) or (encoders[0].path if encoders else None)
    return AdapterFiles(
        ip_adapter=ip_path,
        image_encoder=encoder,
        faceid=faceid[0].path if faceid else None,
        instantid=inst_file[0].path if arch is Arch.SDXL and inst_file else None,
        identitynet=inst_net[0].path if arch is Arch.SDXL and inst_net else None,
        photomaker=photomaker[0].path if arch is Arch.SDXL and photomaker else None,
    )


def has_conditioning(conditions: Any) -> bool:
    items = getattr(conditions, "conditioning", conditions) or []
    return any(isinstance(c, (CharacterCondition, CharacterReference, StyleCondition)) for c in items)


def suggested_guidance(conditions: Any, arch: Arch, family: str = "standard") -> Optional[float]:
    """InstantID's guidance (5) for SDXL character jobs on standard models, else None."""
    items = getattr(conditions, "conditioning", conditions) or []
    if arch is Arch.SDXL and family == "standard" and any(isinstance(c, CharacterCondition) for c in items):
        return INSTANTID_GUIDANCE
    return None
