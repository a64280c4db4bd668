"""Motion panels: AnimateDiff loops on tiny offline models, stored in the project, exported as
GIF/WebP/MP4 (loops and motion pages), refused when hostile."""

import io
import threading
import zipfile

import av
import numpy as np
import pytest
from PIL import Image

from app import edits, layout
from app.cli import main as cli
from app.document import Document
from app.generation.request import Overrides
from app.generation.run import prepare, run_panel_job
from app.images import decode_png, encode_png
from app.manifest import manifest_to_project
from app.project import Project
from app.project_io import ProjectFileError, load_project, save_project
from engine.api import Engine
from engine.device import DeviceOptions
from engine.jobs import JobCancelled, JobKind, ModelNotFoundError
from engine.motion import adapter_widths, find_motion_adapter
from engine.registry import ModelKind, ModelRegistry, classify_path
from tests.helpers_project import read_manifest, rewrite_manifest, write_comic
from tests.tiny_motion import WIDTHS, tiny_adapter, write_motion_models

FRAMES = 3


@pytest.fixture(scope="module")
def motion_models(tmp_path_factory):
    return write_motion_models(tmp_path_factory.mktemp("motion-models"))


def _project(path, with_image=True):
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "2-tier")
    for panel in doc.project.pages[0].panels:
        edits.set_panel_fields(doc, panel.id, prompt="waves on a beach")
    if with_image:
        first = doc.project.pages[0].panels[0].id
        edits.add_variants(doc, first, [(Image.new("RGB", (72, 40), (200, 60, 30)), 1)], kind="import", prompt="")
    save_project(doc.project, path)
    return path


@pytest.fixture(scope="module")
def animated(tmp_path_factory, motion_models):
    """A project whose first panel was animated once through the command line (with continuity)."""
    path = _project(tmp_path_factory.mktemp("animated") / "book.comic")
    pid = load_project(path).pages[0].panels[0].id
    code = cli.main(["animate", str(path), "--panel", pid, "--frames", str(FRAMES), "--fps", "6", "--steps", "2",
                     "--seed", "3", "--models", str(motion_models), "--model", "tiny-motion-sd", "--continuity",
                     "--device", "cpu", "--quiet"])
    assert code == 0
    return path, pid


def run(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_animate_stores_a_loop_that_reloads_equal(animated, tmp_path):
    path, pid = animated
    project = load_project(path)
    panel = project.find_panel(pid)[1]
    variant = panel.current_variant()
    assert variant.kind == "animate" and variant.seed == 3 and len(panel.variants) == 2
    motion = variant.motion
    assert len(motion.frames) == FRAMES and motion.fps == 6 and motion.still == 0
    assert variant.image == motion.frames[0] and variant.params["motion_adapter"] == "tiny-mm"
    sizes = {decode_png(project.images[k]).size for k in motion.frames}
    assert len(sizes) == 1
    assert read_manifest(path)["schema"] == 3
    save_project(project, tmp_path / "again.comic")
    again = load_project(tmp_path / "again.comic")
    assert again.pages == project.pages
    assert all(again.images[k] == project.images[k] for k in motion.frames)


def test_adding_a_loop_is_one_undo_step():
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "2-tier")
    pid = doc.project.pages[0].panels[0].id
    before = doc.undo_stack.count()
    frames = [Image.new("RGB", (16, 16), (i * 60, 0, 0)) for i in range(4)]
    vid = edits.add_loop(doc, pid, frames, seed=1, fps=8, prompt="x", still=2)
    panel = doc.project.find_panel(pid)[1]
    assert panel.current == vid and panel.motion.still == 2 and panel.image == panel.motion.frames[2]
    assert all(k in doc.project.images for k in panel.motion.frames)
    assert doc.undo_stack.count() == before + 1
    doc.undo_stack.undo()
    panel = doc.project.find_panel(pid)[1]
    assert panel.variants == [] and panel.current is None
    doc.undo_stack.redo()
    assert doc.project.find_panel(pid)[1].current == vid


