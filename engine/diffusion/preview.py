"""Cheap latent-to-RGB previews: a linear map of the 4 latent channels, no VAE."""
from __future__ import annotations

import torch
from PIL import Image

from engine.registry import Arch

# Linear latent->RGB factors (community-measured, as used by ComfyUI's previewers).
_FACTORS = {
    Arch.SD15: ([[0.3512, 0.2297, 0.3227], [0.3250, 0.4974, 0.2350],
                 [-0.2829, 0.1762, 0.2721], [-0.2120, -0.2616, -0.7177]], [0.0, 0.0, 0.0]),
    Arch.SDXL: ([[0.3651, 0.4232, 0.4341], [-0.2533, -0.0042, 0.1068],
                 [0.1076, 0.1111, -0.0362], [-0.3165, -0.2492, -0.2188]], [0.1084, -0.0175, -0.0011]),
}


def latents_to_preview(latents: torch.Tensor, arch: Arch) -> Image.Image:
    """An RGB preview at latent resolution (1/8 of the image) of the first latent in the batch."""
    weights, bias = _FACTORS.get(arch, _FACTORS[Arch.SD15])
    with torch.no_grad():
        lat = latents[0, :4].float().cpu()
        rgb = torch.einsum("chw,cr->hwr", lat, torch.tensor(weights)) + torch.tensor(bias)
        rgb = ((rgb + 1) * 127.5).clamp(0, 255).to(torch.uint8).numpy()
    return Image.fromarray(rgb, "RGB")
