"""Panelsmith application core: document model, edits, project files, export, command line."""