def test_export_loop_gif_webp_mp4(animated, tmp_path, capsys):
    path, pid = animated
    project = load_project(path)
    size = decode_png(project.images[project.find_panel(pid)[1].image]).size
    for fmt in ("gif", "webp"):
        out = tmp_path / f"loop.{fmt}"
        code, _, err = run(["export", path, "--panel", pid, "--format", fmt, "--out", out], capsys)
        assert code == 0, err
        with Image.open(out) as image:
            assert image.format == fmt.upper() and image.n_frames == FRAMES and image.size == size
            image.seek(1)
            image.load()
            assert abs(image.info["duration"] - 1000 / 6) < 10  # 6 fps (GIF keeps 1/100 s)
    out = tmp_path / "loop.mp4"
    code, _, err = run(["export", path, "--panel", pid, "--format", "mp4", "--out", out], capsys)
    assert code == 0, err
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        decoded = list(container.decode(stream))
        assert len(decoded) == FRAMES and stream.average_rate == 6
        assert (decoded[0].width, decoded[0].height) == (size[0] - size[0] % 2, size[1] - size[1] % 2)
    assert not list(tmp_path.glob(".*.tmp"))


def test_print_export_keeps_the_still(animated, tmp_path, capsys):
    path, pid = animated
    project = load_project(path)
    out = tmp_path / "still.png"
    code, _, err = run(["export", path, "--panel", pid, "--out", out], capsys)
    assert code == 0, err
    assert out.read_bytes() == project.images[project.find_panel(pid)[1].motion.frames[0]]


