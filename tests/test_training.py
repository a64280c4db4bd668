"""LoRA training on tiny random-weight pipelines (CPU, offline): loss, loading, cancel, resume."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.jobs import EngineError, GenerationRequest, JobCancelled, LoraConditioning
from engine.training import DEFAULTS, TrainingRequest, captions_for, default_trigger, train_lora
from engine.training import checkpoint as ckpt
from tests.helpers_training import build_tiny_sdxl, training_images
from tests.tiny_models import tiny_engine, tiny_models_dir  # noqa: F401 - fixtures

CAPTION = "psmira, a girl in a green coat"


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Tiny models gain nothing from threads, and on a loaded 2-core machine torch's spinning worker
    threads make them several times slower; restored afterwards for the other test modules."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _request(base: Path, out: Path, **kw) -> TrainingRequest:
    args = dict(base_model=str(base), images=training_images(2, 64), captions=[CAPTION], output=str(out),
                steps=12, rank=4, learning_rate=1e-2, resolution=64, batch_size=2, checkpoint_every=0, seed=7)
    args.update(kw)
    return TrainingRequest(**args)


STEPS = 30


@pytest.fixture(scope="module")
def trained(tiny_models_dir, tmp_path_factory):
    """One run on the tiny SD 1.5 model, shared by the tests that only read its result."""
    out = tmp_path_factory.mktemp("lora") / "mira.safetensors"
    steps: list[tuple[int, int, float]] = []
    result = train_lora(_request(tiny_models_dir / "checkpoints" / "tiny-sd", out, steps=STEPS),
                        on_step=lambda s, t, loss: steps.append((s, t, loss)))
    return result, steps


def test_training_lowers_the_loss_and_reports_every_step(trained, tiny_models_dir, tmp_path):
    result, steps = trained
    assert [s for s, _, _ in steps] == list(range(1, STEPS + 1)) and {t for _, t, _ in steps} == {STEPS}
    assert [loss for _, _, loss in steps] == result.loss_history
    assert Path(result.lora_path).is_file() and result.steps == STEPS
    assert any("usual count" in w for w in result.warnings)  # 2 images < 8
    # Every step's batch, crop, noise and timesteps derive from (seed, step), so a run that does not
    # learn (tiny learning rate) sees exactly the same samples: a paired comparison of the losses.
    frozen = train_lora(_request(tiny_models_dir / "checkpoints" / "tiny-sd", tmp_path / "f.safetensors",
                                 steps=STEPS, learning_rate=1e-12)).loss_history
    assert result.loss_history[0] == pytest.approx(frozen[0], rel=1e-5)  # same first sample, same start
    trained_late, frozen_late = np.mean(result.loss_history[-10:]), np.mean(frozen[-10:])
    assert trained_late < 0.99 * frozen_late, (trained_late, frozen_late)
    assert np.mean(result.loss_history[-10:]) < np.mean(result.loss_history[:10])


def test_lora_on_every_unet_layer_overfits_two_images(tiny_models_dir, tmp_path):
    """Attention-only LoRA (the default) can barely move a random tiny UNet; on all layers it overfits."""
    wide = ("to_k", "to_q", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "conv1",
            "conv2", "conv_in", "conv_out", "time_emb_proj")
    out = tmp_path / "wide.safetensors"
    history = train_lora(_request(tiny_models_dir / "checkpoints" / "tiny-sd", out, steps=STEPS, rank=8,
                                  target_modules=wide, flip=False, random_crop=False)).loss_history
    first, last = np.mean(history[:10]), np.mean(history[-10:])
    assert last < 0.6 * first, (first, last)
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(tiny_models_dir / "checkpoints" / "tiny-sd", local_files_only=True)
    pipe.load_lora_weights(str(out))  # convolution LoRA layers load too
    lora_modules = {name.split(".")[-1] for name, m in pipe.unet.named_modules() if hasattr(m, "lora_B")}
    assert {"conv_in", "conv_out", "to_q", "ff"} & lora_modules >= {"conv_in", "conv_out", "to_q"}


def test_saved_lora_loads_through_the_engine_changes_output_and_unloads(trained, tiny_engine):
    result, _ = trained

    def generate(conditioning):
        req = GenerationRequest(prompt=CAPTION, model="tiny-sd", width=64, height=64, seed=3, steps=4,
                                device="cpu", conditioning=conditioning)
        return np.asarray(tiny_engine.run(req).images[0], dtype=np.int16)

    base = generate([])
    with_lora = generate([LoraConditioning(result.lora_path, 1.0)])
    after = generate([])
    assert np.abs(with_lora - base).max() > 0
    assert np.array_equal(after, base)  # the engine unloads the LoRA again


def test_lora_file_keeps_alpha_and_loads_with_load_lora_weights(tiny_models_dir, tmp_path):
    from diffusers import StableDiffusionPipeline

    out = tmp_path / "a.safetensors"
    train_lora(_request(tiny_models_dir / "checkpoints" / "tiny-sd", out, steps=2, rank=4, alpha=8))
    pipe = StableDiffusionPipeline.from_pretrained(tiny_models_dir / "checkpoints" / "tiny-sd", local_files_only=True)
    pipe.load_lora_weights(str(out))
    config = next(iter(pipe.unet.peft_config.values()))
    assert (config.r, config.lora_alpha) == (4, 8)


def test_cancel_writes_no_lora_but_a_checkpoint_to_resume_from(tiny_models_dir, tmp_path):
    out = tmp_path / "c.safetensors"
    cancel = threading.Event()
    seen = []

    def on_step(step, total, loss):
        seen.append(step)
        if step == 3:
            cancel.set()

    req = _request(tiny_models_dir / "checkpoints" / "tiny-sd", out, steps=10, checkpoint_every=100)
    with pytest.raises(JobCancelled):
        train_lora(req, on_step=on_step, cancel=cancel)
    assert seen == [1, 2, 3]
    assert not out.exists() and not list(tmp_path.glob("*.safetensors")) and not list(tmp_path.glob(".lora-*"))
    saved = ckpt.list_checkpoints(Path(str(out.with_suffix("")) + ".checkpoints"))
    assert [p.name for p in saved] == ["step-000003.pt"]


def test_resume_continues_at_the_saved_step_with_the_same_loss_curve(tiny_models_dir, tmp_path):
    base = tiny_models_dir / "checkpoints" / "tiny-sd"
    full = train_lora(_request(base, tmp_path / "full.safetensors", steps=8))
    out = tmp_path / "part.safetensors"
    with pytest.raises(JobCancelled):
        stop = threading.Event()
        train_lora(_request(base, out, steps=8, checkpoint_every=4),
                   on_step=lambda s, t, loss: stop.set() if s == 6 else None, cancel=stop)
    folder = Path(str(out.with_suffix("")) + ".checkpoints")
    assert [p.name for p in ckpt.list_checkpoints(folder)] == ["step-000004.pt", "step-000006.pt"]
    resumed_steps = []
    resumed = train_lora(_request(base, out, steps=8, checkpoint_every=4, resume_from=str(folder / "step-000004.pt")),
                         on_step=lambda s, t, loss: resumed_steps.append(s))
    assert resumed.resumed_from_step == 4 and resumed_steps == [5, 6, 7, 8]
    np.testing.assert_allclose(resumed.loss_history, full.loss_history, rtol=1e-4, atol=1e-6)
    from safetensors.torch import load_file

    a, b = load_file(tmp_path / "full.safetensors"), load_file(out)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)
    # "latest" picks the newest checkpoint; settings that differ are refused
    again = train_lora(_request(base, out, steps=8, checkpoint_every=4, resume_from="latest"))
    assert again.resumed_from_step == 6
    with pytest.raises(EngineError, match="different settings"):
        train_lora(_request(base, out, steps=8, rank=8, resume_from=str(folder / "step-000004.pt")))


def test_checkpoints_are_read_with_weights_only(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("ran code",))

    bad = tmp_path / "step-000001.pt"
    torch.save({"format": ckpt.FORMAT, "step": 1, "x": Evil()}, bad)
    with pytest.raises(EngineError, match="cannot read"):
        ckpt.load_checkpoint(bad)


def test_sdxl_training_uses_time_ids_and_loads_back(tmp_path):
    from diffusers import StableDiffusionXLPipeline

    base = build_tiny_sdxl(tmp_path / "tiny-sdxl")
    out = tmp_path / "xl.safetensors"
    result = train_lora(_request(base, out, steps=6))
    assert result.arch == "sdxl" and len(result.loss_history) == 6
    pipe = StableDiffusionXLPipeline.from_pretrained(base, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)

    def run():
        return pipe(CAPTION, num_inference_steps=3, height=64, width=64, output_type="np",
                    generator=torch.Generator().manual_seed(0)).images[0]

    plain = run()
    pipe.load_lora_weights(str(out))
    assert np.abs(run() - plain).max() > 0
    pipe.unload_lora_weights()
    assert np.array_equal(run(), plain)


def test_request_defaults_validation_and_captions():
    req = TrainingRequest(base_model="x", images=[object()] * 20, captions=["a"], output="out/mira.safetensors")
    assert req.validate() == []
    sd15, sdxl = req.resolved("sd15"), req.resolved("sdxl")
    assert (sd15.rank, sd15.resolution, sd15.steps) == (DEFAULTS["sd15"].rank, 512, DEFAULTS["sd15"].steps)
    assert (sdxl.rank, sdxl.resolution) == (DEFAULTS["sdxl"].rank, 1024) and sdxl.alpha == float(sdxl.rank)
    assert sd15.checkpoint_dir == "out/mira.checkpoints"
    assert "usual count" in TrainingRequest("x", [object()] * 7, ["a"], "o.safetensors").validate()[0]
    for bad in (dict(output="o.ckpt"), dict(images=[]), dict(resolution=60), dict(captions=["a", "b", "c"]),
                dict(mixed_precision="fp8")):
        with pytest.raises(EngineError):
            TrainingRequest(**{**dict(base_model="x", images=[1, 2], captions=["a"], output="o.safetensors"),
                               **bad}).validate()
    assert default_trigger("Mira Vale") == "psmiravale"
    caps = captions_for("a girl,  green coat ", "psmira", 2, [("full body", "front view"), ()])
    assert caps == ["psmira, a girl,  green coat, full body, front view".replace(",  ", ", "), "psmira, a girl,  green coat".replace(",  ", ", ")]


def test_shared_pipeline_is_left_as_it_was_and_cpu_options(tiny_models_dir, tmp_path):
    """Training on the engine's loaded pipeline (``pipeline=``) leaves it generating as before;
    gradient checkpointing gives the same losses; mixed precision is refused on the CPU with a warning."""
    from diffusers import StableDiffusionPipeline

    base = tiny_models_dir / "checkpoints" / "tiny-sd"
    pipe = StableDiffusionPipeline.from_pretrained(base, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)

    def run():
        return pipe(CAPTION, num_inference_steps=3, height=64, width=64, output_type="np",
                    generator=torch.Generator().manual_seed(0)).images[0]

    before = run()
    plain = train_lora(_request(base, tmp_path / "a.safetensors", steps=4), pipeline=pipe)
    assert not getattr(pipe.unet, "peft_config", None) and not pipe.unet.training
    assert np.array_equal(run(), before)
    checkpointed = train_lora(_request(base, tmp_path / "b.safetensors", steps=4, gradient_checkpointing=True,
                                       mixed_precision="bf16"), pipeline=pipe)
    np.testing.assert_allclose(checkpointed.loss_history, plain.loss_history, rtol=1e-5)
    assert any("GPU only" in w for w in checkpointed.warnings)
    assert not pipe.unet.is_gradient_checkpointing and np.array_equal(run(), before)
