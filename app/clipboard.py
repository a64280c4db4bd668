"""Copy/paste payloads: selected panels and balloons as JSON in the manifest's own encoding, with the
PNG images their variants show, so a paste works in another page, window or project.

No Qt here: the widgets put :func:`dump_items` bytes on the clipboard under a custom MIME type and
give :func:`load_items` what they read back.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

from .images import image_key
from .manifest import ManifestError, decode, encode
from .project import SCHEMA_VERSION, Balloon, Panel, Project

MIME_TYPE = "application/x-panelsmith-items+json"
FORMAT = "panelsmith-items"
MAX_BYTES = 512 * 1024 * 1024


@dataclass
class ClipItems:
    panels: list[Panel] = field(default_factory=list)
    balloons: list[Balloon] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)
    source_page: str = ""      # where they were copied from (a paste there is offset)
    card_names: dict[str, str] = field(default_factory=dict)  # bound card id -> name, for messages

    @property
    def count(self) -> int:
        return len(self.panels) + len(self.balloons)


def collect(project: Project, page_id: str, ids: list[str]) -> ClipItems:
    """The items ``ids`` of a page, with every image their variants need."""
    page = project.page(page_id)
    wanted = set(ids)
    panels = [p for p in page.panels if p.id in wanted]
    balloons = [b for b in page.balloons if b.id in wanted]
    images = {v.image: project.images[v.image] for p in panels for v in p.variants if v.image in project.images}
    names = {}
    for p in panels:
        for b in [*p.characters, *p.styles]:
            try:
                names[b.card] = project.card(b.card).name
            except KeyError:
                pass
    return ClipItems(panels, balloons, images, page_id, names)


def dump_items(items: ClipItems) -> bytes:
    data = {
        "format": FORMAT, "schema": SCHEMA_VERSION, "app": "panelsmith",
        "source_page": items.source_page,
        "panels": encode(items.panels),
        "balloons": encode(items.balloons),
        "card_names": dict(items.card_names),
        "images": {k: base64.b64encode(v).decode("ascii") for k, v in items.images.items()},
    }
    return json.dumps(data, separators=(",", ":")).encode()


def load_items(raw: bytes) -> ClipItems:
    """Parse clipboard bytes; ValueError (one line) when they are not Panelsmith items."""
    if len(raw) > MAX_BYTES:
        raise ValueError("the clipboard holds too much data to paste")
    try:
        data = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("the clipboard does not hold Panelsmith panels or balloons") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("the clipboard does not hold Panelsmith panels or balloons")
    if not isinstance(data.get("schema"), int) or data["schema"] > SCHEMA_VERSION:
        raise ValueError("these items were copied from a newer Panelsmith; update to paste them")
    try:
        panels = decode(list[Panel], data.get("panels", []), "clipboard.panels")
        balloons = decode(list[Balloon], data.get("balloons", []), "clipboard.balloons")
        names = decode(dict[str, str], data.get("card_names", {}), "clipboard.card_names")
        encoded = decode(dict[str, str], data.get("images", {}), "clipboard.images")
    except ManifestError as exc:
        raise ValueError(f"cannot paste: {exc}") from None
    images = {}
    for key, text in encoded.items():
        try:
            png = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("cannot paste: an image is damaged") from None
        if image_key(png) != key:
            raise ValueError("cannot paste: an image is damaged")
        images[key] = png
    source = data.get("source_page") if isinstance(data.get("source_page"), str) else ""
    return ClipItems(panels, balloons, images, source, {str(k): str(v) for k, v in names.items()})
