"""Model files as users download them: SDXL v-prediction checkpoints, FLUX transformers as single
.safetensors or GGUF files beside a diffusers folder of their family, and files Panelsmith does not run.
Tiny random-weight files written by the tests, loaded through the real registry."""
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.device import DeviceOptions, choose_device
from engine.diffusion.pipelines import load_model
from engine.jobs import EngineError, ModelLoadError
from engine.registry import Arch, ModelKind, ModelRegistry
from tests.tiny_single_files import write_flux_folder, write_flux_gguf, write_flux_safetensors, write_sdxl_single_file

CPU = DeviceOptions(device="cpu")


@pytest.fixture(scope="module")
def sdxl_files(tmp_path_factory):
    """checkpoints/plain-xl.safetensors and noob-vpred.safetensors: the same weights, the second with the
    ``v_pred`` and ``ztsnr`` marker keys NoobAI-XL v-pred files carry."""
    root = tmp_path_factory.mktemp("sdxl-models")
    (root / "checkpoints").mkdir()
    plain = write_sdxl_single_file(root / "checkpoints" / "plain-xl.safetensors")
    state = load_file(str(plain))
    save_file({**state, "v_pred": torch.tensor([]), "ztsnr": torch.tensor([])},
              str(root / "checkpoints" / "noob-vpred.safetensors"))
    return root


def test_sdxl_v_prediction_checkpoint_is_detected_and_run_with_zero_snr(sdxl_files):
    from engine.diffusion.backend import DiffusionBackend
    from engine.diffusion.backend import Prompt
    from engine.sampling import Sampling

    registry = ModelRegistry(sdxl_files)
    vpred, plain = registry.resolve("noob-vpred"), registry.resolve("plain-xl")
    assert (vpred.kind, vpred.arch, vpred.v_prediction, vpred.zero_snr) == (ModelKind.CHECKPOINT, Arch.SDXL, True, True)
    assert (plain.v_prediction, plain.zero_snr) == (False, False)

    backend = DiffusionBackend(CPU)
    model = backend.model(vpred, "cpu")
    config = model.scheduler_config
    assert (config.prediction_type, config.rescale_betas_zero_snr, config.timestep_spacing) == \
        ("v_prediction", True, "trailing")
    assert model.call_defaults == {"guidance_rescale": 0.7}
    image = backend.txt2img(model, Prompt("a fox"), (64, 64), 1, Sampling("euler", 1, 5.0))
    assert image.size == (64, 64)
    used = model.pipe("txt2img").scheduler.config  # the scheduler the run was given, built from the model's
    assert (type(model.pipe("txt2img").scheduler).__name__, used.prediction_type, used.rescale_betas_zero_snr) == \
        ("EulerDiscreteScheduler", "v_prediction", True)

    epsilon = load_model(plain, choose_device(CPU), CPU)
    assert epsilon.scheduler_config.prediction_type == "epsilon"
    assert not epsilon.scheduler_config.get("rescale_betas_zero_snr")
    assert epsilon.call_defaults == {}


@pytest.fixture(scope="module")
def flux_files(tmp_path_factory):
    """checkpoints/tiny-flux (diffusers folder) and diffusion_models/ holding its transformer alone, as GGUF
    (Q8_0) and as an original-layout .safetensors with ComfyUI's prefix. Returns (root, reference pipeline)."""
    root = tmp_path_factory.mktemp("flux-models")
    (root / "checkpoints").mkdir()
    (root / "diffusion_models").mkdir()
    pipe = write_flux_folder(root / "checkpoints" / "tiny-flux")
    write_flux_gguf(root / "diffusion_models" / "tiny-flux-Q8_0.gguf", pipe.transformer)
    write_flux_safetensors(root / "diffusion_models" / "tiny-flux-fp32.safetensors", pipe.transformer)
    return root, pipe


def _flux_image(pipe):
    generator = torch.Generator().manual_seed(0)
    return pipe(prompt="a cat", num_inference_steps=2, width=32, height=32, output_type="np", generator=generator,
                max_sequence_length=16).images[0]


def test_flux_transformer_files_load_with_their_family_folder(flux_files):
    root, reference = flux_files
    registry = ModelRegistry(root)
    found = {m.name: m for m in registry.models([ModelKind.TRANSFORMER])}
    assert set(found) == {"tiny-flux-Q8_0", "tiny-flux-fp32"}
    for info in found.values():
        assert (info.variant, info.depth, info.companion) == ("flux", (1, 1), root / "checkpoints" / "tiny-flux")
    assert registry.resolve(str(root / "diffusion_models" / "tiny-flux-Q8_0.gguf")).companion == \
        root / "checkpoints" / "tiny-flux"  # by path too
    expected = _flux_image(reference)

    quantized = load_model(found["tiny-flux-Q8_0"], choose_device(CPU), CPU).base
    weight = quantized.transformer.transformer_blocks[0].ff.net[0].proj.weight
    assert type(weight).__name__ == "GGUFParameter" and weight.quant_type.name == "Q8_0"  # stays quantized
    assert type(quantized.vae) is type(reference.vae)  # the rest comes from the folder
    close = np.abs(_flux_image(quantized) - expected).max()
    assert 0 < close < 0.02  # Q8_0 rounding: near the full-precision image, not equal to it

    single = load_model(found["tiny-flux-fp32"], choose_device(CPU), CPU).base
    assert np.array_equal(_flux_image(single), expected)


