"""PhotoMaker as a third identity method: the released file layout read as tensors only, the ID encoder
built at the widths of its state dict, the class word's fusion, cw → start-merge step and adapter
strength, and a bound card generating through the registry (tiny random weights, no downloads)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from app import edits, layout, project_io
from app.document import Document
from app.generation.request import Overrides
from app.generation.run import prepare, run_panel_job
from app.project import IdentityMethod, Project
from engine.api import Engine
from engine.conditioning import AdapterFiles, CharacterCondition, find_adapters
from engine.conditioning import photomaker as pm
from engine.conditioning.mapping import PHOTOMAKER_KNOTS, photomaker_schedule
from engine.device import DeviceOptions
from engine.jobs import EngineError, JobKind, ModelLoadError, ModelNotFoundError
from engine.registry import Arch, ModelKind, ModelRegistry
from tests.faces_tiny_models import squares_image, write_pack
from tests.helpers_conditioning import run, tiny_sdxl
from tests.helpers_photomaker import photomaker_state_dict, write_photomaker
from tests.helpers_project import read_manifest, rewrite_manifest
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

MAPPING = Path(__file__).resolve().parents[1] / "engine" / "conditioning" / "MAPPING.md"


@pytest.fixture(scope="module")
def sdxl():
    return tiny_sdxl()


@pytest.fixture(scope="module")
def pm_files(sdxl, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pm")
    write_photomaker(root / "photomaker" / "photomaker-v1.bin", sdxl.unet, 1)
    write_photomaker(root / "photomaker" / "photomaker-v2.bin", sdxl.unet, 2)
    return root


def _refs(n: int = 2) -> list[Image.Image]:
    rng = np.random.default_rng(3)
    return [Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)) for _ in range(n)]


# --- files ---------------------------------------------------------------------------------------------

def test_released_files_are_found_by_the_registry_and_read_as_tensors_only(pm_files, sdxl, tmp_path):
    conv = tmp_path / "photomaker" / "photomaker-v2.safetensors"
    write_photomaker(conv, sdxl.unet, 2)
    registry = ModelRegistry(pm_files)
    found = {m.name: (m.kind, m.arch, m.variant) for m in registry.models([ModelKind.PHOTOMAKER])}
    assert found == {"photomaker-v1": (ModelKind.PHOTOMAKER, Arch.SDXL, "v1"),
                     "photomaker-v2": (ModelKind.PHOTOMAKER, Arch.SDXL, "v2")}
    assert [(m.kind, m.variant) for m in ModelRegistry(tmp_path).models()] == [(ModelKind.PHOTOMAKER, "v2")]
    assert find_adapters(registry, Arch.SDXL).photomaker.name == "photomaker-v2.bin"
    assert find_adapters(registry, Arch.SD15).photomaker is None
    bin_sd, st_sd = pm.read_photomaker(pm_files / "photomaker" / "photomaker-v2.bin"), pm.read_photomaker(conv)
    assert set(bin_sd) == {"id_encoder", "lora_weights"} and bin_sd["id_encoder"].keys() == st_sd["id_encoder"].keys()
    assert all(torch.equal(bin_sd["id_encoder"][k], st_sd["id_encoder"][k]) for k in bin_sd["id_encoder"])


class _Payload:
    def __reduce__(self):
        return (print, ("pickled code ran",))


@pytest.mark.parametrize("case", ["code", "missing", "ipadapter", "garbage", "truncated"])
def test_a_missing_or_wrong_file_is_one_line(case, tmp_path, pm_files, capsys):
    path = tmp_path / "photomaker-v1.bin"
    if case == "code":
        torch.save({"id_encoder": {"x": _Payload()}, "lora_weights": {}}, str(path))
    elif case == "ipadapter":
        torch.save({"image_proj": {"w": torch.zeros(2)}, "ip_adapter": {"1.to_k_ip.weight": torch.zeros(2, 2)}}, str(path))
    elif case == "garbage":
        path.write_bytes(b"not a torch file at all")
    elif case == "truncated":
        data = (pm_files / "photomaker" / "photomaker-v1.bin").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError) as err:
        pm.read_photomaker(path)
    message = str(err.value)
    assert "\n" not in message and len(message) < 300 and path.name in message
    assert "pickled code ran" not in capsys.readouterr().out


def test_id_encoder_is_built_at_the_widths_of_the_state_dict(sdxl):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    sd = photomaker_state_dict(sdxl.unet, 1)["id_encoder"]
    enc = pm.IDEncoder(sd).eval()
    assert (enc.version, enc.text_dim, enc.image_size, enc.tokens) == (1, 64, 32, 1)
    # V1's ID token is the CLIP image embedding beside visual_projection_2 of the pooled output, as released
    clip = CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                                                          num_attention_heads=1, image_size=32, patch_size=8,
                                                          projection_dim=32)).eval()
    clip.load_state_dict({k: v for k, v in sd.items() if k.startswith(("vision_model.", "visual_projection."))})
    pix = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        out = clip(pix)
        pooled = clip.vision_model.post_layernorm(out.last_hidden_state[:, 0])
        want = torch.cat([out.image_embeds, torch.nn.functional.linear(pooled, sd["visual_projection_2.weight"])], -1)
        got = enc.encode(pix)
    assert got.shape == (3, 64) and torch.allclose(got, want, atol=1e-5)
    v2 = pm.IDEncoder(photomaker_state_dict(sdxl.unet, 2)["id_encoder"]).eval()
    assert (v2.version, v2.tokens, v2.face_dim) == (2, 2, 512)
    with torch.no_grad():
        assert v2.encode(pix, torch.randn(3, 512)).shape == (6, 64)  # two ID tokens per image
    broken = dict(sd)
    broken["fuse_module.mlp2.fc1.weight"] = torch.zeros(5, 5)
    with pytest.raises(ModelLoadError, match="does not fit"):
        pm.IDEncoder(broken)


# --- prompt ---------------------------------------------------------------------------------------------

def test_the_trigger_word_goes_after_the_class_word_for_the_user(sdxl):
    text, ends = pm.place_class_words("Mira walks past a man", ["Mira"])
    assert pm.with_trigger(text, ends) == "Mira img walks past a man"
    text, ends = pm.place_class_words("a woman reads", ["Juno"])
    assert pm.with_trigger(text, ends) == "a woman img reads"
    text, ends = pm.place_class_words("a castle at dusk", ["Juno"])
    assert pm.with_trigger(text, ends) == "a person img, a castle at dusk"
    # one repeat is the pipeline's own tokenization; n repeats put n class tokens in its place
    tok = sdxl.tokenizer
    text, ends = pm.place_class_words("Mira walks", ["Mira"])
    ids, mask = pm.expanded_ids(tok, text, [pm.ClassWord(ends[0], 1)])
    plain = tok(text, padding="max_length", max_length=tok.model_max_length, truncation=True).input_ids
    assert ids[0].tolist() == plain and int(mask.sum()) == 1
    ids3, mask3 = pm.expanded_ids(tok, text, [pm.ClassWord(ends[0], 3)])
    cls = ids[0][mask[0]].item()
    assert ids3[0][mask3[0]].tolist() == [cls] * 3 and ids3[0][:len(plain)].tolist().count(cls) >= 3
    with pytest.raises(EngineError, match="too long"):
        pm.expanded_ids(tok, "x " * 80 + text, [pm.ClassWord(160 + ends[0], 4)])


# --- mapping ----------------------------------------------------------------------------------------------

def test_cw_maps_to_start_merge_step_and_strength_monotonic_and_documented():
    rows = [photomaker_schedule(cw, 50) for cw in range(101)]
    starts, strengths = [r[0] for r in rows], [r[1] for r in rows]
    assert all(a >= b for a, b in zip(starts, starts[1:])) and all(a <= b for a, b in zip(strengths, strengths[1:]))
    assert rows[0] == (25, 0.5) and rows[100] == (5, 1.0) and photomaker_schedule(100, 1) == (0, 1.0)
    table = MAPPING.read_text(encoding="utf-8").split("## PhotoMaker", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| (\d+) +\| ([\d.]+) % +\| (\d+) +\| ([\d.]+) +\|$", table, flags=re.M)
    assert len(documented) >= 5
    for cw, fraction, start50, strength in documented:
        assert photomaker_schedule(int(cw), 50) == (int(start50), float(strength))
        assert float(fraction) / 100 * 50 == pytest.approx(int(start50), abs=0.51)
    assert [k for k, _ in PHOTOMAKER_KNOTS] == [0, 100]


# --- conditioning on the pipeline -------------------------------------------------------------------------

def _with(pipe, path: Path, cw: int, prompt: str = "Mira in a forest", steps: int = 4, guidance: float = 5.0,
          size: int = 64):
    from engine.conditioning.apply import apply_conditioning, remove_conditioning

    cond = CharacterCondition("c1", np.random.default_rng(1).normal(size=512), cw=cw, reference_images=_refs(),
                              method="photomaker", name="Mira", face_embedding_norm=20.0)
    applied = apply_conditioning(pipe, [cond], width=64, height=64, guidance=guidance,
                                 adapters=AdapterFiles(photomaker=path))
    try:
        assert "photomaker" in applied.roles and not applied.call_kwargs.get("ip_adapter_image_embeds")
        texts = applied.encode_prompt(prompt, "", steps)

        def step_end(_p, index, _t, tensors):
            return applied.on_step_end(index, tensors) if applied.on_step_end else tensors

        with torch.inference_mode():
            return run(pipe, steps=steps, size=size, guidance=guidance, prompt=None, callback_on_step_end=step_end,
                       callback_on_step_end_tensor_inputs=["latents", *applied.step_tensor_inputs], **texts)
    finally:
        remove_conditioning(applied)


def _fuse_by_hand(sd: dict, text: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """PhotoMaker's FuseModule written out from the state dict: mlp1(cat) + text, mlp2 (residual), layer norm."""
    F = torch.nn.functional

    def mlp(p, x, residual):
        h = F.layer_norm(x, x.shape[-1:], sd[f"{p}.layernorm.weight"], sd[f"{p}.layernorm.bias"])
        h = F.linear(F.gelu(F.linear(h, sd[f"{p}.fc1.weight"], sd[f"{p}.fc1.bias"])), sd[f"{p}.fc2.weight"],
                     sd[f"{p}.fc2.bias"])
        return h + x if residual else h

    x = mlp("fuse_module.mlp1", torch.cat([text, ids], -1), False) + text
    x = mlp("fuse_module.mlp2", x, True)
    return F.layer_norm(x, x.shape[-1:], sd["fuse_module.layer_norm.weight"], sd["fuse_module.layer_norm.bias"])


