"""Training samples: deterministic per-step batches with flip and random-crop augmentation.

Everything random is derived from ``(seed, step)``, so a resumed run sees exactly the batches,
crops, noise and timesteps of an uninterrupted one.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image


@dataclass
class Sample:
    pixels: torch.Tensor  # (3, R, R) in [-1, 1]
    index: int  # which training image
    original_size: tuple[int, int]  # (h, w) after the resize, before the crop (SDXL time ids)
    crop_top_left: tuple[int, int]


def step_rng(seed: int, step: int, salt: int = 0) -> random.Random:
    return random.Random(f"{seed}:{step}:{salt}")


def step_generator(seed: int, step: int) -> torch.Generator:
    """A CPU generator for the noise, timesteps and latent sampling of one step."""
    return torch.Generator("cpu").manual_seed((seed * 1_000_003 + step * 7_919 + 17) % (2**63))


def batch_indices(seed: int, step: int, batch_size: int, count: int) -> list[int]:
    """Images of one step: epochs are seeded shuffles of all images, walked in order."""
    out = []
    for j in range(batch_size):
        position = step * batch_size + j
        epoch, offset = divmod(position, count)
        order = list(range(count))
        random.Random(f"{seed}:epoch:{epoch}").shuffle(order)
        out.append(order[offset])
    return out


def augment(image: Image.Image, resolution: int, rng: random.Random, flip: bool, random_crop: bool) -> Sample:
    """Resize the short side to the resolution (up to 15 % more with random crop), crop, maybe flip."""
    image = image.convert("RGB")
    w, h = image.size
    scale = resolution / min(w, h) * (rng.uniform(1.0, 1.15) if random_crop else 1.0)
    nw, nh = max(resolution, round(w * scale)), max(resolution, round(h * scale))
    image = image.resize((nw, nh), Image.Resampling.BICUBIC)
    if random_crop:
        top, left = rng.randint(0, nh - resolution), rng.randint(0, nw - resolution)
    else:
        top, left = (nh - resolution) // 2, (nw - resolution) // 2
    image = image.crop((left, top, left + resolution, top + resolution))
    if flip and rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    return Sample(torch.from_numpy(array).permute(2, 0, 1).contiguous(), -1, (nh, nw), (top, left))


def make_batch(images: list[Image.Image], seed: int, step: int, batch_size: int, resolution: int,
               flip: bool = True, random_crop: bool = True) -> list[Sample]:
    rng = step_rng(seed, step, 1)
    samples = []
    for index in batch_indices(seed, step, batch_size, len(images)):
        sample = augment(images[index], resolution, rng, flip, random_crop)
        sample.index = index
        samples.append(sample)
    return samples
