"""End-to-end engine jobs on tiny random-weight models, loaded through the real registry."""
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from engine.api import Engine
from engine.device import DeviceOptions
from engine.jobs import (
    Direction,
    GenerationRequest,
    JobCancelled,
    JobKind,
    LoraConditioning,
    ModelLoadError,
    ModelNotFoundError,
    PanSpec,
    ZoomOutSpec,
)
from tests import bands
from tests.tiny_models import tiny_engine, tiny_models_dir  # noqa: F401  (fixtures)

FAST = dict(steps=4, scheduler="euler", guidance=5.0)


def noise_image(width, height, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


def pixels(image):
    return np.asarray(image.convert("RGB"))


def test_generate_variants_with_reproducible_seeds(tiny_engine):
    seen = []
    request = GenerationRequest(model="tiny-sd", prompt="a cat", seed=5, variants=2, **FAST)
    result = tiny_engine.run(request, seen.append)
    assert result.seeds == [5, 6] and len(result.images) == 2
    assert all(im.size == (64, 64) and im.mode == "RGB" for im in result.images)
    assert not np.array_equal(pixels(result.images[0]), pixels(result.images[1]))
    again = tiny_engine.run(GenerationRequest(model="tiny-sd", prompt="a cat", seed=6, **FAST))
    assert np.array_equal(pixels(again.images[0]), pixels(result.images[1]))
    steps = [p.step for p in seen]
    assert steps == list(range(1, 9)) and all(p.total == 8 for p in seen)
    assert all(isinstance(p.preview, Image.Image) and p.preview.size == (8, 8) for p in seen)
    assert result.metadata["scheduler"] == "euler" and result.metadata["model"] == "tiny-sd"


def test_aspect_ratio_picks_size_near_native_area(tiny_engine):
    result = tiny_engine.run(GenerationRequest(model="tiny-sd", aspect_ratio=2.0, seed=1, **FAST))
    width, height = result.images[0].size
    assert width % 8 == 0 and height % 8 == 0 and width > height
    assert abs(width * height - 64 * 64) / (64 * 64) < 0.1


def test_vary_region_keeps_pixels_beyond_feather_byte_identical(tiny_engine):
    source = noise_image(96, 80)
    mask = Image.new("L", (96, 80), 0)
    mask.paste(255, (30, 20, 60, 50))
    request = GenerationRequest(kind=JobKind.VARY_REGION, model="tiny-sd", prompt="a hat", seed=3, variants=2,
                                init_image=source, mask=mask, feather_px=6, **FAST)
    result = tiny_engine.run(request)
    inside = bands.inside(mask)
    far = bands.beyond(inside, 6)
    for image in result.images:
        assert image.size == source.size
        assert np.array_equal(pixels(image)[far], pixels(source)[far])
        assert not np.array_equal(pixels(image)[inside], pixels(source)[inside])
    near = ~far & ~inside
    assert not np.array_equal(pixels(result.images[0])[near], pixels(source)[near])  # the feather band blends


def test_vary_region_with_inpaint_model_and_scaled_mask(tiny_engine):
    source = noise_image(128, 128, seed=1)
    small_mask = Image.new("L", (32, 32), 0)
    small_mask.paste(255, (4, 4, 12, 12))  # any size: scaled to the image
    result = tiny_engine.run(GenerationRequest(kind=JobKind.VARY_REGION, model="tiny-sd-inpaint", seed=1,
                                               init_image=source, mask=small_mask, **FAST))
    far = bands.beyond(bands.inside(small_mask, source.size), 8)
    assert np.array_equal(pixels(result.images[0])[far], pixels(source)[far])


@pytest.mark.parametrize("spec, size, offset", [
    (PanSpec(Direction.RIGHT, 0.25), (80, 64), (0, 0)),
    (PanSpec(Direction.UP, 0.5), (64, 96), (0, 32)),
    (ZoomOutSpec(1.5), (96, 96), (16, 16)),
])
def test_outpaint_keeps_original_in_its_new_place(tiny_engine, spec, size, offset):
    source = noise_image(64, 64, seed=2)
    result = tiny_engine.run(GenerationRequest(kind=JobKind.OUTPAINT, model="tiny-sd", seed=2, init_image=source,
                                               outpaint=spec, feather_px=4, **FAST))
    out = pixels(result.images[0])
    assert result.images[0].size == size
    x, y = offset
    new_area = np.ones(out.shape[:2], bool)
    new_area[y:y + 64, x:x + 64] = False
    far = bands.beyond(new_area, 4)
    region = out[y:y + 64, x:x + 64]
    keep = far[y:y + 64, x:x + 64]
    assert keep.sum() > 0.5 * 64 * 64
    assert np.array_equal(region[keep], pixels(source)[keep])


def test_same_model_loads_once_for_several_jobs(tiny_engine):
    source = noise_image(64, 64)
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (10, 10, 30, 30))
    tiny_engine.run(GenerationRequest(model="tiny-sd", seed=1, **FAST))
    tiny_engine.run(GenerationRequest(kind=JobKind.VARY_REGION, model="tiny-sd", init_image=source, mask=mask, **FAST))
    tiny_engine.run(GenerationRequest(kind=JobKind.OUTPAINT, model="tiny-sd", init_image=source,
                                      outpaint=ZoomOutSpec(2.0), **FAST))
    tiny_engine.run(GenerationRequest(model="tiny-sd", seed=2, scheduler="dpm++_karras", steps=3))
    assert tiny_engine.loads == 1
    tiny_engine.run(GenerationRequest(model="tiny-sd-inpaint", seed=1, **FAST))
    assert tiny_engine.loads == 2