def test_motion_page_webp_and_mp4(animated, tmp_path, capsys):
    path, _pid = animated
    page = load_project(path).pages[0]
    expected = (round(page.width_mm / 25.4 * 48), round(page.height_mm / 25.4 * 48))
    out = tmp_path / "page.webp"
    code, _, err = run(["export", path, "--format", "webp", "--dpi", "48", "--out", out], capsys)
    assert code == 0, err
    with Image.open(out) as image:
        assert image.n_frames == FRAMES and abs(image.size[0] - expected[0]) <= 1 and abs(image.size[1] - expected[1]) <= 1
        image.seek(0)
        first = np.asarray(image.convert("RGB")).astype(int)
        image.seek(1)
        second = np.asarray(image.convert("RGB")).astype(int)
    assert (first != second).any()  # the animated panel plays in place
    out = tmp_path / "page.mp4"
    code, _, err = run(["export", path, "--format", "mp4", "--dpi", "48", "--out", out], capsys)
    assert code == 0, err
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == FRAMES
    code, _, err = run(["export", path, "--format", "gif", "--out", tmp_path / "page.gif"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--panel" in err


def test_export_loop_of_a_still_panel_is_one_line(animated, tmp_path, capsys):
    path, _ = animated
    other = load_project(path).pages[0].panels[1].id
    code, _, err = run(["export", path, "--panel", other, "--format", "gif", "--out", tmp_path / "x.gif"], capsys)
    assert code == 2 and err.count("\n") == 1 and "no loop" in err
    assert not (tmp_path / "x.gif").exists()


def test_cancel_leaves_nothing(motion_models, tmp_path):
    path = _project(tmp_path / "c.comic", with_image=False)
    before = path.read_bytes()
    doc = Document(load_project(path), path)
    pid = doc.project.pages[0].panels[1].id
    engine = Engine(motion_models, DeviceOptions(device="cpu"))
    undo_steps = doc.undo_stack.count()
    cancel = threading.Event()
    steps = []

    def progress(p):
        steps.append(p.step)
        cancel.set()

    try:
        prepared = prepare(doc, pid, Overrides.of(JobKind.ANIMATE, {"model": "tiny-motion-sd", "steps": 3, "frames": 2,
                                                                     "seed": 1}, models_dir=motion_models,
                                                  registry=engine.registry))
        with pytest.raises(JobCancelled):
            run_panel_job(doc, pid, engine, prepared, progress=progress, cancel=cancel)
    finally:
        engine.close()
    assert steps == [1]  # stopped after the first step
    assert doc.project.find_panel(pid)[1].variants == [] and doc.undo_stack.count() == undo_steps
    assert path.read_bytes() == before


def test_missing_motion_adapter_is_one_line_naming_the_folder(tmp_path, motion_models, capsys):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(motion_models / "checkpoints", models / "checkpoints")
    path = _project(tmp_path / "m.comic")
    pid = load_project(path).pages[0].panels[0].id
    code, _, err = run(["animate", path, "--panel", pid, "--models", models, "--model", "tiny-motion-sd",
                        "--frames", "2", "--steps", "1", "--device", "cpu", "--quiet"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "motion adapter" in err and str(models / "motion_adapters") in err
    assert load_project(path).find_panel(pid)[1].motion is None


def test_adapter_for_another_model_is_refused(motion_models):
    registry = ModelRegistry(motion_models)
    assert find_motion_adapter(registry, WIDTHS, "tiny").name == "tiny-mm"
    with pytest.raises(ModelNotFoundError, match="no motion adapter fits sdxl-model .*an SDXL motion adapter"):
        find_motion_adapter(registry, (320, 640, 1280), "sdxl-model")


def test_safetensors_adapter_in_the_original_layout_loads_equal(tmp_path):
    import torch
    from safetensors.torch import save_file

    from engine.diffusion.motion import load_motion_adapter

    adapter = tiny_adapter(widths=(32, 64), groups=32, heads=8)  # the released adapters' groups and heads
    original = {}
    for key, tensor in adapter.state_dict().items():  # diffusers keys -> AnimateDiff's released layout
        if "pos_embed" in key:
            continue
        key = (key.replace(".attn1", ".attention_blocks.0").replace(".attn2", ".attention_blocks.1")
               .replace(".norm1", ".norms.0").replace(".norm2", ".norms.1").replace(".norm3", ".ff_norm")
               .replace("motion_modules.0.", "motion_modules.0.temporal_transformer.", 1)
               .replace("motion_modules.1.", "motion_modules.1.temporal_transformer.", 1))
        original[key] = tensor.contiguous()
    path = tmp_path / "motion_adapters" / "mm_tiny.safetensors"
    path.parent.mkdir()
    save_file(original, str(path))
    info = classify_path(path)
    assert info.kind is ModelKind.MOTION_ADAPTER and adapter_widths(info) == (32, 64)
    loaded = load_motion_adapter(info, torch.float32)
    ours = {k: v for k, v in adapter.state_dict().items() if "pos_embed" not in k}
    theirs = {k: v for k, v in loaded.state_dict().items() if "pos_embed" not in k}
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


def _frames_of(path):
    manifest = read_manifest(path)
    panel = manifest["pages"][0]["panels"][0]
    variant = next(v for v in panel["variants"] if v["id"] == panel["current"])
    return variant["motion"]["frames"]


def test_hostile_frame_entries_are_refused_with_one_line(animated, tmp_path, monkeypatch):
    path, _ = animated
    frames = _frames_of(path)
    with zipfile.ZipFile(path) as zf:
        images = {n[len("images/"):-4]: zf.read(n) for n in zf.namelist() if n.startswith("images/")}
    manifest = read_manifest(path)
    # a corrupt frame (not the still): refused naming its entry
    broken = dict(images, **{frames[1]: b"this is not a png at all" * 4})
    with pytest.raises(ProjectFileError) as caught:
        load_project(write_comic(tmp_path / "corrupt.comic", manifest, broken))
    assert f"images/{frames[1]}.png" in str(caught.value) and "corrupt" in str(caught.value)
    assert "\n" not in str(caught.value)
    # an oversized frame entry: over the per-entry limit
    noise = encode_png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 96, 3), np.uint8)))
    big = dict(images, **{frames[2]: noise})
    monkeypatch.setattr("app.project_io.MAX_ENTRY_BYTES", max(len(v) for v in images.values()) + 1)
    assert len(noise) > max(len(v) for v in images.values()) + 1
    with pytest.raises(ProjectFileError) as caught:
        load_project(write_comic(tmp_path / "big.comic", manifest, big))
    assert f"images/{frames[2]}.png" in str(caught.value) and "oversized" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("change, words", [
    (lambda m: m["frames"].extend(["ab" * 16] * 300), "over a limit: a loop has"),
    (lambda m: m.update(still=7), "still 7 is not one of"),
    (lambda m: m.update(fps=0), "fps 0 is out of range"),
    (lambda m: m["frames"].__setitem__(1, "cd" * 16), "refers to missing image"),
])
def test_hostile_loop_manifest_is_refused_with_one_line(animated, tmp_path, change, words):
    path, _ = animated

    def edit(manifest):
        panel = manifest["pages"][0]["panels"][0]
        change(next(v for v in panel["variants"] if v["id"] == panel["current"])["motion"])

    with pytest.raises(ProjectFileError, match=words) as caught:
        load_project(rewrite_manifest(path, tmp_path / "hostile.comic", edit))
    assert "\n" not in str(caught.value)


def test_schema_2_projects_migrate():
    project = manifest_to_project({"schema": 2, "pages": [], "characters": [], "styles": []}, {})
    assert project.pages == []


# --- identity on loops: the cards' IP-Adapter / FaceID embeds on every frame, as for stills -----------------

