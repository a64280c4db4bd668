"""insightface backend on tiny ONNX models with the real interfaces, loaded by insightface's router."""
import numpy as np
import pytest

import engine.faces as F
from engine.faces.insight import find_pack
from tests.faces_tiny_models import squares_image, write_inswapper, write_pack

pytest.importorskip("insightface")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    pack = write_pack(root)
    write_inswapper(root / "inswapper_128.onnx")
    return root, pack


def test_pack_routed_by_insightface(models):
    from insightface.model_zoo.arcface_onnx import ArcFaceONNX
    from insightface.model_zoo.scrfd import SCRFD

    root, pack = models
    be = F.insightface_backend(root, cpu_only=True)
    assert isinstance(be.det_model, SCRFD) and be.det_model.use_kps and be.det_model.fmc == 3
    assert isinstance(be.rec_model, ArcFaceONNX)
    assert be.name == "insightface:buffalo_l" and be.embedding_dim == 512
    assert be.providers == {"detection": ["CPUExecutionProvider"], "recognition": ["CPUExecutionProvider"]}
    assert not be.on_gpu
    assert find_pack(root) == pack and find_pack(pack) == pack


def test_two_faces_detected_with_keypoints_and_embeddings(models):
    root, _ = models
    img = squares_image([(5, 5), (14, 12)])
    rep = F.faces_report(img, models_dir=root, cpu_only=True)
    d = rep.to_dict()
    assert d["status"] == "several_faces" and d["count"] == 2 and "pick one" in d["message"]
    assert d["backend"] == "insightface:buffalo_l" and not d["notes"]
    boxes = sorted(tuple(f["bbox"]) for f in d["faces"])
    assert boxes == [(144.0, 144.0, 208.0, 208.0), (432.0, 368.0, 496.0, 432.0)]
    f = next(f for f in rep.faces if f.bbox[0] == 144.0)
    assert f.kps[0] == (170.0, 172.0) and f.kps[2] == (176.0, 178.0)
    for face in rep.faces:
        assert face.embedding.shape == (512,) and abs(np.linalg.norm(face.embedding) - 1) < 1e-5
        assert face.to_dict()["embedding_dim"] == 512
    # different content -> different embedding; the same content elsewhere -> the same embedding
    other = F.analyze(squares_image([(5, 5)], pattern_seed=3), models_dir=root, cpu_only=True)[0]
    moved = F.analyze(squares_image([(9, 3)]), models_dir=root, cpu_only=True)[0]
    assert float(other.embedding @ f.embedding) < 0.99
    assert float(moved.embedding @ f.embedding) > 0.999
    assert F.select_face(rep.faces, 1) is rep.faces[1]


def test_no_face_reported(models):
    root, _ = models
    d = F.faces_report(np.zeros((640, 640, 3), np.uint8), models_dir=root, cpu_only=True).to_dict()
    assert d["status"] == "no_face" and d["count"] == 0 and d["faces"] == []
    with pytest.raises(F.FaceSelectionError):
        F.select_face([])


def test_missing_pack_message(tmp_path):
    with pytest.raises(F.ModelPackMissing) as e:
        F.insightface_backend(tmp_path / "nothing")
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path / "nothing") in msg
    for name in ("antelopev2", "buffalo_l", "scrfd_10g_bnkps.onnx", "glintr100.onnx", "det_10g.onnx",
                 "w600k_r50.onnx", "non-commercial"):
        assert name in msg
    # no pack: analysis falls back to the built-in recognizer and says why
    assert F.pick_backend(tmp_path / "nothing").name.startswith("builtin")


def test_pack_layouts(tmp_path):
    nested = write_pack(tmp_path / "antelopev2", "antelopev2")  # the official zip's double folder
    assert find_pack(tmp_path) == nested
    lonely = tmp_path / "only_swapper"
    lonely.mkdir()
    write_inswapper(lonely / "inswapper_128.onnx")
    assert find_pack(lonely) is None


def test_swap_changes_only_pixels_near_the_face(models):
    import skimage.data

    root, _ = models
    img = skimage.data.astronaut()
    target = F.analyze(img)[0]  # real face, keypoints from the built-in detector
    src = np.random.default_rng(5).standard_normal(512).astype(np.float32)
    out = F.swap_face(img, target, src, root / "inswapper_128.onnx", cpu_only=True)
    assert out.shape == img.shape and out.dtype == np.uint8
    changed = np.abs(out.astype(int) - img.astype(int)).max(-1) > 0
    x0, y0, x1, y1 = target.bbox
    assert changed[int(y0) + 20:int(y1) - 20, int(x0) + 20:int(x1) - 20].mean() > 0.9
    # nothing changes farther than one face size from the box
    m = int(max(x1 - x0, y1 - y0))
    far = np.ones_like(changed)
    far[max(0, int(y0) - m):int(y1) + m, max(0, int(x0) - m):int(x1) + m] = False
    assert not changed[far].any()
    assert changed.mean() < 0.1
    # feathered paste-back: on a flat image the change is proportional to the mask,
    # full at the face centre and fading to zero across a soft band
    flat = np.full_like(img, 128)
    d = np.abs(F.swap_face(flat, target, src, root / "inswapper_128.onnx", cpu_only=True).astype(float) - 128).max(-1)
    r = d / d.max()
    nx, ny = (int(v) for v in target.kps[2])
    assert r[ny, nx] > 0.95
    band = (r > 0.05) & (r < 0.95)
    assert band.sum() > 0.1 * (r > 0.05).sum()
    other = F.swap_face(img, target, -src, root / "inswapper_128.onnx", cpu_only=True)
    assert not np.array_equal(out, other)
    with pytest.raises(ValueError, match="512"):
        F.swap_face(img, target, np.ones(128), root / "inswapper_128.onnx")
    with pytest.raises(F.FaceAnalysisError, match="not an inswapper"):
        F.swap_face(img, target, src, root / "buffalo_l" / "w600k_r50.onnx", cpu_only=True)


def test_faces_on_cpu_preference_comes_from_the_environment(models, monkeypatch):
    from engine.faces import insight
    from engine.faces.api import faces_on_cpu

    root, _ = models
    monkeypatch.setenv("PANELSMITH_FACES_ON_CPU", "1")
    assert faces_on_cpu()
    assert F.insightface_backend(root) is F.insightface_backend(root, cpu_only=True)
    assert insight.choose_providers(cpu_only=True) == ["CPUExecutionProvider"]
    monkeypatch.setenv("PANELSMITH_FACES_ON_CPU", "0")
    assert not faces_on_cpu()
    assert F.insightface_backend(root) is F.insightface_backend(root, cpu_only=False)
    assert F.insightface_backend(root) is not F.insightface_backend(root, cpu_only=True)