def test_cancel_mid_job_returns_nothing(tiny_engine):
    cancel = threading.Event()
    steps = []

    def on_progress(progress):
        steps.append(progress.step)
        if progress.step == 2:
            cancel.set()

    with pytest.raises(JobCancelled):
        tiny_engine.run(GenerationRequest(model="tiny-sd", seed=1, variants=3, **FAST), on_progress, cancel)
    assert steps == [1, 2]


def test_single_file_checkpoint_loads_through_shipped_configs(tiny_engine):
    result = tiny_engine.run(GenerationRequest(model="tiny-sd15-single", prompt="a dog", seed=4, width=64, height=64,
                                               **FAST))
    assert result.images[0].size == (64, 64)
    assert pixels(result.images[0]).std() > 0


def test_lora_changes_output_and_unloads(tiny_engine):
    base = tiny_engine.run(GenerationRequest(model="tiny-sd", seed=8, **FAST)).images[0]
    with_lora = tiny_engine.run(GenerationRequest(model="tiny-sd", seed=8, conditioning=[LoraConditioning("tiny-lora", 1.0)],
                                                  **FAST)).images[0]
    after = tiny_engine.run(GenerationRequest(model="tiny-sd", seed=8, **FAST)).images[0]
    assert not np.array_equal(pixels(base), pixels(with_lora))
    assert np.array_equal(pixels(base), pixels(after))


def test_upscale_with_lanczos(tiny_engine):
    result = tiny_engine.run(GenerationRequest(kind=JobKind.UPSCALE, init_image=noise_image(40, 30), scale=2.5))
    assert result.images[0].size == (100, 75) and result.metadata["method"] == "lanczos"


def test_missing_model_error(tiny_engine):
    with pytest.raises(ModelNotFoundError) as info:
        tiny_engine.run(GenerationRequest(model="no-such-model", **FAST))
    assert "no-such-model" in str(info.value) and "--models" in str(info.value)


def test_corrupt_weights_give_a_clear_error(tiny_models_dir, tmp_path):
    broken = tmp_path / "models" / "checkpoints" / "tiny-broken"
    shutil.copytree(tiny_models_dir / "checkpoints" / "tiny-sd", broken)
    weights = broken / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    engine = Engine(tmp_path / "models", DeviceOptions(device="cpu"))
    with pytest.raises(ModelLoadError) as info:
        engine.run(GenerationRequest(model="tiny-broken", **FAST))
    message = str(info.value)
    assert "tiny-broken" in message and "corrupt" in message and "\n" not in message
    assert engine.loads == 0


def test_invalid_requests_fail_before_loading(tiny_engine):
    from engine.jobs import EngineError

    with pytest.raises(EngineError, match="needs a mask"):
        tiny_engine.run(GenerationRequest(kind=JobKind.VARY_REGION, model="tiny-sd", init_image=noise_image(8, 8)))
    with pytest.raises(EngineError, match="mask is empty"):
        tiny_engine.run(GenerationRequest(kind=JobKind.VARY_REGION, model="tiny-sd", init_image=noise_image(64, 64),
                                          mask=Image.new("L", (64, 64), 0), **FAST))
    with pytest.raises(EngineError, match="unknown scheduler"):
        tiny_engine.run(GenerationRequest(model="tiny-sd", scheduler="magic"))


def test_sdxl_lightning_preset_generate_and_outpaint(tiny_engine):
    from engine.jobs import Preset

    result = tiny_engine.run(GenerationRequest(model="tiny-sdxl-lightning", prompt="a robot", seed=1,
                                               preset=Preset.FAST))
    meta = result.metadata
    assert meta["arch"] == "sdxl" and meta["scheduler"] == "lightning" and meta["steps"] == 4 and meta["guidance"] == 0
    assert result.images[0].size == (64, 64)
    source = noise_image(64, 64, seed=5)
    out = tiny_engine.run(GenerationRequest(kind=JobKind.OUTPAINT, model="tiny-sdxl-lightning", seed=1, init_image=source,
                                            outpaint=PanSpec(Direction.LEFT, 0.5), feather_px=4, preset=Preset.FAST))
    image = pixels(out.images[0])
    assert out.images[0].size == (96, 64)
    assert np.array_equal(image[:, 32 + 5:], pixels(source)[:, 5:])
    assert tiny_engine.loads == 1


def test_generate_from_init_image_is_a_variation(tiny_engine):
    source = noise_image(96, 64, seed=9)
    request = GenerationRequest(model="tiny-sd", seed=1, init_image=source, strength=0.5, **FAST)
    progress = []
    result = tiny_engine.run(request, progress.append)
    assert result.images[0].size == source.size
    assert progress[-1].step == progress[-1].total == 2  # strength 0.5 of 4 steps
    again = tiny_engine.run(GenerationRequest(model="tiny-sd", seed=1, init_image=source, strength=0.5, **FAST))
    assert np.array_equal(pixels(result.images[0]), pixels(again.images[0]))
