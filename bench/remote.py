"""ComfyUI benchmark: the same 8 jobs (tiny checkpoint) sent four ways.

  bare_s         - a bare script posts the 8 graphs straight to one server and waits for the images
  bare_two_s     - the bare script posts them to two servers at once (half each, all queued at once)
  one_server_s   - Panelsmith's ComfyEngine runs the 8 requests on that server (pool of one)
  two_servers_s  - Panelsmith's ComfyEngine runs them on two servers
  overhead       - one_server_s / bare_s (goal <= 1.10)
  throughput     - one_server_s / two_servers_s (goal >= 1.6 with one torch thread per server)
  bare_throughput - bare_s / bare_two_s: the best two servers give on this machine (the headroom)

Servers come from tests/comfyui_server.py (built once under .cache/comfyui/), one torch thread each.
Each phase uses its own seeds so that no phase reads another's cached results. With `--rounds N` the four
phases run N times, every other round in reverse order, and the best of each counts (a loaded machine drifts).
`cpu_per_job_s` (servers' and client's CPU seconds per job) does not depend on the load. `client_cpu_s` is this
process's CPU time during the best Panelsmith one-server phase (the client's own cost). The Panelsmith
phases are traced (bench/remote_trace.py): per server, its jobs, busy and idle time, the gaps between
jobs, and per job the client's post and fetch times; `timeline` holds the best two-server phase's. The
load average is read before and after. The last line is JSON.

    .venv/bin/python bench/remote.py [--jobs 8] [--size 128] [--steps 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
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
from bench import remote_trace  # noqa: E402
from tests import comfyui_server  # noqa: E402


SERVERS: list = []  # the running test servers, for their CPU time


def server_cpu() -> float:
    """CPU seconds (user + system, all threads) the test server processes have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for server in SERVERS:
        fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def timed(run, *args):
    """(wall seconds, this process's CPU seconds, extra) of run(*args) -> (wall, extra); `extra` gains the
    servers' CPU seconds during the run (`server_cpu_s`)."""
    cpu, servers = time.process_time(), server_cpu()
    wall, extra = run(*args)
    extra["server_cpu_s"] = round(server_cpu() - servers, 3)
    extra["client_cpu_s"] = round(time.process_time() - cpu, 3)
    return wall, time.process_time() - cpu, extra


def bare(url: str, graphs: list[dict], timeline: remote_trace.Timeline | None = None) -> tuple[float, dict]:
    """Post every graph, wait for each prompt to finish on the websocket, fetch its image."""
    own = timeline is None
    timeline = timeline or remote_trace.Timeline()
    client_id = uuid.uuid4().hex
    began, started = time.time(), time.perf_counter()
    ws = websocket.create_connection(url.replace("http", "ws") + f"/ws?clientId={client_id}")
    pending = {}
    for graph in graphs:
        body = json.dumps({"prompt": graph, "client_id": client_id}).encode()
        req = urllib.request.Request(url + "/prompt", body, {"Content-Type": "application/json"})
        post = time.time()
        with urllib.request.urlopen(req) as r:
            prompt_id = json.load(r)["prompt_id"]
        pending[prompt_id] = remote_trace.posted(timeline, url, prompt_id, post, time.time())
    outputs = {}
    while len(outputs) < len(pending):
        msg = ws.recv()
        if isinstance(msg, bytes):
            continue
        msg = json.loads(msg)
        if msg["type"] == "executed" and msg["data"]["prompt_id"] in pending:
            outputs[msg["data"]["prompt_id"]] = msg["data"]["output"]["images"][0]
    for prompt_id, image in outputs.items():
        times = pending[prompt_id]
        times.fetch = time.time()
        query = urllib.parse.urlencode(image)
        with urllib.request.urlopen(f"{url}/view?{query}") as r:
            r.read()
        times.fetched = times.returned = time.time()
    ws.close()
    took = time.perf_counter() - started
    if not own:
        return took, {}
    return took, report(f"bare script on 1 server: {took:.2f} s", timeline, began)


def bare_spread(urls: list[str], graphs: list[dict]) -> tuple[float, dict]:
    """The bare script on several servers at once: graph i goes to server i % len(urls), all queued at once."""
    timeline = remote_trace.Timeline()
    began, took = run_all([threading.Thread(target=bare, args=(url, graphs[i::len(urls)], timeline))
                           for i, url in enumerate(urls)])
    return took, report(f"bare script on {len(urls)} servers: {took:.2f} s", timeline, began)