def test_flux_key_conversion_equals_diffusers_at_the_released_width():
    """Released FLUX.1 files are 3072 wide: there the width-generic conversion must give exactly what
    diffusers' own gives (one column per tensor keeps this cheap)."""
    from diffusers.loaders.single_file_utils import convert_flux_transformer_checkpoint_to_diffusers

    from engine.diffusion.flux_keys import flux_to_diffusers
    from tests.tiny_single_files import flux_original_state

    class Shapes:  # the original-layout names with the released rows per tensor
        config = type("C", (), {"num_layers": 2, "num_single_layers": 2})()

        def state_dict(self):
            width, mlp = 3072, 12288
            rows = {"x_embedder": width, "context_embedder": width, "proj_out": 64, "norm_out.linear": 2 * width}
            for name in ("timestep_embedder", "text_embedder", "guidance_embedder"):
                rows.update({f"time_text_embed.{name}.linear_1": width, f"time_text_embed.{name}.linear_2": width})
            for i in range(2):
                b = f"transformer_blocks.{i}."
                for name in ("norm1.linear", "norm1_context.linear"):
                    rows[b + name] = 6 * width
                for name in ("to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0", "to_add_out"):
                    rows[b + "attn." + name] = width
                rows.update({b + "ff.net.0.proj": mlp, b + "ff.net.2": width, b + "ff_context.net.0.proj": mlp,
                             b + "ff_context.net.2": width})
                s = f"single_transformer_blocks.{i}."
                rows.update({s + "norm.linear": 3 * width, s + "attn.to_q": width, s + "attn.to_k": width,
                             s + "attn.to_v": width, s + "proj_mlp": mlp, s + "proj_out": width})
            gen = torch.Generator().manual_seed(0)
            out = {}
            for name, n in rows.items():
                out[name + ".weight"] = torch.randn(n, 1, generator=gen)
                out[name + ".bias"] = torch.randn(n, generator=gen)
            for i in range(2):
                for name in ("norm_q", "norm_k", "norm_added_q", "norm_added_k"):
                    out[f"transformer_blocks.{i}.attn.{name}.weight"] = torch.randn(128, generator=gen)
                for name in ("norm_q", "norm_k"):
                    out[f"single_transformer_blocks.{i}.attn.{name}.weight"] = torch.randn(128, generator=gen)
            return out

    original = flux_original_state(Shapes())
    ours = flux_to_diffusers({"model.diffusion_model." + k: v for k, v in original.items()})
    theirs = convert_flux_transformer_checkpoint_to_diffusers(dict(original))
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert all(torch.equal(ours[k], v) for k, v in Shapes().state_dict().items())  # and it inverts the writer


def test_unsupported_model_files_get_one_line(tmp_path, flux_files):
    import gguf

    (tmp_path / "checkpoints").mkdir()
    sd3 = tmp_path / "sd3.5-medium.safetensors"
    save_file({"model.diffusion_model.joint_blocks.0.context_block.adaLN_modulation.1.bias": torch.zeros(4)}, str(sd3))
    t5 = tmp_path / "t5-v1_1-xxl-Q8_0.gguf"
    writer = gguf.GGUFWriter(str(t5), arch="t5encoder")
    writer.add_tensor("enc.blk.0.attn_q.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file(), writer.write_kv_data_to_file(), writer.write_tensors_to_file(), writer.close()
    broken = tmp_path / "half-downloaded.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 11)
    registry = ModelRegistry(tmp_path)
    messages = {}
    for path in (sd3, t5, broken):
        with pytest.raises(EngineError) as caught:
            registry.resolve(str(path))
        messages[path.name] = str(caught.value)
        assert "\n" not in messages[path.name] and len(messages[path.name]) < 300 and path.name in messages[path.name]
    assert "is a Stable Diffusion 3 transformer; Panelsmith runs SD 1.5 / SDXL" in messages["sd3.5-medium.safetensors"]
    assert "is a T5 text encoder; Panelsmith runs" in messages["t5-v1_1-xxl-Q8_0.gguf"]
    assert "not a valid GGUF file" in messages["half-downloaded.gguf"]
    assert registry.models() == []  # a scan skips them quietly

    # A transformer with no folder of its family: one line saying what to add.
    (tmp_path / "diffusion_models").mkdir()
    lone = (flux_files[0] / "diffusion_models" / "tiny-flux-Q8_0.gguf").read_bytes()
    (tmp_path / "diffusion_models" / "flux-dev-Q8_0.gguf").write_bytes(lone)
    info = ModelRegistry(tmp_path).resolve("flux-dev-Q8_0")
    with pytest.raises(ModelLoadError, match=r"^flux-dev-Q8_0.gguf is a FLUX.1 transformer without text encoders or "
                                             r"VAE: put a diffusers folder of the FLUX.1 family"):
        load_model(info, choose_device(CPU), CPU)
