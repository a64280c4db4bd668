"""Upscale with a tiled img2img refine on tiny models: size, tiles, feathered blending, cancel."""
import threading

import numpy as np
import pytest
from PIL import Image

from engine import upscale
from engine.jobs import EngineError, GenerationRequest, JobCancelled, JobKind
from tests.tiny_models import tiny_engine, tiny_models_dir  # noqa: F401  (fixtures)

REFINE = dict(kind=JobKind.UPSCALE, refine_strength=0.5, refine_model="tiny-sd", seed=3, steps=4, scheduler="euler")


def noise_image(width, height, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


def px(image):
    return np.asarray(image.convert("RGB")).astype(int)


def test_tile_boxes_cover_the_image_with_overlap():
    boxes = upscale.tile_boxes((160, 120), (64, 64), 16)
    assert len(boxes) == 9 and all(r - l == 64 and b - t == 64 for l, t, r, b in boxes)
    covered = np.zeros((120, 160), bool)
    for l, t, r, b in boxes:
        covered[t:b, l:r] = True
    assert covered.all()
    xs = sorted({l for l, *_ in boxes})
    assert all(b - a <= 64 - 16 for a, b in zip(xs, xs[1:]))
    assert upscale.tile_boxes((40, 30), (64, 64), 16) == [(0, 0, 40, 30)]


def test_refine_output_size_exact_and_pixels_change(tiny_engine):
    image = noise_image(40, 30)
    seen = []
    result = tiny_engine.run(GenerationRequest(init_image=image, width=163, height=122, **REFINE), seen.append)
    out = result.images[0]
    assert out.size == (163, 122) and out.mode == "RGB"
    plain = upscale.lanczos(image, (163, 122))
    assert np.abs(px(out) - px(plain)).mean() > 1
    meta = result.metadata
    assert meta["method"] == "lanczos+refine" and meta["tiles"] == len(upscale.tile_boxes((163, 122), (64, 64), 16)) == 12 and meta["refine_model"] == "tiny-sd"
    steps = [p.step for p in seen]
    assert steps == sorted(steps) and steps[-1] == seen[-1].total
    # one progress report with the finished tile as preview per tile
    assert sum(1 for p in seen if p.preview is not None and p.preview.size == (64, 64)) >= meta["tiles"]


def _fake_img2img(calls, offset_per_tile):
    def img2img(model, prompt, image, seed, sampling, strength, on_step=None, cancel=None, extras=None):
        index = len(calls)
        calls.append(image.size)
        if on_step is not None:
            on_step(1, 1, None)
        if offset_per_tile is None:
            return image.copy()
        return Image.new("RGB", image.size, (20 * index,) * 3)
    return img2img


def test_identity_tiles_blend_back_to_the_upscaled_image(tiny_engine, monkeypatch):
    calls = []
    monkeypatch.setattr(tiny_engine.backend, "img2img", _fake_img2img(calls, None))
    image = noise_image(40, 30)
    out = tiny_engine.run(GenerationRequest(init_image=image, scale=4, **REFINE)).images[0]
    assert len(calls) == 9 and set(calls) == {(64, 64)}
    assert np.abs(px(out) - px(upscale.lanczos(image, (160, 120)))).max() <= 1


def test_tiles_blend_without_seams_compared_to_a_naive_paste(tiny_engine, monkeypatch):
    calls = []
    monkeypatch.setattr(tiny_engine.backend, "img2img", _fake_img2img(calls, 40))
    out = px(tiny_engine.run(GenerationRequest(init_image=noise_image(40, 30), scale=4, **REFINE)).images[0])
    boxes = upscale.tile_boxes((160, 120), (64, 64), 16)
    naive = np.zeros_like(out)
    for index, (l, t, r, b) in enumerate(boxes):
        naive[t:b, l:r] = 20 * index
    jump = lambda a: max(np.abs(np.diff(a, axis=0)).max(), np.abs(np.diff(a, axis=1)).max())  # noqa: E731
    assert jump(naive) >= 60  # tile rows differ by 60
    assert jump(out) <= jump(naive) / 6  # the step is spread over the feathered overlap


def test_refine_cancel_between_tiles_returns_nothing(tiny_engine):
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p)
        if p.preview is not None and p.preview.size == (64, 64):  # first tile finished
            cancel.set()

    with pytest.raises(JobCancelled):
        tiny_engine.run(GenerationRequest(init_image=noise_image(40, 30), scale=4, **REFINE), progress, cancel)
    assert seen and max(p.step for p in seen) < seen[0].total


def test_refine_request_validation():
    with pytest.raises(EngineError, match="refine strength"):
        GenerationRequest(kind=JobKind.UPSCALE, init_image=noise_image(8, 8), scale=2, refine_strength=1.5,
                          refine_model="m").validate()
    with pytest.raises(EngineError, match="needs a model"):
        GenerationRequest(kind=JobKind.UPSCALE, init_image=noise_image(8, 8), scale=2, refine_strength=0.3).validate()