def run_all(threads: list[threading.Thread]) -> tuple[float, float]:
    """Start the threads at once and wait for all; (time.time() at the start, wall seconds)."""
    began, started = time.time(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return began, time.perf_counter() - started


def report(title: str, timeline: remote_trace.Timeline, began: float) -> dict:
    """The phase's timeline summary, printed to stderr."""
    remote_trace.server_times(timeline)
    summary = remote_trace.summary(timeline, began)
    print(f"  {title} (load {loadavg()})", file=sys.stderr)
    for line in remote_trace.lines(summary):
        print(line, file=sys.stderr)
    return summary


def panelsmith(urls: list[str], requests: list[GenerationRequest]) -> tuple[float, dict]:
    """Run the requests through ComfyEngine on a pool of `urls`, all at once; (wall, timeline summary)."""
    pool = ServerPool(urls)
    engine = ComfyEngine(pool)
    timeline = remote_trace.Timeline()

    def job(request: GenerationRequest) -> None:
        times = timeline.job()

        def progress(p) -> None:
            if p.server and not times.took:
                times.took = time.time()

        engine.run(request, progress)
        times.returned = time.time()

    with remote_trace.tracing(timeline):
        began, took = run_all([threading.Thread(target=job, args=(r,)) for r in requests])
    return took, report(f"Panelsmith on {len(urls)} server(s): {took:.2f} s", timeline, began)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ckpt = comfyui_server.CHECKPOINT
    load_before = loadavg()
    servers = comfyui_server.start_servers(2, Path(tempfile.mkdtemp(prefix="bench-comfyui-")), threads=1)
    SERVERS[:] = servers
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
        bares, bare_twos, ones, twos = [], [], [], []
        for r in range(max(1, args.rounds)):
            seed = 1000 * r
            phases = [lambda: bares.append(timed(bare, urls[0], graphs(20_000 + seed))),
                      lambda: bare_twos.append(timed(bare_spread, urls, graphs(50_000 + seed))),
                      lambda: ones.append(timed(panelsmith, urls[:1], requests(30_000 + seed))),
                      lambda: twos.append(timed(panelsmith, urls, requests(40_000 + seed)))]
            for phase in phases if r % 2 == 0 else phases[::-1]:  # every other round backwards: load drifts
                phase()
    finally:
        for s in servers:
            s.stop()
    best = {name: min(runs, key=lambda run: run[0]) for name, runs in
            (("bare", bares), ("bare_two", bare_twos), ("one", ones), ("two", twos))}
    bare_s, bare_two_s, one_s, two_s = (best[k][0] for k in ("bare", "bare_two", "one", "two"))
    figures = {"jobs": args.jobs, "size": args.size, "steps": args.steps, "bare_s": round(bare_s, 3),
               "bare_two_s": round(bare_two_s, 3), "one_server_s": round(one_s, 3),
               "two_servers_s": round(two_s, 3), "overhead": round(one_s / bare_s, 3),
               "throughput": round(one_s / two_s, 3), "bare_throughput": round(bare_s / bare_two_s, 3),
               "client_cpu_s": round(best["one"][1], 3), "rounds": args.rounds,
               "all_bare_s": [round(b[0], 3) for b in bares], "all_bare_two_s": [round(b[0], 3) for b in bare_twos],
               "all_one_server_s": [round(o[0], 3) for o in ones], "all_two_servers_s": [round(t[0], 3) for t in twos],
               "one_server_per_job_s": [s["per_job_s"] for s in best["one"][2]["servers"].values()],
               "two_servers_per_job_s": [s["per_job_s"] for s in best["two"][2]["servers"].values()],
               # CPU seconds per job, servers and this client together: load-independent; a server's CPU
               # seconds per wall second (cores it keeps busy) bound what two servers can gain on 2 cores
               "cpu_per_job_s": {k: round((best[k][2]["server_cpu_s"] + best[k][2]["client_cpu_s"]) / args.jobs, 3)
                                 for k in best},
               "server_cores_one": round(best["bare"][2]["server_cpu_s"] / best["bare"][0], 3),
               "bare_one_per_job_s": [s["per_job_s"] for s in best["bare"][2]["servers"].values()],
               "bare_two_per_job_s": [s["per_job_s"] for s in best["bare_two"][2]["servers"].values()],
               "timeline": best["two"][2], "bare_two_timeline": best["bare_two"][2],
               "loadavg_before": load_before, "loadavg_after": loadavg()}
    print(f"bare {bare_s:.2f} s, Panelsmith one server {one_s:.2f} s (x{figures['overhead']}), "
          f"two servers {two_s:.2f} s (throughput x{figures['throughput']}; bare two servers {bare_two_s:.2f} s: "
          f"x{figures['bare_throughput']} is the best this machine gives)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
