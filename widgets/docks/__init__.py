"""Dock widgets around the canvas: pages, card library, panel properties, variants history."""

from .cards import CardsDock
from .pages import PagesDock
from .properties import PanelPropertiesDock
from .variants import VariantsDock

__all__ = ["CardsDock", "PagesDock", "PanelPropertiesDock", "VariantsDock"]