def test_id_tokens_replace_the_class_word_from_the_start_merge_step(sdxl, pm_files):
    from transformers import CLIPImageProcessor

    from engine.conditioning.apply import apply_conditioning, remove_conditioning

    path = pm_files / "photomaker" / "photomaker-v1.bin"
    sd = pm.read_photomaker(path)["id_encoder"]
    with torch.no_grad():
        plain = sdxl.encode_prompt(prompt="Mira in a forest", device="cpu", do_classifier_free_guidance=True)
        # "Mira" ends in one class token, repeated once per reference (2): byte tokens m, i, r, a</w>
        expanded, mask = pm.encode_expanded(sdxl, "Mira in a forest", [pm.ClassWord(4, 2)])
        ids = pm.IDEncoder(sd).eval().encode(CLIPImageProcessor(size=32, crop_size=32)(
            images=_refs(2), return_tensors="pt").pixel_values)
    assert torch.nonzero(mask).flatten().tolist() == [4, 5]
    want = expanded.clone()
    want[0, mask] = _fuse_by_hand(sd, expanded[0, mask], ids)
    for cw, start in ((100, 0), (0, 2)):
        cond = CharacterCondition("c1", np.ones(512), cw=cw, reference_images=_refs(2), method="photomaker", name="Mira")
        applied = apply_conditioning(sdxl, [cond], width=64, height=64, guidance=5.0,
                                     adapters=AdapterFiles(photomaker=path))
        try:
            assert sdxl.get_list_adapters()["unet"] == ["photomaker"]
            with torch.no_grad():
                texts = applied.encode_prompt("Mira in a forest", "", 4)
            assert torch.equal(texts["negative_prompt_embeds"], plain[1])
            assert torch.equal(texts["pooled_prompt_embeds"], plain[2])
            if start == 0:
                merged = texts["prompt_embeds"]
                assert applied.on_step_end is None
            else:
                assert torch.equal(texts["prompt_embeds"], plain[0])  # the text alone before the start-merge step
                untouched = {"prompt_embeds": torch.cat([plain[1], plain[0]])}
                assert applied.on_step_end(start, dict(untouched))["prompt_embeds"] is untouched["prompt_embeds"]
                both = applied.on_step_end(start - 1, dict(untouched))["prompt_embeds"]
                assert torch.equal(both[:1], plain[1])  # CFG: negative first, as the pipeline concatenates
                merged = both[1:]
            assert torch.allclose(merged, want, atol=1e-5)
            assert torch.equal(merged[0, ~mask], expanded[0, ~mask]) and not torch.allclose(merged[0, mask],
                                                                                          expanded[0, mask])
        finally:
            remove_conditioning(applied)
        assert not sdxl.get_list_adapters().get("unet")