@pytest.fixture(scope="module")
def identity_motion_models(motion_models, tmp_path_factory):
    """The motion models plus IP-Adapter FaceID, a plain IP-Adapter with its image encoder, and a face pack."""
    import shutil

    from diffusers import UNet2DConditionModel

    from tests.faces_tiny_models import write_pack
    from tests.helpers_conditioning import write_faceid, write_image_encoder, write_ip_adapter

    root = tmp_path_factory.mktemp("motion-identity")
    for folder in ("checkpoints", "motion_adapters"):
        shutil.copytree(motion_models / folder, root / folder)
    unet = UNet2DConditionModel.from_pretrained(root / "checkpoints" / "tiny-motion-sd" / "unet")
    (root / "ipadapter").mkdir()
    write_faceid(root / "ipadapter" / "ip-adapter-faceid_sd15.safetensors", unet)
    write_ip_adapter(root / "ipadapter" / "ip-adapter_sd15.safetensors", unet)
    write_image_encoder(root / "ipadapter" / "image_encoder")
    write_pack(root / "insightface")
    return root


def _card_doc():
    from tests.faces_tiny_models import squares_image

    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "splash")
    pid = doc.project.pages[0].panels[0].id
    edits.set_panel_fields(doc, pid, prompt="a portrait by the sea")
    cards = [edits.add_card(doc, "character", name, [Image.fromarray(squares_image([cell], pattern_seed=seed))])
             for name, cell, seed in (("Mira", (5, 5), 2), ("Juno", (9, 3), 7))]
    return doc, pid, cards


def test_a_bound_card_conditions_the_loop_and_unbinding_gives_the_plain_loop(identity_motion_models):
    from engine.conditioning import CharacterCondition

    models = identity_motion_models
    engine = Engine(models, DeviceOptions(device="cpu"))
    doc, pid, (mira, juno) = _card_doc()

    def loop():
        prepared = prepare(doc, pid, Overrides.of(JobKind.ANIMATE, {"model": "tiny-motion-sd", "steps": 2, "frames": 2,
                                                                     "seed": 4, "device": "cpu"},
                                                  models_dir=models, registry=engine.registry))
        result = engine.run(prepared.request)
        conds = [c for c in prepared.request.conditioning if isinstance(c, CharacterCondition)]
        return conds, result.metadata["warnings"], np.stack([np.asarray(f) for f in result.images])

    try:
        conds, warnings, plain = loop()
        assert not conds and plain.shape[0] == 2
        edits.bind_card(doc, pid, mira, 100)  # FaceID on the face, the IP-Adapter on the full reference
        [cond], warnings, with_mira = loop()
        assert cond.card_id == mira and cond.wants_appearance and not warnings
        assert not np.array_equal(with_mira, plain)
        edits.unbind_card(doc, pid, mira)
        edits.bind_card(doc, pid, juno, 0)  # FaceID alone, another face
        [cond], warnings, with_juno = loop()
        assert cond.card_id == juno and not cond.wants_appearance and not warnings
        assert not np.array_equal(with_juno, plain) and not np.array_equal(with_juno, with_mira)
        edits.unbind_card(doc, pid, juno)
        conds, _, again = loop()
        assert not conds and np.array_equal(again, plain)  # the motion pipeline is back to its base, bit for bit
        assert engine.loads == 1
    finally:
        engine.close()


def test_faceid_lora_lands_on_the_same_layers_of_a_loop_as_of_a_still(identity_motion_models):
    """A motion UNet lists its temporal attention among the spatial layers: FaceID's LoRA (numbered by a
    still UNet's layers) must go to the spatial layers a still gets, with the same weights."""
    import torch
    from diffusers import StableDiffusionPipeline

    from engine.conditioning import AdapterFiles, CharacterCondition
    from engine.conditioning.apply import apply_conditioning, remove_conditioning
    from engine.diffusion.motion import load_motion_adapter, motion_pipeline
    from engine.registry import Arch

    models = identity_motion_models
    still = StableDiffusionPipeline.from_pretrained(models / "checkpoints" / "tiny-motion-sd", safety_checker=None)
    loaded = type("Loaded", (), {"base": still, "arch": Arch.SD15,
                                 "choice": type("Choice", (), {"device": "cpu", "dtype": torch.float32})()})()
    adapter = load_motion_adapter(classify_path(models / "motion_adapters" / "tiny-mm"), torch.float32)
    moving = motion_pipeline(loaded, adapter, continuity=False)
    files = AdapterFiles(faceid=models / "ipadapter" / "ip-adapter-faceid_sd15.safetensors")
    cond = CharacterCondition("c1", np.random.default_rng(0).normal(size=512), cw=0)

    def lora_weights(pipe):
        applied = apply_conditioning(pipe, [cond], width=64, height=64, guidance=5.0, adapters=files)
        try:
            return {name: param.detach().clone() for name, param in pipe.unet.named_parameters() if "lora_" in name}
        finally:
            remove_conditioning(applied)

    on_still, on_loop = lora_weights(still), lora_weights(moving)
    assert on_still and not any("motion_modules" in name for name in on_loop)
    assert on_still.keys() == on_loop.keys()
    assert all(torch.equal(on_still[name], on_loop[name]) for name in on_still)


