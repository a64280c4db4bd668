"""ComfyUI servers as the engine: real ComfyUI 0.3.75 test servers on loopback (tests/comfyui_server.py).

The servers run the tiny checkpoint at 64 px with 2 steps. Tests that need no server come first.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app import edits, layout
from app.cli import main as cli
from app.document import Document
from app.images import decode_png
from app.project import Project
from app.project_io import load_project, save_project
from engine import imageops
from engine.comfyui import client as comfy_client
from engine.comfyui.backend import ComfyEngine
from engine.comfyui.client import ComfyClient, OutputImage, ServerRejected, decode_image, display_url
from engine.comfyui.graphs import Job, Reference, build, choices, validate
from engine.comfyui.pool import ServerPool
from engine.jobs import EngineError, GenerationRequest, JobCancelled, JobKind
from tests import comfyui_server

CKPT = comfyui_server.CHECKPOINT
TOKEN = "s3cret-token-for-tests"
FAST = ["--steps", "2", "--scheduler", "euler", "--resolution", "64", "--quiet"]


# -- without a server -------------------------------------------------------------------------------------

def test_graph_links_loras_and_inpaint_nodes():
    graph = build(Job(CKPT, "a cat", "", 1, 2, 5.0, "dpm++_karras", image="in.png", mask="m.png", denoise=0.9,
                      loras=[("a.safetensors", 0.7), ("b.safetensors", 1.0)]))
    assert graph["lora1"]["inputs"]["model"] == ["lora0", 0] and graph["sample"]["inputs"]["model"] == ["lora1", 0]
    assert graph["pos"]["inputs"]["clip"] == ["lora1", 1]
    assert graph["latent"]["class_type"] == "SetLatentNoiseMask" and graph["mask"]["inputs"]["image"] == "m.png"
    assert (graph["sample"]["inputs"]["sampler_name"], graph["sample"]["inputs"]["scheduler"]) == ("dpmpp_2m", "karras")
    assert graph["sample"]["inputs"]["denoise"] == 0.9
    txt = build(Job(CKPT, "a cat", "", 1, 2, 5.0, "euler", width=64, height=96))
    assert txt["latent"]["inputs"] == {"width": 64, "height": 96, "batch_size": 1}
    with pytest.raises(EngineError, match="no ComfyUI equivalent"):
        build(Job(CKPT, "a", "", 1, 2, 5.0, "unknown"))


def test_untrusted_server_data_is_checked():
    assert display_url("https://user:pw@host:8188/base/?token=x#f") == "https://host:8188/base"
    with pytest.raises(EngineError, match="credentials"):
        ComfyClient("http://user:pw@host:8188")
    assert "tok" not in repr(ComfyClient("http://host:1", token="tok"))
    with pytest.raises(ServerRejected, match="unknown type"):
        OutputImage.parse({"filename": "../../etc/passwd", "subfolder": "", "type": "anything"})
    with pytest.raises(ServerRejected, match="malformed"):
        OutputImage.parse({"filename": 5})
    with pytest.raises(ServerRejected, match="unreadable"):
        decode_image(b"not an image")
    old = comfy_client.MAX_IMAGE_PIXELS
    comfy_client.MAX_IMAGE_PIXELS = 100
    try:
        with pytest.raises(ServerRejected, match="too large"):
            decode_image(comfy_client.png_bytes(Image.new("RGB", (20, 20))))
    finally:
        comfy_client.MAX_IMAGE_PIXELS = old
    info = {"CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [["a.safetensors", 3, "b"]]}}},
            "LoraLoader": {"input": {"required": {"lora_name": "junk"}}}}
    assert choices(info, "CheckpointLoaderSimple", "ckpt_name") == ["a.safetensors", "b"]
    assert choices(info, "LoraLoader", "lora_name") == [] and choices(info, "Nope", "x") == []


def test_pool_prefers_idle_then_loaded_and_moves_jobs_off_a_down_server():
    from engine.comfyui.client import ServerDown

    pool = ServerPool(["http://127.0.0.1:1", "http://127.0.0.1:2"], retry_after=3600)
    first, second = pool.servers
    second.loaded = "m"
    never = threading.Event()
    order = [pool._acquire("m", never) for _ in range(4)]
    # idle first, then the one with the model loaded
    assert [s.name for s in order] == [second.name, first.name, second.name, first.name]
    stop = threading.Event()
    stop.set()
    with pytest.raises(JobCancelled):  # both full (one running + one waiting each)
        pool._acquire("m", stop)
    for state in order:
        pool._release(state, "m", ok=True)
    first.loaded = "other"
    seen = []

    def work(state):
        seen.append(state)
        if state is second:
            raise ServerDown("gone")
        return "image"

    assert pool.run(work, "m") == "image"
    assert [s.name for s in seen] == [second.name, first.name]  # moved, and run once where it worked
    assert not second.up and first.up and first.loaded == "m"
    with pytest.raises(EngineError, match="no ComfyUI server is reachable: gone"):
        pool.run(lambda state: (_ for _ in ()).throw(ServerDown("gone")), "m")


def test_node_entries_come_from_the_next_server_when_the_first_is_down():
    pool = ServerPool(["http://127.0.0.1:9", "http://127.0.0.1:2"], connect_timeout=1)
    dead, live = pool.servers
    live.client.node_info = lambda names: {n: {"input": {}} for n in names if n == "A"}
    assert pool.nodes(n for n in ("A", "B")) == {"A": {"input": {}}}  # asked once, answered by the live one
    assert not dead.up and live.nodes == {"A": {"input": {}}, "B": None}


DATA = Path(__file__).parent / "data"


def object_info_with_packs() -> dict:
    """Core nodes as the real test server declares them plus the packs' INPUT_TYPES (from their sources),
    with model lists filled as a server that has the files would fill them."""
    import json

    info = json.loads((DATA / "comfyui_object_info_core.json").read_text())
    info.update({k: v for k, v in json.loads((DATA / "comfyui_object_info_packs.json").read_text()).items()
                 if not k.startswith("_")})
    info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] = ["xl.safetensors"]
    info["ControlNetLoader"]["input"]["required"]["control_net_name"][0] = ["instantid-controlnet.safetensors"]
    return info  # LoadImage lists no files: uploads are newer than a server's list


def test_identity_graph_matches_the_packs_declared_inputs():
    info = object_info_with_packs()
    job = Job("xl.safetensors", "a hero", "", 1, 2, 5.0, "euler", image="face.png", mask="left.png",
              references=[Reference("style", ["style.png"], 0.6),
                          Reference("face", ["face.png", "face2.png"], 0.9, mask="left.png"),
                          Reference("instantid", ["face.png"], 0.8, mask="left.png")],
              instantid_file="ip-adapter.bin", instantid_controlnet="instantid-controlnet.safetensors")
    graph = build(job)
    assert validate(graph, info) == []
    # the model goes through both IPAdapters, then InstantID, whose conditioning reaches the sampler
    assert graph["ref1"]["inputs"]["model"] == ["ref1_loader", 0] and graph["ref1_loader"]["inputs"]["model"] == ["ref0", 0]
    sample = graph["sample"]["inputs"]
    assert sample["model"] == ["ref2", 0] and sample["positive"] == ["ref2", 1] and sample["negative"] == ["ref2", 2]
    assert graph["ref1"]["inputs"]["image"] == ["ref1_batch1", 0] and graph["ref2"]["inputs"]["mask"] == ["ref2_mask", 0]
    # the check catches what a server would reject
    broken = build(job)
    broken["ref0"]["inputs"]["weight_type"] = "stronger"
    broken["ref2"]["inputs"]["positive"] = ["ref2_img0", 0]
    del broken["ref1"]["inputs"]["embeds_scaling"]
    problems = validate(broken, info)
    assert any("ref0.weight_type" in p for p in problems) and any("link type IMAGE" in p for p in problems)
    assert any("missing input 'embeds_scaling'" in p for p in problems)
    del info["ApplyInstantID"]
    assert any("no node 'ApplyInstantID'" in p for p in validate(graph, info))


def test_references_go_to_the_packs_a_server_has():
    from engine.comfyui.backend import RemoteExtras
    from engine.conditioning.types import CharacterCondition, StyleCondition
    from engine.registry import Arch, ModelInfo, ModelKind

    face = Image.new("RGB", (32, 32), "tan")
    char = CharacterCondition("c1", np.ones(512, dtype=np.float32) / 512 ** 0.5, cw=50, reference_images=[face],
                              region=Image.new("L", (8, 8), 255))
    style = StyleCondition("s1", [Image.new("RGB", (32, 32), "navy")], sw=80)
    xl = ModelInfo("xl.safetensors", Path("xl.safetensors"), ModelKind.CHECKPOINT, Arch.SDXL)
    extras = RemoteExtras()
    ComfyEngine._plan_references([char, style], xl, object_info_with_packs(), extras)
    assert [(r.kind, r.weight) for r in extras.references] == [("instantid", 0.8), ("face", 0.5), ("style", 0.8)]
    assert extras.instantid == ("ip-adapter.bin", "instantid-controlnet.safetensors") and not extras.warnings
    bare = {k: v for k, v in object_info_with_packs().items() if not k.startswith(("IPAdapter", "ApplyInstantID"))}
    extras = RemoteExtras()
    ComfyEngine._plan_references([char, style], xl, bare, extras)
    assert extras.references == [] and extras.warnings == [
        "character identity and style not fully applied: the ComfyUI server lacks the node pack "
        "ComfyUI_IPAdapter_plus and ComfyUI_InstantID"]


def test_object_info_is_fetched_once_when_many_jobs_ask_at_once():
    pool = ServerPool(["http://127.0.0.1:1"])
    calls = []
    entered = threading.Barrier(8)

    def object_info():
        calls.append(1)
        time.sleep(0.05)
        return {"CheckpointLoaderSimple": {}}

    pool.servers[0].client.object_info = object_info
    threads = [threading.Thread(target=lambda: (entered.wait(), pool.object_info())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


# -- servers ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two servers; the second one also runs comfyui-tooling-nodes (the copy in tests/data)."""
    try:
        started = comfyui_server.start_servers(2, tmp_path_factory.mktemp("comfyui"),
                                               custom_nodes=(None, comfyui_server.tooling_nodes()))
    except (comfyui_server.BuildError, comfyui_server.PackMissing) as exc:
        pytest.fail(str(exc), pytrace=False)
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def project_path(tmp_path):
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "2-tier")
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "2-tier")
    for page in doc.project.pages:
        for panel in page.panels:
            edits.set_panel_fields(doc, panel.id, prompt="a lighthouse at night")
    path = tmp_path / "book.comic"
    save_project(doc.project, path)
    return path