def test_v1_conditions_by_cw_and_removal_restores_the_base(sdxl, pm_files):
    base = run(sdxl, steps=3, size=32, prompt="Mira in a forest", guidance=1.0)
    path = pm_files / "photomaker" / "photomaker-v1.bin"
    low, high = (_with(sdxl, path, cw, steps=3, size=32, guidance=1.0) for cw in (0, 100))  # no CFG here
    assert not np.array_equal(low, base) and not np.array_equal(high, base) and not np.array_equal(low, high)
    assert np.array_equal(run(sdxl, steps=3, size=32, prompt="Mira in a forest", guidance=1.0), base)
    assert sdxl.get_list_adapters() == {} or not any(sdxl.get_list_adapters().values())


def test_photomaker_needs_sdxl_and_its_file():
    from engine.conditioning.apply import apply_conditioning
    from tests.helpers_conditioning import tiny_sd15

    cond = CharacterCondition("c1", np.ones(512), reference_images=_refs(1), method="photomaker", name="Mira")
    with pytest.raises(EngineError, match="SDXL"):
        apply_conditioning(tiny_sd15(), [cond], width=64, height=64, guidance=5.0, adapters=AdapterFiles())
    with pytest.raises(ModelNotFoundError, match="photomaker-v1.bin"):
        apply_conditioning(tiny_sdxl(), [cond], width=64, height=64, guidance=5.0, adapters=AdapterFiles())