def test_a_card_without_the_face_pack_gets_the_stills_note_on_a_loop(motion_models):
    doc, pid, (mira, _juno) = _card_doc()
    edits.bind_card(doc, pid, mira, 50)
    notes = {}
    for kind in (JobKind.GENERATE, JobKind.ANIMATE):
        prepared = prepare(doc, pid, Overrides.of(kind, {"model": "tiny-motion-sd"}, models_dir=motion_models))
        assert not any(type(c).__name__ == "CharacterCondition" for c in prepared.request.conditioning)
        notes[kind] = prepared.notes
    assert notes[JobKind.ANIMATE] == notes[JobKind.GENERATE]
    assert any("no face model pack" in n and "insightface" in n for n in notes[JobKind.ANIMATE])


# --- webtoon motion pages: a phone-like viewport scrolls the page while the loops play in place ---------------

def _webtoon(path):
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["webtoon"], "4-tier")
    top = doc.project.pages[0].panels[0].id
    rng = np.random.default_rng(8)
    frames = [Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)) for _ in range(3)]
    edits.add_loop(doc, top, frames, seed=1, fps=6, prompt="rain", still=0)
    edits.add_variants(doc, doc.project.pages[0].panels[3].id, [(Image.new("RGB", (40, 40), (20, 90, 200)), 1)],
                       kind="import", prompt="")
    save_project(doc.project, path)
    return path


def test_webtoon_motion_page_scrolls_top_to_bottom(tmp_path, capsys):
    import math

    from app.render import qimage_to_pil, render_page

    path = _webtoon(tmp_path / "strip.comic")
    project = load_project(path)
    still = np.asarray(qimage_to_pil(render_page(project, 0, 36)).convert("RGB"))
    width, height = still.shape[1], still.shape[0]
    assert (width, height) == (300, 1200)  # 800 x 3200 px at 96 dpi, here at 36
    view = round(width * 16 / 9)  # a phone held upright
    travel = height - view
    count = math.ceil(max(3 / 6, travel / (view / 3)) * 6)  # a third of the viewport a second, 6 fps
    out = tmp_path / "strip.webp"
    code, _, err = run(["export", path, "--format", "webp", "--dpi", "36", "--out", out], capsys)
    assert code == 0, err
    with Image.open(out) as image:
        assert image.size == (width, view) and image.n_frames == count
        image.seek(0)
        first = np.asarray(image.convert("RGB"))
        image.seek(1)
        second = np.asarray(image.convert("RGB"))
        image.seek(count - 1)
        last = np.asarray(image.convert("RGB"))
    assert np.array_equal(first, still[:view])  # the top, the loop on its still frame
    assert np.array_equal(last, still[height - view:])  # the bottom
    # one frame later: scrolled on evenly, and the loop plays in place (only its panel differs from the still)
    moved = round(travel / (count - 1))
    rows = np.nonzero((second != still[moved:moved + view]).any(axis=(1, 2)))[0]
    box = project.pages[0].panels[0].bbox
    assert rows.size and rows.min() >= box.y * 36 / 25.4 - moved - 1 and rows.max() <= (box.y + box.h) * 36 / 25.4 - moved + 1
    out = tmp_path / "strip.mp4"
    code, _, err = run(["export", path, "--format", "mp4", "--dpi", "36", "--out", out], capsys)
    assert code == 0, err
    with av.open(str(out)) as container:
        decoded = [frame.to_ndarray(format="rgb24").astype(int) for frame in container.decode(video=0)]
    even = view - view % 2
    assert len(decoded) == count and decoded[0].shape == (even, width, 3)
    top, bottom = still[:even].astype(int), still[height - view:height - view + even].astype(int)
    assert np.abs(decoded[0] - top).mean() < 0.5 * np.abs(decoded[0] - bottom).mean()
    assert np.abs(decoded[-1] - bottom).mean() < 0.5 * np.abs(decoded[-1] - top).mean()
