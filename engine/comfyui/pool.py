"""Several ComfyUI servers as one: each job goes to a free server, failing servers are skipped.

A server takes at most `slots` jobs at once (one running and one waiting); an idle server is preferred,
then one that last loaded the job's checkpoint. A server that cannot be reached, fails, or goes away
mid-job is marked down and the job runs again elsewhere; the caller gets exactly one result. A down
server is tried again after `retry_after` seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, TypeVar

from engine.jobs import EngineError, JobCancelled

from .client import ComfyClient, ServerDown
from .graphs import model_lists

T = TypeVar("T")


@dataclass
class ServerState:
    """One server as the pool sees it."""

    client: ComfyClient
    up: bool = True
    down_since: float = 0.0
    reason: str = ""
    in_flight: int = 0
    loaded: str = ""  # the checkpoint of the last job sent there
    done: int = 0  # jobs finished there
    object_info: Optional[dict] = field(default=None, repr=False)
    nodes: dict = field(default_factory=dict, repr=False)  # node class -> its /object_info entry (None: absent)
    info_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one /object_info at a time

    @property
    def name(self) -> str:
        return self.client.name


class ServerPool:
    """Servers from a list of URLs, sharing one token.

    `on_event(kind, server_name, text)` reports "down" and "up" transitions (for a status bar).
    """

    def __init__(self, urls: list[str] | str, token: str = "", slots: int = 2, retry_after: float = 20.0,
                 connect_timeout: float = 3.0,
                 on_event: Optional[Callable[[str, str, str], None]] = None) -> None:
        if isinstance(urls, str):
            urls = [u for u in urls.split(",") if u.strip()]
        if not urls:
            raise EngineError("no ComfyUI server given: pass --comfyui URL[,URL...]")
        clients = [ComfyClient(u, token, connect_timeout=connect_timeout) for u in urls]
        self.servers = [ServerState(c) for c in clients]
        self.slots = max(1, slots)
        self.retry_after = retry_after
        self.on_event = on_event
        self._lock = threading.Condition()

    def __repr__(self) -> str:
        return f"ServerPool({[s.name for s in self.servers]!r})"

    # -- information -----------------------------------------------------------------------------------

    def object_info(self) -> dict:
        """`/object_info` of the first reachable server (cached per server)."""
        errors = []
        for state in self.servers:
            try:
                return self.server_info(state)
            except ServerDown as exc:
                self._mark_down(state, exc)
                errors.append(str(exc))
        raise ServerDown(errors[0] if len(errors) == 1 else "no ComfyUI server is reachable: " + "; ".join(errors))

    def server_info(self, state: ServerState) -> dict:
        """The server's `/object_info`, fetched once however many jobs ask at the same moment (it is a
        heavy call on the server, which would otherwise answer each of them while painting)."""
        info = state.object_info
        if info is not None:
            return info
        with state.info_lock:
            if state.object_info is None:
                state.object_info = state.client.object_info()
            return state.object_info

    def nodes(self, classes: Iterable[str], state: Optional[ServerState] = None) -> dict:
        """The `/object_info` entries of `classes` on `state`, else on the first reachable server (classes the
        server lacks are left out). Jobs ask only for the nodes they use: each is fetched once per server
        however many jobs ask at the same moment, and the whole `/object_info` is never on a job's path."""
        classes = list(dict.fromkeys(classes))  # read once: a down server's try must not use them up
        if state is not None:
            return self._nodes(state, classes)
        errors = []
        for server in sorted(self.servers, key=lambda s: not s.up):  # servers known to be down last
            try:
                return self._nodes(server, classes)
            except ServerDown as exc:
                self._mark_down(server, exc)
                errors.append(str(exc))
        raise ServerDown(errors[0] if len(errors) == 1 else "no ComfyUI server is reachable: " + "; ".join(errors))

    @staticmethod
    def _nodes(state: ServerState, wanted: list[str]) -> dict:
        with state.info_lock:
            missing = [c for c in wanted if c not in state.nodes]
            if missing:
                known = state.object_info if state.object_info is not None else state.client.node_info(missing)
                state.nodes.update({c: known.get(c) for c in missing})
            return {c: state.nodes[c] for c in wanted if state.nodes.get(c) is not None}

    def forget(self, state: ServerState, classes: Iterable[str]) -> None:
        """Drop what is known of these nodes on `state` (their lists changed, e.g. after an upload)."""
        with state.info_lock:
            state.object_info = None
            for c in classes:
                state.nodes.pop(c, None)

    def models(self) -> dict[str, list[str]]:
        return model_lists(self.object_info())

    # -- running jobs ----------------------------------------------------------------------------------

    def run(self, work: Callable[[ServerState], T], model: str = "",
            cancel: Optional[threading.Event] = None) -> T:
        """Run `work(server)` on a free server; on ServerDown mark it down and run it on another one."""
        cancel = cancel or threading.Event()
        while True:
            state = self._acquire(model, cancel)
            try:
                result = work(state)
            except ServerDown as exc:
                self._release(state, model, ok=False)
                self._mark_down(state, exc)
                continue
            except BaseException:
                self._release(state, model, ok=False)
                raise
            self._release(state, model, ok=True)
            return result

    def _acquire(self, model: str, cancel: threading.Event) -> ServerState:
        with self._lock:
            while True:
                if cancel.is_set():
                    raise JobCancelled("cancelled")
                self._revive_due()
                up = [s for s in self.servers if s.up]
                if not up:
                    reasons = "; ".join(s.reason for s in self.servers if s.reason)
                    if len(self.servers) == 1:
                        raise EngineError(reasons or f"ComfyUI server {self.servers[0].name} is down")
                    raise EngineError(f"no ComfyUI server is reachable: {reasons}")
                free = [s for s in up if s.in_flight < self.slots]
                if free:
                    best = min(free, key=lambda s: (s.in_flight, s.loaded != model, self.servers.index(s)))
                    best.in_flight += 1
                    return best
                self._lock.wait(0.2)

    def _release(self, state: ServerState, model: str, ok: bool) -> None:
        with self._lock:
            state.in_flight -= 1
            if ok:
                state.loaded = model or state.loaded
                state.done += 1
            self._lock.notify_all()

    def _mark_down(self, state: ServerState, exc: Exception) -> None:
        with self._lock:
            was_up = state.up
            state.up, state.down_since, state.reason = False, time.monotonic(), str(exc)
            state.object_info = None
            state.nodes = {}
            state.loaded = ""
            self._lock.notify_all()
        if was_up and self.on_event is not None:
            self.on_event("down", state.name, str(exc))

    def _revive_due(self) -> None:
        """Probe down servers whose retry time has come (called with the lock held)."""
        now = time.monotonic()
        for state in self.servers:
            if not state.up and now - state.down_since >= self.retry_after:
                state.down_since = now
                try:
                    state.client.system_stats()
                except EngineError as exc:
                    state.reason = str(exc)
                    continue
                state.up, state.reason = True, ""
                if self.on_event is not None:
                    self.on_event("up", state.name, "")

    def status(self) -> list[dict]:
        with self._lock:
            return [dict(server=s.name, up=s.up, in_flight=s.in_flight, done=s.done, loaded=s.loaded,
                         reason=s.reason) for s in self.servers]