# --- a bound card, through the registry and the engine ------------------------------------------------------

@pytest.fixture(scope="module")
def pm_models(tiny_models_dir, tmp_path_factory):  # noqa: F811
    from diffusers import UNet2DConditionModel

    root = tmp_path_factory.mktemp("pmmodels")
    shutil.copytree(tiny_models_dir / "checkpoints" / "tiny-sdxl-lightning", root / "checkpoints" / "tiny-sdxl")
    unet = UNet2DConditionModel.from_pretrained(root / "checkpoints" / "tiny-sdxl" / "unet")
    write_photomaker(root / "photomaker" / "photomaker-v2.bin", unet, 2)
    write_pack(root / "insightface")
    return root


FAST = {"model": "tiny-sdxl", "steps": 4, "scheduler": "euler", "seed": 11, "device": "cpu"}


def _doc(cw, method=IdentityMethod.PHOTOMAKER):
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "splash")
    pid = doc.project.pages[0].panels[0].id
    edits.set_panel_fields(doc, pid, prompt="Mira in a forest")
    card = edits.add_card(doc, "character", "Mira", [Image.fromarray(squares_image([(5, 5)], pattern_seed=2)),
                                                     Image.fromarray(squares_image([(3, 4)], pattern_seed=5))])
    edits.update_card(doc, card, identity_method=method)
    if cw is not None:
        edits.bind_card(doc, pid, card, cw)
    return doc, pid, card


