"""Diffusers backend. Imports torch/diffusers: load it lazily (the engine does)."""
