"""Keypoint image, embedding blend, score arithmetic, data types, light facade."""
import json
import subprocess
import sys

import numpy as np

from engine.jobs import EngineError
import pytest

from engine.faces import (IDENTITY_THRESHOLD, Face, IdentityScore, blend_embeddings, distance_to_score,
                          face_keypoints_image, identity_score, score_identity, select_face)
from engine.faces.conditioning import KPS_COLORS
from engine.faces.types import FaceSelectionError, make_face

KPS = [(100, 120), (160, 118), (130, 150), (105, 185), (158, 183)]


def test_keypoint_image_matches_instantid_drawing():
    img = face_keypoints_image(KPS, (256, 320))
    assert img.shape == (320, 256, 3) and img.dtype == np.uint8
    for (x, y), color in zip(KPS, KPS_COLORS):
        assert tuple(img[y, x]) == color  # points are full-intensity discs
    # limbs are drawn at 60 % of the colour of their first point, e.g. left eye -> nose
    mid = ((KPS[0][0] + KPS[2][0]) // 2, (KPS[0][1] + KPS[2][1]) // 2)
    assert tuple(img[mid[1], mid[0]]) == tuple(int(c * 0.6) for c in KPS_COLORS[0])
    assert img[0, 0].sum() == 0 and img[-1, -1].sum() == 0  # black background
    assert (img.sum(-1) > 0).mean() < 0.1


def test_blend_embeddings_weighted_normalized_mean():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(512), rng.standard_normal(512)
    na, nb = a / np.linalg.norm(a), b / np.linalg.norm(b)
    out = blend_embeddings([a, b], [2, 1])
    expect = (2 * na + nb) / np.linalg.norm(2 * na + nb)
    assert np.allclose(out, expect, atol=1e-6) and abs(np.linalg.norm(out) - 1) < 1e-5
    assert np.allclose(blend_embeddings([a]), na, atol=1e-6)
    assert np.allclose(blend_embeddings([a, b], [1, 0]), na, atol=1e-6)
    assert np.allclose(blend_embeddings([a, b]), blend_embeddings([b, a]), atol=1e-6)
    # a heavier weight pulls the blend towards that reference
    assert out @ na > blend_embeddings([a, b], [1, 2]) @ na
    with pytest.raises(EngineError, match="at least one reference face"):
        blend_embeddings([])
    with pytest.raises(EngineError, match="non-negative"):
        blend_embeddings([a, b], [1, -1])
    with pytest.raises(EngineError, match="cancel out"):
        blend_embeddings([a, -a])


def test_score_scale_and_weights():
    assert distance_to_score(0.0) == 1.0 and distance_to_score(1.7) == 0.0
    assert distance_to_score(0.3) == pytest.approx(0.7)
    ref = np.zeros(128, np.float32)
    near, far = ref.copy(), ref.copy()
    near[0], far[0] = 0.2, 0.8
    assert identity_score([ref], near) == pytest.approx(0.8)
    s = score_identity([ref, far], near, weights=[3, 1])
    assert s.distances == pytest.approx((0.2, 0.6)) and s.score == pytest.approx((3 * 0.8 + 0.4) / 4)
    assert s.matches == (s.score >= IDENTITY_THRESHOLD)
    assert IdentityScore(0.4, 0.5).matches is False
    json.dumps(s.to_dict())
    with pytest.raises(ValueError):
        identity_score([], near)


def test_face_dict_and_selection():
    small = make_face((0, 0, 10, 10), KPS, 0.9, backend="x")
    big = make_face((0, 0, 50, 40), KPS, 0.8, embedding=np.ones(4, np.float32), backend="x")
    d = big.to_dict(index=1)
    assert d["bbox"] == [0, 0, 50, 40] and len(d["kps"]) == 5 and d["embedding_dim"] == 4
    assert "embedding" not in d and len(big.to_dict(include_embedding=True)["embedding"]) == 4
    json.dumps(d)
    assert select_face([small, big]) is big and select_face([small, big], 0) is small
    with pytest.raises(FaceSelectionError, match="no face"):
        select_face([])
    with pytest.raises(FaceSelectionError, match="2 face"):
        select_face([small, big], 5)
    assert isinstance(big, Face)


def test_facade_does_not_import_heavy_libraries():
    code = ("import sys, engine.faces; "
            "print([m for m in ('onnxruntime','insightface','dlib','torch','cv2') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