def test_bound_photomaker_card_generates_and_unbinding_restores_plain_output(pm_models):
    engine = Engine(pm_models, DeviceOptions(device="cpu"))
    doc, pid, card = _doc(None)

    def generate():
        prepared = prepare(doc, pid, Overrides.of(JobKind.GENERATE, FAST, models_dir=pm_models))
        image = np.asarray(run_panel_job(doc, pid, engine, prepared)[0].images[0])
        return [c for c in prepared.request.conditioning if isinstance(c, CharacterCondition)], image

    try:
        conds, plain = generate()
        assert not conds
        images = {}
        for cw in (0, 100):
            edits.bind_card(doc, pid, card, cw)
            [cond], images[cw] = generate()
            assert (cond.method, cond.name, cond.cw, len(cond.reference_images)) == ("photomaker", "Mira", cw, 2)
            assert not np.array_equal(images[cw], plain)
        assert not np.array_equal(images[0], images[100])
        edits.unbind_card(doc, pid, card)  # the card removed from the panel: the plain output, bit for bit
        conds, again = generate()
        assert not conds and np.array_equal(again, plain)
        assert engine.loads == 1
    finally:
        engine.close()


# --- the card's method in the project file ------------------------------------------------------------------

def test_identity_method_is_saved_and_older_files_read_as_auto(tmp_path):
    doc, _pid, card = _doc(50)
    path = tmp_path / "book.comic"
    project_io.save_project(doc.project, path)
    assert read_manifest(path)["characters"][0]["identity_method"] == "photomaker"
    assert project_io.load_project(path).card(card).identity_method is IdentityMethod.PHOTOMAKER
    old = rewrite_manifest(path, tmp_path / "old.comic", lambda m: m["characters"][0].pop("identity_method"))
    assert project_io.load_project(old).card(card).identity_method is IdentityMethod.AUTO
    bad = rewrite_manifest(path, tmp_path / "bad.comic", lambda m: m["characters"][0].update(identity_method="magic"))
    with pytest.raises(project_io.ProjectFileError, match="identity_method"):
        project_io.load_project(bad)


# --- vary region: the inpaint pipeline gets the fused prompt the same way -------------------------------------

def test_photomaker_card_changes_the_varied_region_and_nothing_beyond_the_band(pm_models):
    """At strength 0.5 the inpaint runs the last 2 of 4 steps: the ID embedding must reach the UNet within them
    (the start-merge step is counted in the steps that run), the region changes, the band's outside does not."""
    from tests import bands

    engine = Engine(pm_models, DeviceOptions(device="cpu"))
    doc, pid, card = _doc(None)
    source = Image.fromarray(np.random.default_rng(5).integers(0, 255, (64, 80, 3), dtype=np.uint8))
    edits.add_variants(doc, pid, [(source, 1)], kind="import", prompt="")
    mask = Image.new("L", source.size, 0)
    mask.paste(255, (24, 16, 56, 44))
    feather = 4
    seen = []  # the text embeddings the UNet reads at each step

    def vary():
        prepared = prepare(doc, pid, Overrides.of(JobKind.VARY_REGION, {**FAST, "feather_px": feather, "strength": 0.5},
                                                  models_dir=pm_models, mask=mask))
        result = engine.run(prepared.request)
        conds = [c for c in prepared.request.conditioning if isinstance(c, CharacterCondition)]
        return conds, result.metadata["warnings"], np.asarray(result.images[0])

    try:
        conds, _, plain = vary()
        assert not conds
        unet = engine.backend.model(engine.registry.resolve("tiny-sdxl"), "cpu").pipe("inpaint").unet
        hook = unet.register_forward_pre_hook(lambda _m, args, kwargs: seen.append(
            (args[2] if len(args) > 2 else kwargs["encoder_hidden_states"]).clone()), with_kwargs=True)
        edits.bind_card(doc, pid, card, 0)  # cw 0: the latest start-merge step (half the steps)
        try:
            [cond], warnings, with_card = vary()
        finally:
            hook.remove()
        assert cond.method == "photomaker" and not warnings
        assert len(seen) == 2 and not torch.equal(seen[0], seen[-1])  # fused in before the last step that runs
        inside = bands.inside(mask)
        far = bands.beyond(inside, feather)
        assert np.array_equal(with_card[far], np.asarray(source)[far])  # byte-identical beyond the band
        assert np.array_equal(plain[far], np.asarray(source)[far])
        assert not np.array_equal(with_card[inside], plain[inside])  # the card changes the varied region
        assert engine.loads == 1
    finally:
        engine.close()
