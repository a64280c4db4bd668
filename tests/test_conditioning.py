"""Conditioning data, mappings, regions and adapter discovery (no torch needed)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.conditioning import (
    AdapterFiles, CharacterCondition, StyleCondition, blend_embeddings, cw_to_scales, default_halves,
    draw_keypoints, has_conditioning, place_keypoints, resolve_regions, suggested_guidance, sw_to_scale,
)
from engine.jobs import EngineError, GenerationRequest
from engine.registry import Arch

MAPPING_MD = Path(__file__).resolve().parents[1] / "engine" / "conditioning" / "MAPPING.md"


def test_cw_mapping_is_monotonic_with_documented_ends():
    rows = [cw_to_scales(cw) for cw in range(101)]
    for col in range(3):
        vals = [r[col] for r in rows]
        assert all(b >= a for a, b in zip(vals, vals[1:])), col
        assert vals[-1] > vals[0]
    assert rows[0][2] == 0.0  # cw=0: face only
    assert rows[100] == (0.8, 0.8, 0.5)  # InstantID defaults + appearance
    with pytest.raises(EngineError):
        cw_to_scales(101)


def test_sw_mapping_is_monotonic_default_and_strong():
    vals = [sw_to_scale(sw) for sw in range(1001)]
    assert all(b >= a for a, b in zip(vals, vals[1:]))
    assert vals[0] == 0.0 and 0.6 <= vals[100] <= 0.7 and vals[1000] >= 1.0
    with pytest.raises(EngineError):
        sw_to_scale(-1)


def test_mapping_md_tables_match_code():
    text = MAPPING_MD.read_text()
    cw_rows = re.findall(r"^\| (\d+)\s+\| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$", text, re.M)
    sw_rows = re.findall(r"^\| (\d+)\s+\| ([\d.]+)", text.split("## `--sw`")[1], re.M)
    assert len(cw_rows) >= 5 and len(sw_rows) >= 8
    for cw, *vals in cw_rows:
        assert cw_to_scales(int(cw)) == pytest.approx(tuple(float(v) for v in vals), abs=1e-3)
    for sw, val in sw_rows:
        assert sw_to_scale(int(sw)) == pytest.approx(float(val), abs=1e-3)


def test_blend_is_weighted_normalised_mean():
    a, b = np.eye(512)[0], np.eye(512)[1]
    out = blend_embeddings([a, b * 5], [2, 1])  # inputs are normalised first
    assert np.linalg.norm(out) == pytest.approx(1.0, abs=1e-6)
    assert out[0] == pytest.approx(2 / np.sqrt(5), abs=1e-6) and out[1] == pytest.approx(1 / np.sqrt(5), abs=1e-6)
    with pytest.raises(EngineError):
        blend_embeddings([a, -a])
    with pytest.raises(EngineError):
        blend_embeddings([])


def test_condition_validation():
    emb = np.ones(512)
    c = CharacterCondition.from_references("c1", [emb, -emb + 2], [1, 3], cw=0)
    assert c.face_embedding.shape == (512,) and not c.wants_appearance
    with pytest.raises(EngineError):
        CharacterCondition("c", np.ones(128))
    with pytest.raises(EngineError):
        CharacterCondition("c", emb, cw=101)
    with pytest.raises(EngineError):
        CharacterCondition("c", emb, face_kps=np.zeros((5, 2)))  # no frame size
    with pytest.raises(EngineError):
        StyleCondition("s", sw=1001)
    req = GenerationRequest(prompt="x", model="m", conditioning=[c])
    assert has_conditioning(req) and not has_conditioning(GenerationRequest())
    assert suggested_guidance(req, Arch.SDXL) == 5.0
    assert suggested_guidance(req, Arch.SD15) is None and suggested_guidance(req, Arch.SDXL, "lightning") is None


@pytest.mark.parametrize("size", [(96, 64), (64, 96)])
def test_default_regions_are_halves_that_do_not_overlap(size):
    a, b = resolve_regions([None, None], size)
    assert not (a & b).any() and (a | b).all()
    assert a.sum() == b.sum()
    # wide panels split left/right, tall ones top/bottom
    if size[0] > size[1]:
        assert a[:, 0].all() and not a[:, -1].any()
    else:
        assert a[0].all() and not a[-1].any()


def test_overlapping_user_regions_are_split():
    left = Image.new("L", (100, 50), 0)
    left.paste(255, (0, 0, 70, 50))
    right = Image.new("L", (100, 50), 0)
    right.paste(255, (30, 0, 100, 50))
    a, b = resolve_regions([left, right], (100, 50))
    assert not (a & b).any() and (a | b).all()
    assert a[:, 45].all() and b[:, 55].all()
    # one user region: the other character gets what is left
    a, b = resolve_regions([left, None], (100, 50))
    assert not (a & b).any() and b[:, 80].all() and not b[:, 10].any()
    with pytest.raises(EngineError):
        resolve_regions([Image.new("L", (10, 10), 0)], (10, 10))


def test_keypoints_placed_in_region_and_drawn():
    region = default_halves(2, (128, 64))[1]
    kps = place_keypoints(np.array([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]]), (100, 100), region)
    assert (kps[:, 0] >= 64).all() and (kps[:, 0] < 128).all()
    neutral = place_keypoints(None, None, region)
    assert (neutral[:, 0] >= 64).all()
    img = np.asarray(draw_keypoints([kps], (128, 64)))
    assert img[:, :64].max() == 0 and img[:, 64:].max() == 255
    x, y = kps[2].round().astype(int)
    assert tuple(img[y, x]) == (0, 0, 255)  # the nose is blue, as InstantID draws it


def test_find_adapters_reads_the_registry(tmp_path):
    pytest.importorskip("torch")
    from engine.conditioning import find_adapters
    from engine.registry import ModelRegistry
    from tests.helpers_conditioning import tiny_sd15, write_faceid, write_image_encoder, write_ip_adapter

    pipe = tiny_sd15()
    ipdir = tmp_path / "ipadapter"
    ipdir.mkdir()
    write_ip_adapter(ipdir / "ip-adapter_sd15.safetensors", pipe.unet)
    write_faceid(ipdir / "ip-adapter-faceid_sd15.safetensors", pipe.unet)
    write_image_encoder(ipdir / "image_encoder")
    files = find_adapters(ModelRegistry(tmp_path), Arch.SD15)
    assert files == AdapterFiles(ip_adapter=ipdir / "ip-adapter_sd15.safetensors", image_encoder=ipdir / "image_encoder",
                                 faceid=ipdir / "ip-adapter-faceid_sd15.safetensors")


def test_identity_strength_raises_identity_scales_capped_and_documented():
    from engine.conditioning import identity_scales
    from engine.conditioning.mapping import IDENTITY_SCALE_CAP

    for cw in (0, 50, 100):
        base = cw_to_scales(cw)
        assert identity_scales(cw, 1.0) == base
        strong = identity_scales(cw, 1.25)
        assert strong[2] == base[2]  # appearance untouched
        for i in (0, 1):
            assert strong[i] >= base[i] and strong[i] <= max(base[i], IDENTITY_SCALE_CAP)
        assert identity_scales(cw, 0.5)[0] < base[0]
    assert identity_scales(0, 1.25)[0] > cw_to_scales(0)[0]
    rows = re.findall(r"^\| ×([\d.]+) \| ([\d.]+) / ([\d.]+) \| ([\d.]+) / ([\d.]+) \| ([\d.]+) / ([\d.]+) \|$",
                      MAPPING_MD.read_text(), re.M)
    assert len(rows) == 3
    for strength, *vals in rows:
        got = [v for cw in (0, 50, 100) for v in identity_scales(cw, float(strength))[:2]]
        assert got == pytest.approx([float(v) for v in vals], abs=1e-3)
    with pytest.raises(EngineError):
        CharacterCondition("c", np.ones(512), identity_strength=3.0)