def run(args, capsys):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def panels(path):
    return [p for page in load_project(path).pages for p in page.panels]


def image_of(path, panel):
    return np.asarray(decode_png(load_project(path).images[panel.image]).convert("RGB"))


def history_count(server) -> int:
    import json
    import urllib.request

    with urllib.request.urlopen(server.url + "/history", timeout=5) as r:
        return len(json.load(r))


def test_page_over_two_servers_with_token(servers, project_path, capsys, monkeypatch):
    before = [history_count(s) for s in servers]
    urls = ",".join(s.url for s in servers)
    code, out, err = run(["generate", project_path, "--all", "--comfyui", urls, "--comfyui-token", TOKEN,
                          "--model", CKPT, "--seed", "3", *FAST], capsys)
    assert code == 0, err
    done = panels(project_path)
    assert len(done) == 4 and all(len(p.variants) == 1 and p.image for p in done)
    assert all(history_count(s) > b for s, b in zip(servers, before)), out + err  # both servers got jobs
    for p in done:
        w, h = decode_png(load_project(project_path).images[p.image]).size
        assert w > h and abs(w * h - 64 * 64) / (64 * 64) < 0.35  # --resolution 64 at the panel's aspect
    assert TOKEN not in out + err and TOKEN.encode() not in project_path.read_bytes()
    # from the environment too, and an error line never shows it
    monkeypatch.setenv("PANELSMITH_COMFYUI_TOKEN", TOKEN)
    code, out, err = run(["generate", project_path, "--all", "--comfyui", "http://127.0.0.1:9", "--model", CKPT,
                          *FAST], capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and TOKEN not in out + err


def test_vary_and_pan_keep_pixels_beyond_the_band(servers, project_path, tmp_path, capsys):
    pid = panels(project_path)[0].id
    server = ["--comfyui", servers[0].url, "--model", CKPT]
    assert run(["generate", project_path, "--panel", pid, "--seed", "1", *server, *FAST], capsys)[0] == 0
    before = image_of(project_path, panels(project_path)[0])
    mask = Image.new("L", (100, 50), 0)
    mask.paste(255, (10, 10, 40, 40))
    mask.save(tmp_path / "mask.png")
    code, out, err = run(["vary", project_path, "--panel", pid, "--mask", tmp_path / "mask.png", "--prompt", "a boat",
                          "--feather", "4", *server, *FAST], capsys)
    assert code == 0, err
    p = panels(project_path)[0]
    after = image_of(project_path, p)
    assert p.current_variant().kind == "vary" and len(p.variants) == 2
    scaled = mask.resize((before.shape[1], before.shape[0]), Image.Resampling.BILINEAR).point(
        lambda v: 255 if v >= 128 else 0)
    inside = imageops.mask_to_bool(scaled, scaled.size)
    far = imageops.distance_outside(inside) > 4
    assert np.array_equal(after[far], before[far])
    assert not np.array_equal(after[inside], before[inside])

    code, _, err = run(["pan", project_path, "--panel", pid, "--direction", "left", "--amount", "0.5", *server,
                        *FAST], capsys)
    assert code == 0, err
    panned = image_of(project_path, panels(project_path)[0])
    h, w = after.shape[:2]
    assert panned.shape[0] == h and panned.shape[1] > w
    offset = panned.shape[1] - w
    assert np.array_equal(panned[:, offset + 8:], after[:, 8:])
    assert not np.array_equal(panned[:, :offset], np.zeros_like(panned[:, :offset]))


def test_unreachable_server_and_missing_model_are_one_line_errors(servers, project_path, capsys):
    original = project_path.read_bytes()
    code, out, err = run(["generate", project_path, "--all", "--comfyui", "http://127.0.0.1:9", "--model", CKPT,
                          *FAST], capsys)
    assert code == 2 and err.startswith("error: ") and "127.0.0.1:9" in err and "unreachable" in err
    assert err.count("\n") == 1 and len(err) < 300
    code, out, err = run(["generate", project_path, "--all", "--comfyui", servers[0].url, "--model",
                          "no-such-model.safetensors", *FAST], capsys)
    assert code == 2 and "no-such-model.safetensors" in err and err.count("\n") == 1 and len(err) < 300
    assert project_path.read_bytes() == original


def test_models_list_and_doctor(servers, capsys):
    import json

    code, out, err = run(["models", "list", "--comfyui", servers[0].url, "--json"], capsys)
    assert code == 0, err
    listed = json.loads(out)["models"]
    assert CKPT in listed["checkpoints"] and comfyui_server.LORA in listed["loras"]
    code, out, err = run(["doctor", "--comfyui", servers[0].url, "--json"], capsys)
    assert code == 0, err
    [report] = json.loads(out)["comfyui"]
    assert report["comfyui_version"] == "0.3.75" and report["devices"]
    assert report["node_packs"]["ComfyUI_IPAdapter_plus"] is False


def test_lora_by_file_name_a_missing_one_and_identity_without_the_packs(servers, tmp_path):
    from engine.conditioning.types import StyleCondition
    from engine.jobs import LoraConditioning

    engine = ComfyEngine(ServerPool([servers[0].url]))
    request = GenerationRequest(model=CKPT, prompt="x", seed=1, width=64, height=64, steps=2, scheduler="euler",
                                conditioning=[LoraConditioning(f"/local/cards/{comfyui_server.LORA}", 0.8)])
    result = engine.run(request)
    assert result.metadata["loras"] == [(comfyui_server.LORA, 0.8)] and result.images[0].size == (64, 64)
    local = tmp_path / "absent.safetensors"  # the file is here, the server has no upload route for it
    local.write_bytes(b"0" * 16)
    request.conditioning = [LoraConditioning(str(local))]
    with pytest.raises(EngineError, match="lacks the LoRA file 'absent.safetensors' and takes no uploads "
                                          r"\(no comfyui-tooling-nodes\)"):
        engine.run(request)
    # a style card without ComfyUI_IPAdapter_plus on the server: the job carries on, with a note naming the pack
    request.conditioning = [StyleCondition("s1", [Image.new("RGB", (32, 32), "navy")], sw=80)]
    result = engine.run(request)
    assert result.images[0].size == (64, 64)
    assert result.metadata["warnings"] == ["style references not fully applied: the ComfyUI server lacks the node "
                                           "pack ComfyUI_IPAdapter_plus"]


def test_jobs_read_only_the_nodes_they_use_once_per_server(servers, monkeypatch):
    """A job never has a painting server build its whole `/object_info` (half a megabyte, seconds while it
    paints): it reads the entries of the nodes it uses, once per server however many jobs start together."""
    whole, nodes = [], []
    full, node_info = ComfyClient.object_info, ComfyClient.node_info
    monkeypatch.setattr(ComfyClient, "object_info", lambda self: (whole.append(1), full(self))[1])
    monkeypatch.setattr(ComfyClient, "node_info", lambda self, names: (nodes.extend(names), node_info(self, names))[1])
    engine = ComfyEngine(ServerPool([servers[0].url]))
    sizes = []
    threads = [threading.Thread(target=lambda seed=seed: sizes.append(engine.run(GenerationRequest(
        model=CKPT, prompt="x", seed=seed, width=64, height=64, steps=2, scheduler="euler")).images[0].size))
        for seed in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sizes == [(64, 64)] * 3
    assert whole == [] and nodes == ["CheckpointLoaderSimple"]


def test_card_lora_goes_up_through_comfyui_tooling_nodes_once(servers, tmp_path, monkeypatch):
    """A LoRA the server lacks is uploaded with the real pack's route (`PUT /api/etn/upload/loras/NAME`), once;
    a file name the route would refuse is a clean error before anything is sent."""
    import shutil

    from engine.comfyui.graphs import node_packs
    from engine.jobs import LoraConditioning

    server = servers[1]
    engine = ComfyEngine(ServerPool([server.url]))
    assert node_packs(engine.pool.object_info())["comfyui-tooling-nodes"]
    name = "card-hero.safetensors"
    local = tmp_path / name
    shutil.copy(comfyui_server.MODELS / "loras" / comfyui_server.LORA, local)
    assert name not in choices(engine.pool.object_info(), "LoraLoader", "lora_name")
    sent = []
    upload = ComfyClient.upload_model
    monkeypatch.setattr(ComfyClient, "upload_model", lambda self, *a: (sent.append(a[1]), upload(self, *a)))
    request = GenerationRequest(model=CKPT, prompt="x", seed=1, width=64, height=64, steps=2, scheduler="euler",
                                conditioning=[LoraConditioning(str(local), 0.8)])
    result = engine.run(request)
    assert result.metadata["loras"] == [(name, 0.8)] and result.images[0].size == (64, 64)
    assert sent == [name] and (server.folder / "loras" / name).read_bytes() == local.read_bytes()
    assert name in choices(ComfyClient(server.url).object_info(), "LoraLoader", "lora_name")
    engine.run(request)  # the server has it now
    assert sent == [name]
    bad = tmp_path / "card hero!.safetensors"
    bad.write_bytes(local.read_bytes())
    request.conditioning = [LoraConditioning(str(bad))]
    with pytest.raises(EngineError, match=r"lacks the LoRA file 'card hero!.safetensors' and it cannot be uploaded "
                                          r"\(bad file name\)"):
        engine.run(request)
    assert sent == [name]


def test_window_engine_page_tests_a_server_and_generates_there(servers, qtbot, tmp_path, tmp_path_factory,
                                                              monkeypatch):
    """Preferences ▸ Engine as a person uses it: a dead server already listed, a live one typed, Test
    Connection, Add, another live one added, OK; then Generate Page runs its two panels at once, one on each
    live server, and the dead server shows in the note bar once."""
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QDialogButtonBox

    from app.generation.queue import JobState
    from tests.helpers_window import isolate_engine_settings, open_window
    from widgets.engine_settings import EngineSettingsPage

    isolate_engine_settings(tmp_path_factory, monkeypatch, tmp_path / "models")
    qs = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Panelsmith", "Panelsmith")
    dead = "http://127.0.0.1:9"
    qs.setValue("engine/comfyuiServers", [dead])
    qs.sync()
    doc = Document(Project())
    edits.add_page(doc, layout.PAGE_SIZES["A4"], "2-tier")
    for panel in doc.project.pages[0].panels:
        edits.set_panel_fields(doc, panel.id, prompt="a lighthouse")
    edits.set_project_attrs(doc, settings={"model": CKPT, "steps": 2, "scheduler": "euler",
                                                    "resolution": 64})
    doc.path = tmp_path / "book.comic"
    win = open_window(qtbot, doc)
    messages: list[str] = []
    win.generation.message.connect(messages.append)

    dialog = win.generation.preferences()
    page = dialog.findChild(EngineSettingsPage)
    assert page.server_urls() == (dead,) and page.local.isChecked() and not page.url.isEnabled()
    QTest.mouseClick(page.remote, Qt.MouseButton.LeftButton)
    QTest.keyClicks(page.url, servers[0].url)
    QTest.keyClicks(page.token, TOKEN)
    QTest.mouseClick(page.test, Qt.MouseButton.LeftButton)
    assert page.result.text().startswith("Testing")  # the window is not blocked meanwhile
    qtbot.waitUntil(lambda: "ComfyUI 0.3.75" in page.result.text(), timeout=30000)
    result = page.result.text()
    assert "device: cpu" in result and "ComfyUI_IPAdapter_plus: missing" in result and CKPT in result
    QTest.mouseClick(page.add, Qt.MouseButton.LeftButton)
    QTest.keyClicks(page.url, servers[1].url)
    QTest.keyClick(page.url, Qt.Key.Key_Return)
    assert page.server_urls() == (dead, servers[0].url, servers[1].url)
    QTest.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    assert win.generation.queue.settings.engine == "comfyui"
    assert TOKEN not in repr(win.generation.queue.settings)

    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    win.view.setFocus()
    QTest.keyClick(win.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    queue = win.generation.queue
    qtbot.waitUntil(lambda: len(queue.jobs) == 2 and all(j.finished for j in queue.jobs.values()), timeout=120000)
    jobs = list(queue.jobs.values())
    assert [j.state for j in jobs] == [JobState.DONE, JobState.DONE], [j.message for j in jobs]
    assert sorted(j.server for j in jobs) == sorted(s.url for s in servers)  # both live servers got a job
    row = win.jobs_dock.rows[jobs[0].id]
    assert row.server.text() == f"on {jobs[0].server}" and not row.server.isHidden()
    assert all(p.image for p in doc.project.pages[0].panels)
    down = [m for m in messages if dead in m and "down" in m]
    assert len(down) == 1 and win.note_bar.isVisible() and dead in win.note_bar.label.text()
    win.generation.shutdown()
    save_project(doc.project, doc.path)
    assert TOKEN.encode() not in doc.path.read_bytes()
    assert qs.value("engine/comfyuiToken") == TOKEN


def test_cancel_deletes_waiting_and_interrupts_running(servers):
    server = servers[1]
    engine = ComfyEngine(ServerPool([server.url]))
    cancel = threading.Event()
    errors: list[BaseException] = []

    def job(seed: int) -> None:
        request = GenerationRequest(model=CKPT, prompt="slow", seed=seed, width=512, height=512, steps=200,
                                    scheduler="euler")
        try:
            engine.run(request, None, cancel)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        q = server.queue()
        if q["queue_running"] and q["queue_pending"]:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the two jobs never reached the server's queue")
    cancel.set()
    for t in threads:
        t.join(30)
    assert len(errors) == 2 and all(isinstance(e, JobCancelled) for e in errors)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (server.queue()["queue_running"] or server.queue()["queue_pending"]):
        time.sleep(0.05)
    assert server.queue() == {"queue_running": [], "queue_pending": []}


def test_killed_server_mid_page_every_panel_gets_its_image_once(servers, project_path, capsys):
    """Last: it kills the second server."""
    victim = servers[1]
    before = history_count(victim)

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                q = victim.queue()
            except OSError:
                return
            if q["queue_running"] or q["queue_pending"] or history_count(victim) > before:
                victim.stop()
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    urls = f"{servers[0].url},{victim.url}"
    code, out, err = run(["generate", project_path, "--all", "--comfyui", urls, "--model", CKPT, "--seed", "7",
                          "--steps", "6", "--scheduler", "euler", "--resolution", "128", "--quiet"], capsys)
    killer.join()
    assert victim.proc.poll() is not None  # it was killed during the page
    assert code == 0, err
    done = panels(project_path)
    assert all(len(p.variants) == 1 and p.image for p in done)  # each panel got its image once
    assert "moves to another server" in err or "move to another server" in err
