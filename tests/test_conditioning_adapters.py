"""Identity/style adapters on tiny pipelines, built from tiny weights in their real file layouts."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.conditioning import AdapterFiles, CharacterCondition, LoraRef, StyleCondition, cw_to_scales, sw_to_scale
from engine.conditioning import weights
from engine.conditioning.apply import apply_conditioning, ip_scales_by_layer, remove_conditioning
from engine.jobs import ModelLoadError
from tests import helpers_conditioning as H

G = 5.0


def _img(seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, (48, 48, 3), dtype=np.uint8))


def _emb(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=512)


@pytest.fixture(scope="module")
def sd15(tmp_path_factory):
    root = tmp_path_factory.mktemp("sd15")
    pipe = H.tiny_sd15()
    H.write_image_encoder(root / "image_encoder")
    files = AdapterFiles(
        ip_adapter=H.write_ip_adapter(root / "ip-adapter_sd15.safetensors", pipe.unet),
        image_encoder=root / "image_encoder",
        faceid=H.write_faceid(root / "ip-adapter-faceid_sd15.safetensors", pipe.unet),
    )
    lora = H.write_lora(root / "card_lora.safetensors", pipe)
    return pipe, files, lora, H.run(pipe)


@pytest.fixture(scope="module")
def sdxl(tmp_path_factory):
    root = tmp_path_factory.mktemp("sdxl")
    pipe = H.tiny_sdxl()
    (root / "instantid").mkdir()
    files = AdapterFiles(
        instantid=H.write_instantid(root / "instantid" / "ip-adapter.bin", pipe.unet),
        identitynet=H.write_identitynet(root / "instantid" / "ControlNetModel", pipe.unet),
        ip_adapter=H.write_ip_adapter(root / "ip-adapter_sdxl.safetensors", pipe.unet),
        image_encoder=H.write_image_encoder(root / "image_encoder"),
    )
    return pipe, files, H.run(pipe)


def _generate(pipe, conds, files, guidance=G, size=64, **kw):
    applied = apply_conditioning(pipe, conds, width=size, height=size, guidance=guidance, adapters=files)
    try:
        out = H.run(applied.pipe, guidance=guidance, size=size, prompt=applied.prompt("a hero"), **applied.call_kwargs, **kw)
        info = dict(roles=applied.roles, scales=ip_scales_by_layer(pipe.unet), kwargs=applied.call_kwargs,
                    pipe=type(applied.pipe).__name__, loras=pipe.get_list_adapters(), applied=applied)
    finally:
        remove_conditioning(applied)
    return out, info


def test_cw0_keeps_face_only_cw100_adds_appearance(sd15):
    pipe, files, _, base = sd15
    face_only, i0 = _generate(pipe, [CharacterCondition("c", _emb(1), cw=0, reference_images=[_img(1)])], files)
    full, i100 = _generate(pipe, [CharacterCondition("c", _emb(1), cw=100, reference_images=[_img(1)])], files)
    assert i0["roles"] == ["faceid"]  # appearance adapter not even loaded at cw=0
    assert i100["roles"] == ["faceid", "appearance"]
    s0 = next(iter(i0["scales"].values()))
    s100 = next(iter(i100["scales"].values()))
    assert s0 == [cw_to_scales(0)[0]] and s100 == [cw_to_scales(100)[0], cw_to_scales(100)[2]]
    assert "faceid_0" in i0["loras"]["unet"]  # FaceID's own LoRA came with the adapter
    assert np.abs(face_only - base).max() > 1e-3
    assert np.abs(full - face_only).max() > 1e-3
    assert np.array_equal(H.run(pipe), base)  # removal restores the base bit-exactly
    assert pipe.get_list_adapters() == {} and pipe.unet.encoder_hid_proj is None
    assert pipe.image_encoder is None and pipe.feature_extractor is None


def test_scale_zero_equals_base_and_sw_zero_loads_nothing(sd15):
    pipe, files, _, base = sd15
    applied = apply_conditioning(pipe, [StyleCondition("s", [_img(2)], sw=100)], width=64, height=64,
                                 guidance=G, adapters=files)
    try:
        styled = H.run(pipe, **applied.call_kwargs)
        pipe.set_ip_adapter_scale(0.0)
        zero = H.run(pipe, **applied.call_kwargs)
    finally:
        remove_conditioning(applied)
    assert np.abs(styled - base).max() > 1e-3
    assert np.array_equal(zero, base)
    out, info = _generate(pipe, [StyleCondition("s", [_img(2)], sw=0, prompt_suffix="ink")], files)
    assert info["roles"] == [] and info["applied"].prompt("a hero") == "a hero, ink"


@pytest.mark.parametrize("which", ["sd15", "engine_tiny", "sdxl"])
def test_style_adapter_touches_only_style_blocks(which, sd15, sdxl, tmp_path):
    if which == "sd15":
        pipe, files, base = sd15[0], sd15[1], sd15[3]
        expected = {"up_blocks.1.attentions.0", "up_blocks.1.attentions.1"}  # whole first attention up block
    elif which == "sdxl":
        pipe, files, base = sdxl
        expected = {"up_blocks.0.attentions.1"}  # InstantStyle's [0, s, 0]
    else:  # the engine's own tiny model (tests/tiny_models.py): up_blocks.0 carries attention there
        from diffusers import StableDiffusionPipeline
        from tests.tiny_models import tiny_components

        pipe = StableDiffusionPipeline(**tiny_components())
        pipe.set_progress_bar_config(disable=True)
        H.write_image_encoder(tmp_path / "image_encoder")
        files = AdapterFiles(ip_adapter=H.write_ip_adapter(tmp_path / "ip.safetensors", pipe.unet),
                             image_encoder=tmp_path / "image_encoder")
        base = H.run(pipe)
        expected = {"up_blocks.0.attentions.0", "up_blocks.0.attentions.1"}
    out, info = _generate(pipe, [StyleCondition("s", [_img(3), _img(4)], sw=300)], files)
    on = {name.split(".transformer_blocks")[0] for name, s in info["scales"].items() if s[0] != 0}
    assert on == expected
    assert all(s == [sw_to_scale(300)] for name, s in info["scales"].items() if name.split(".transformer_blocks")[0] in on)
    assert len(info["scales"]) > len(on)  # other cross-attention layers exist and stay at 0
    assert np.abs(out - base).max() > 1e-4
    assert np.array_equal(H.run(pipe), base)


def test_two_characters_masked_regions(sd15):
    pipe, files, _, base = sd15
    a = CharacterCondition("a", _emb(5), cw=0)
    b = CharacterCondition("b", _emb(6), cw=0)
    both, info = _generate(pipe, [a, b], files)
    masks = info["kwargs"]["cross_attention_kwargs"]["ip_adapter_masks"][0]
    assert masks.shape == (1, 2, 64, 64)
    assert masks.sum(1).max() <= 1 and masks[0, 0, :, :32].all() and masks[0, 1, :, 32:].all()
    left_a = Image.new("L", (64, 64), 0)
    left_a.paste(255, (0, 0, 32, 64))
    right_b = Image.new("L", (64, 64), 0)
    right_b.paste(255, (32, 0, 64, 64))
    only_a, _ = _generate(pipe, [CharacterCondition("a", _emb(5), cw=0, region=left_a)], files)
    only_b, _ = _generate(pipe, [CharacterCondition("b", _emb(6), cw=0, region=right_b)], files)
    # B's half differs from the A-only panel, A's half from the B-only panel
    assert np.abs(both[:, 40:] - only_a[:, 40:]).max() > 1e-3
    assert np.abs(both[:, :24] - only_b[:, :24]).max() > 1e-3
    assert np.array_equal(H.run(pipe), base)


def test_all_adapters_at_once_with_per_adapter_scales(sd15):
    pipe, files, _, base = sd15
    conds = [CharacterCondition("a", _emb(7), cw=50, reference_images=[_img(7), _img(8)], reference_weights=[2, 1]),
             StyleCondition("s", [_img(9)], sw=100, negative_prompt="blurry")]
    out, info = _generate(pipe, conds, files, guidance=1.0)  # no CFG: embeds without negatives
    assert info["roles"] == ["faceid", "appearance", "style"]
    face, _, app = cw_to_scales(50)
    assert info["scales"]["up_blocks.1.attentions.0.transformer_blocks.0.attn2.processor"] == [face, app, sw_to_scale(100)]
    assert info["scales"]["down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor"] == [face, app, 0.0]
    assert all(e.shape[0] == 1 for e in info["kwargs"]["ip_adapter_image_embeds"])
    assert info["applied"].negative("") == "blurry"
    assert np.array_equal(H.run(pipe), base)


def test_card_lora_changes_output_and_unloads_exactly(sd15):
    pipe, files, lora, base = sd15
    plain, _ = _generate(pipe, [CharacterCondition("a", _emb(1), cw=0)], files)
    with_lora, info = _generate(pipe, [CharacterCondition("a", _emb(1), cw=0, lora=LoraRef(lora, 0.8))], files)
    assert set(info["loras"]["unet"]) == {"faceid_0", "ps_card_char0"}
    assert np.abs(with_lora - plain).max() > 1e-3
    assert np.array_equal(H.run(pipe), base) and pipe.get_list_adapters() == {}


def test_engine_lora_is_kept_across_apply_and_remove(sd15):
    pipe, files, lora, base = sd15
    pipe.load_lora_weights(str(lora.parent), weight_name=lora.name, adapter_name="engine_lcm")
    pipe.set_adapters(["engine_lcm"], [0.5])
    try:
        before = H.run(pipe)
        styled, info = _generate(pipe, [StyleCondition("s", [_img(2)], sw=100, lora=LoraRef(lora, 1.0))], files)
        assert set(info["loras"]["unet"]) == {"engine_lcm", "ps_card_style0"}
        assert np.array_equal(H.run(pipe), before)
        assert pipe.get_list_adapters() == {"unet": ["engine_lcm"]}
    finally:
        pipe.unload_lora_weights()
    assert np.array_equal(H.run(pipe), base)


def test_instantid_adapter_and_identitynet_on_sdxl(sdxl):
    pipe, files, base = sdxl
    seen = []
    cn = weights.load_controlnet(files.identitynet, pipe.unet.dtype, pipe.unet.device)
    spy = cn.register_forward_hook(lambda m, a, k, out: seen.append(k["encoder_hidden_states"].shape), with_kwargs=True)
    try:
        c = CharacterCondition("a", _emb(3), cw=100, face_kps=np.array([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]]),
                               kps_size=(100, 100), face_embedding_norm=20.0)
        out, info = _generate(pipe, [c], files)
    finally:
        spy.remove()
    assert info["pipe"] == "StableDiffusionXLControlNetPipeline" and info["roles"] == ["instantid"]
    assert info["kwargs"]["controlnet_conditioning_scale"] == cw_to_scales(100)[1]
    assert isinstance(info["kwargs"]["image"], Image.Image)
    assert seen and seen[0] == (2, 4, 64)  # IdentityNet saw the 4 face tokens (CFG pair), not the text
    assert np.abs(out - base).max() > 1e-3
    assert np.array_equal(H.run(pipe), base)
    assert not cn._forward_pre_hooks  # the token swap is gone too


def test_instantid_two_characters_and_safetensors_layout(sdxl, tmp_path):
    pipe, files, base = sdxl
    flat = H.write_instantid(tmp_path / "ip-adapter.safetensors", pipe.unet)
    files = AdapterFiles(instantid=flat, identitynet=files.identitynet)
    out, info = _generate(pipe, [CharacterCondition("a", _emb(1), cw=0), CharacterCondition("b", _emb(2), cw=100)], files)
    assert info["kwargs"]["controlnet_conditioning_scale"] == cw_to_scales(100)[1]
    kps_img = np.asarray(info["kwargs"]["image"])
    assert kps_img[:, :32].max() > 0 and kps_img[:, 32:].max() > 0  # one face drawn in each half
    assert np.abs(out - base).max() > 1e-3 and np.array_equal(H.run(pipe), base)


def test_wrong_architecture_is_reported_and_pipeline_untouched(sd15, sdxl):
    pipe, _, _, base = sd15
    files = AdapterFiles(faceid=sdxl[1].ip_adapter)  # an SDXL-width adapter on SD 1.5
    with pytest.raises(ModelLoadError, match="text width"):
        apply_conditioning(pipe, [CharacterCondition("a", _emb(1))], width=64, height=64, guidance=G, adapters=files)
    assert np.array_equal(H.run(pipe), base)


def test_adapter_weights_are_cached(sd15):
    _, files, _, _ = sd15
    assert weights.load_ip_adapter_state_dict(files.faceid) is weights.load_ip_adapter_state_dict(files.faceid)
    enc1 = weights.load_image_encoder(files.image_encoder, torch.float32, torch.device("cpu"))
    assert enc1 is weights.load_image_encoder(files.image_encoder, torch.float32, torch.device("cpu"))


def test_identity_strength_raises_the_applied_scales(sd15, sdxl):
    pipe, files, _, _ = sd15
    _, normal = _generate(pipe, [CharacterCondition("c", _emb(1), cw=0)], files)
    _, strong = _generate(pipe, [CharacterCondition("c", _emb(1), cw=0, identity_strength=1.25)], files)
    s_normal = next(iter(normal["scales"].values()))[0]
    s_strong = next(iter(strong["scales"].values()))[0]
    assert s_normal == cw_to_scales(0)[0] and s_strong > s_normal
    xl, xl_files, _ = sdxl
    _, n = _generate(xl, [CharacterCondition("c", _emb(1), cw=50)], xl_files)
    _, s = _generate(xl, [CharacterCondition("c", _emb(1), cw=50, identity_strength=1.25)], xl_files)
    assert s["kwargs"]["controlnet_conditioning_scale"] > n["kwargs"]["controlnet_conditioning_scale"]
    assert next(iter(s["scales"].values()))[0] > next(iter(n["scales"].values()))[0]


def test_remove_runs_every_undo_step_even_after_a_failure():
    from engine.conditioning.apply import AppliedConditioning
    from engine.jobs import EngineError

    ran = []
    applied = AppliedConditioning(base=None, pipe=None, roles=["style"], lora_names=["ps_card_style0"])
    applied._undo.callback(ran.append, "loras")

    def fail() -> None:
        ran.append("adapters")
        raise RuntimeError("adapter still loaded")

    applied._undo.callback(fail)
    applied._undo.callback(ran.append, "hook")
    with pytest.raises(EngineError, match="could not fully remove the conditioning: adapter still loaded"):
        remove_conditioning(applied)
    assert ran == ["hook", "adapters", "loras"] and applied.roles == [] and applied.lora_names == []
    remove_conditioning(applied)  # a second call has nothing left to undo
    assert ran == ["hook", "adapters", "loras"]
