"""Built-in recognizer (CenterFace + dlib) calibrated on real public-domain photos."""
import itertools
import json

import numpy as np
import pytest

import engine.faces as F
from engine.faces.calibrate import DEFAULT_MOSAIC, grace_hopper_path, sample_identities, variants


@pytest.fixture(scope="module")
def backend():
    return F.builtin_backend()


@pytest.fixture(scope="module")
def identities():
    ids = sample_identities(DEFAULT_MOSAIC)
    assert {"astronaut", "cameraman"} <= set(ids) and sum(k.startswith("pd_") for k in ids) == 31
    return ids


@pytest.fixture(scope="module")
def refs(backend, identities):
    out = {}
    for name, img in identities.items():
        faces = backend.detect(img)
        assert faces, f"no face detected in {name}"
        out[name] = (faces[0], backend.embed(img, faces[0]))
    return out


def test_builtin_detects_astronaut_with_ordered_keypoints(backend):
    import skimage.data

    faces = F.analyze(skimage.data.astronaut())
    assert len(faces) == 1
    f = faces[0]
    x0, y0, x1, y1 = f.bbox
    assert 150 < x0 < 200 and 240 < x1 < 300 and 30 < y0 < 90 and 150 < y1 < 200
    le, re, nose, lm, rm = f.kps
    assert le[0] < nose[0] < re[0] and lm[0] < rm[0]  # image-left before image-right
    assert max(le[1], re[1]) < nose[1] < min(lm[1], rm[1])  # eyes above nose above mouth
    assert f.embedding.shape == (128,) and f.backend == backend.name


@pytest.mark.parametrize("name", ["astronaut", "cameraman", "grace_hopper", "pd_00", "pd_17", "pd_30"])
def test_same_person_variants_score_above_threshold(backend, identities, refs, name):
    if name not in identities:
        pytest.skip("matplotlib (grace_hopper sample) not installed")
    face, ref = refs[name]
    for vname, vimg in variants(identities[name], face.bbox).items():
        faces = backend.detect(vimg)
        assert faces, f"{name}/{vname}: face lost"
        s = F.identity_score([ref], backend.embed(vimg, faces[0]))
        assert s >= F.IDENTITY_THRESHOLD + 0.1, f"{name}/{vname}: {s:.3f}"


def test_different_people_score_below_threshold(refs):
    scores = {(a, b): F.identity_score([refs[a][1]], refs[b][1]) for a, b in itertools.combinations(refs, 2)}
    assert len(scores) >= 528
    # photos of different provenance: every pair is below the threshold
    mixed = [s for (a, b), s in scores.items() if not (a.startswith("pd_") and b.startswith("pd_"))]
    assert max(mixed) < F.IDENTITY_THRESHOLD
    # the 1927 Solvay attendees (same era, B&W, ~90 px faces) are the hard case: >= 90 % below
    allv = np.array(list(scores.values()))
    assert np.mean(allv < F.IDENTITY_THRESHOLD) >= 0.9
    assert np.median(allv) < F.IDENTITY_THRESHOLD - 0.05


def test_compare_main_faces():
    import skimage.data

    astro = skimage.data.astronaut()
    assert F.compare(astro, astro[:, ::-1]) > F.IDENTITY_THRESHOLD
    if grace_hopper_path():
        rep = F.compare_report(astro, grace_hopper_path())
        assert rep["score"] < F.IDENTITY_THRESHOLD and rep["matches"] is False
        json.dumps(rep)


def test_no_face_and_two_faces_reported(identities):
    blank = np.full((256, 256, 3), 200, np.uint8)
    d = F.faces_report(blank).to_dict()
    assert d["status"] == "no_face" and d["count"] == 0 and "No face" in d["message"]
    with pytest.raises(F.FaceSelectionError):
        F.compare(blank, identities["astronaut"])
    two = np.concatenate([identities["pd_03"], identities["pd_11"]], axis=1)
    rep = F.faces_report(two)
    d = rep.to_dict()
    assert d["status"] == "several_faces" and d["count"] == 2
    assert [f["index"] for f in d["faces"]] == [0, 1] and all(f["embedding_dim"] == 128 for f in d["faces"])
    json.dumps(d)
    # the caller picks by index; each index is its own person
    left = min(range(2), key=lambda i: rep.faces[i].bbox[0])
    e_left = F.identity_embedding(two, left)
    e_right = F.identity_embedding(two, 1 - left)
    assert F.identity_score([F.identity_embedding(identities["pd_03"])], e_left) > F.IDENTITY_THRESHOLD
    assert F.identity_score([F.identity_embedding(identities["pd_11"])], e_right) > F.IDENTITY_THRESHOLD
