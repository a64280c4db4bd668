"""ComfyUI benchmark: the same 8 jobs (tiny checkpoint) sent three ways.

  bare_s         - a bare script posts the 8 graphs straight to one server and waits for the images
  one_server_s   - Panelsmith's ComfyEngine runs the 8 requests on that server (pool of one)
  two_servers_s  - Panelsmith's ComfyEngine runs them on two servers
  overhead       - one_server_s / bare_s (goal <= 1.10)
  throughput     - one_server_s / two_servers_s (goal >= 1.6 with one torch thread per server)

Servers come from tests/comfyui_server.py (built once under .cache/comfyui/), one torch thread each.
Each phase uses its own seeds so that no phase reads another's cached results. With `--rounds N` the bare
and the one-server phases alternate N times and the best of each counts (a loaded machine drifts).
`client_cpu_s` is this process's CPU time during the best Panelsmith one-server phase (the client's own
cost). The last line is JSON.

    .venv/bin/python bench/remote.py [--jobs 8] [--size 128] [--steps 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import websocket  # noqa: E402

from engine.comfyui.backend import ComfyEngine  # noqa: E402
from engine.comfyui.graphs import Job, build  # noqa: E402
from engine.comfyui.pool import ServerPool  # noqa: E402
from engine.jobs import GenerationRequest  # noqa: E402
from tests import comfyui_server  # noqa: E402


def timed(run, *args) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of run(*args)."""
    cpu = time.process_time()
    wall = run(*args)
    return wall, time.process_time() - cpu


def bare(url: str, graphs: list[dict]) -> float:
    """Post every graph, wait for each prompt to finish on the websocket, fetch its image."""
    client_id = uuid.uuid4().hex
    started = time.perf_counter()
    ws = websocket.create_connection(url.replace("http", "ws") + f"/ws?clientId={client_id}")
    pending = {}
    for graph in graphs:
        body = json.dumps({"prompt": graph, "client_id": client_id}).encode()
        req = urllib.request.Request(url + "/prompt", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            pending[json.load(r)["prompt_id"]] = None
    outputs = {}
    while len(outputs) < len(pending):
        msg = ws.recv()
        if isinstance(msg, bytes):
            continue
        msg = json.loads(msg)
        if msg["type"] == "executed" and msg["data"]["prompt_id"] in pending:
            outputs[msg["data"]["prompt_id"]] = msg["data"]["output"]["images"][0]
    for image in outputs.values():
        query = urllib.parse.urlencode(image)
        with urllib.request.urlopen(f"{url}/view?{query}") as r:
            r.read()
    ws.close()
    return time.perf_counter() - started


def panelsmith(urls: list[str], requests: list[GenerationRequest]) -> float:
    pool = ServerPool(urls)
    engine = ComfyEngine(pool)
    started = time.perf_counter()
    threads = [threading.Thread(target=engine.run, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    print(f"  per server: {[s['done'] for s in pool.status()]}", file=sys.stderr)
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ckpt = comfyui_server.CHECKPOINT
    servers = comfyui_server.start_servers(2, Path(tempfile.mkdtemp(prefix="bench-comfyui-")), threads=1)
    try:
        urls = [s.url for s in servers]

        def requests(base: int) -> list[GenerationRequest]:
            return [GenerationRequest(model=ckpt, prompt="a lighthouse", seed=base + i, width=args.size,
                                      height=args.size, steps=args.steps, scheduler="euler", guidance=5.0)
                    for i in range(args.jobs)]

        def graphs(base: int) -> list[dict]:
            return [build(Job(ckpt, "a lighthouse", "", base + i, args.steps, 5.0, "euler", args.size, args.size))
                    for i in range(args.jobs)]

        # warm both servers: model loaded, first-call costs paid
        panelsmith(urls, requests(10_000)[:2])
        bares, ones = [], []
        for r in range(max(1, args.rounds)):
            bares.append(timed(bare, urls[0], graphs(20_000 + 1000 * r)))
            ones.append(timed(panelsmith, urls[:1], requests(30_000 + 1000 * r)))
        bare_s, one_s, client_cpu = min(b[0] for b in bares), min(o[0] for o in ones), min(ones)[1]
        two_s = panelsmith(urls, requests(40_000))
    finally:
        for s in servers:
            s.stop()
    figures = {"jobs": args.jobs, "size": args.size, "steps": args.steps, "bare_s": round(bare_s, 3),
               "one_server_s": round(one_s, 3), "two_servers_s": round(two_s, 3),
               "overhead": round(one_s / bare_s, 3), "throughput": round(one_s / two_s, 3),
               "client_cpu_s": round(client_cpu, 3), "rounds": args.rounds,
               "all_bare_s": [round(b[0], 3) for b in bares], "all_one_server_s": [round(o[0], 3) for o in ones]}
    print(f"bare {bare_s:.2f} s, Panelsmith one server {one_s:.2f} s (x{figures['overhead']}), "
          f"two servers {two_s:.2f} s (throughput x{figures['throughput']})")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
