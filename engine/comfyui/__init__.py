"""A second engine backend: one or more ComfyUI servers (`ComfyEngine` over a `ServerPool`)."""
