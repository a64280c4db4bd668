"""Panelsmith application core: document model, edits, project files, export, command line."""

from . import pyside_fix as _pyside_fix

_pyside_fix.apply()
