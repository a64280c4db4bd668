"""The page canvas: a QGraphicsScene projecting one page of the document, and its view with tools."""

from .scene import PageScene
from .tools import Tool
from .view import PageView

__all__ = ["PageScene", "PageView", "Tool"]
