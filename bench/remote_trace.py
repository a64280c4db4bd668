"""A timeline of ComfyUI jobs run through Panelsmith's backend (used by bench/remote.py).

Per job: queued (the request handed to the engine), took (a server taken from the pool), posted (`/prompt`
answered), started and ended on the server (from the server's `/history` timestamps), fetched (the image
downloaded and decoded), and which server. :func:`summary` turns that into the figures that say where the
time goes: each server's busy and idle time, the gaps between one job ending on a server and the next one
starting there, how long a server's work took per job, and the client's own share (posting, fetching).
The bare script fetches every image after the last job ends, so its `notice_s` is waiting, not latency.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Optional

from engine.comfyui.client import ComfyClient


@dataclass
class JobTimes:
    """Wall-clock times (time.time()) of one job."""

    server: str = ""
    prompt_id: str = ""
    queued: float = 0.0
    took: float = 0.0
    post: float = 0.0
    posted: float = 0.0
    started: float = 0.0  # on the server
    ended: float = 0.0  # on the server
    fetch: float = 0.0  # the client saw the job finish and asks for the image
    fetched: float = 0.0
    returned: float = 0.0


@dataclass
class Timeline:
    jobs: list[JobTimes] = field(default_factory=list)
    _by_thread: dict[int, JobTimes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def job(self) -> JobTimes:
        """A new job record for the calling thread."""
        times = JobTimes(queued=time.time())
        with self._lock:
            self.jobs.append(times)
            self._by_thread[threading.get_ident()] = times
        return times

    def current(self) -> Optional[JobTimes]:
        return self._by_thread.get(threading.get_ident())


@contextmanager
def tracing(timeline: Timeline) -> Iterator[Timeline]:
    """Record post and fetch times of every ComfyClient call made by job threads while active."""
    post_json, fetch_image = ComfyClient.post_json, ComfyClient.fetch_image

    def traced_post(self, path, payload, timeout=None):
        times = timeline.current()
        if times is None or path != "/prompt":
            return post_json(self, path, payload, timeout)
        times.server, times.prompt_id, times.post = self.url, payload.get("prompt_id", ""), time.time()
        try:
            return post_json(self, path, payload, timeout)
        finally:
            times.posted = time.time()

    def traced_fetch(self, out):
        times = timeline.current()
        if times is not None:
            times.fetch = time.time()
        try:
            return fetch_image(self, out)
        finally:
            if times is not None:
                times.fetched = time.time()

    ComfyClient.post_json, ComfyClient.fetch_image = traced_post, traced_fetch
    try:
        yield timeline
    finally:
        ComfyClient.post_json, ComfyClient.fetch_image = post_json, fetch_image


def posted(timeline: Timeline, server: str, prompt_id: str, post: float, posted_at: float) -> JobTimes:
    """Record a job posted by a client other than Panelsmith's (the bare script)."""
    times = JobTimes(server=server, prompt_id=prompt_id, queued=post, took=post, post=post, posted=posted_at)
    with timeline._lock:
        timeline.jobs.append(times)
    return times


def server_times(timeline: Timeline) -> None:
    """Fill in `started` and `ended` from each server's `/history/ID` (execution_start / _success)."""
    for times in timeline.jobs:
        if not times.prompt_id:
            continue
        url = f"{times.server}/history/{urllib.parse.quote(times.prompt_id)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            entry = json.load(r).get(times.prompt_id, {})
        for name, data in entry.get("status", {}).get("messages", []):
            if name == "execution_start":
                times.started = data["timestamp"] / 1000
            elif name in ("execution_success", "execution_error", "execution_interrupted"):
                times.ended = data["timestamp"] / 1000


def summary(timeline: Timeline, began: float) -> dict:
    """Where the phase's wall time went (seconds, rounded)."""
    jobs = [j for j in timeline.jobs if j.started and j.ended]
    end = max((j.returned for j in timeline.jobs), default=began)
    servers: dict[str, dict] = {}
    for name in sorted({j.server for j in jobs}):
        mine = sorted((j for j in jobs if j.server == name), key=lambda j: j.started)
        busy = sum(j.ended - j.started for j in mine)
        gaps = [b.started - a.ended for a, b in zip(mine, mine[1:])]
        # the part of each gap the client caused: the next job reached the server after the last one ended
        late = [max(0.0, min(b.posted, b.started) - a.ended) for a, b in zip(mine, mine[1:]) if b.posted]
        servers[name] = {"jobs": len(mine), "busy_s": round(busy, 3), "idle_s": round(end - began - busy, 3),
                         "late_post_s": round(sum(late), 3),
                         "first_start_s": round(mine[0].started - began, 3),
                         "last_end_s": round(mine[-1].ended - began, 3),
                         "per_job_s": round(busy / len(mine), 3),
                         "gaps_s": [round(g, 3) for g in gaps]}
    n = max(1, len(jobs))
    return {"wall_s": round(end - began, 3), "servers": servers,
            "post_s": round(sum(j.posted - j.post for j in jobs) / n, 4),  # per job: /prompt round trip
            "notice_s": round(sum(j.fetch - j.ended for j in jobs) / n, 4),  # server done -> client fetches
            "fetch_s": round(sum(j.fetched - j.fetch for j in jobs) / n, 4),  # /view + decode
            "tail_s": round(end - max(j.ended for j in jobs), 3) if jobs else 0.0}  # last server end -> all done


def lines(summary_: dict) -> list[str]:
    """A readable timeline summary."""
    out = [f"  wall {summary_['wall_s']} s; per job: post {summary_['post_s'] * 1000:.0f} ms, "
           f"notice {summary_['notice_s'] * 1000:.0f} ms, fetch+decode {summary_['fetch_s'] * 1000:.0f} ms; "
           f"tail {summary_['tail_s']} s"]
    for name, s in summary_["servers"].items():
        out.append(f"  {name}: {s['jobs']} jobs, busy {s['busy_s']} s ({s['per_job_s']} s/job), idle {s['idle_s']} s "
                   f"(first start {s['first_start_s']} s, last end {s['last_end_s']} s), gaps {s['gaps_s']} "
                   f"(posted late: {s['late_post_s']} s)")
    return out
