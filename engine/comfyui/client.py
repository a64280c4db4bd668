"""A client for one ComfyUI server: HTTP API and the `/ws` websocket, with an optional Bearer token.

Everything the server sends is untrusted: JSON is checked before use, file names are only sent back as
query parameters (never joined to a path), images have byte and pixel limits. Errors are one line and
never carry the token (URLs are shown without credentials).
"""

from __future__ import annotations

import io
import json
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional

from PIL import Image

from engine.jobs import EngineError, JobCancelled

CONNECT_TIMEOUT = 3.0  # probes (system_stats): an unreachable server is reported quickly
API_TIMEOUT = 10.0  # other small calls and the websocket handshake: a server loading a model answers slowly
READ_TIMEOUT = 30.0  # uploads, posting a graph, fetching images
MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_IMAGE_PIXELS = 8192 * 8192
MAX_JSON_BYTES = 64 * 1024 * 1024
POLL = 0.2

# on_step(done, total, preview)
StepCallback = Callable[[int, int, Optional[Image.Image]], None]


class ServerDown(EngineError):
    """The server could not be reached, failed, or went away mid-job: try another one."""


class ServerRejected(EngineError):
    """The server refused the graph (validation error) or a job failed on it: not worth retrying elsewhere."""


def display_url(url: str) -> str:
    """`url` without user name, password, query or fragment (safe for messages and logs)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def normalise_url(url: str) -> str:
    """Check a server URL (http or https, with a host) and return it without a trailing slash."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EngineError(f"not a ComfyUI server URL: {display_url(url) or url[:80]!r} (use http://HOST:PORT)")
    if parts.username or parts.password:
        raise EngineError(f"put credentials in the token, not in the URL {display_url(url)}")
    return url.rstrip("/")


@dataclass(frozen=True)
class OutputImage:
    """An image the server says it produced (names are opaque strings, sent back only as parameters)."""

    filename: str
    subfolder: str
    type: str

    @staticmethod
    def parse(item: Any) -> "OutputImage":
        if not isinstance(item, dict):
            raise ServerRejected("the server sent a malformed image entry")
        values = [item.get(k, "") for k in ("filename", "subfolder", "type")]
        if not all(isinstance(v, str) and len(v) < 1024 for v in values) or not values[0]:
            raise ServerRejected("the server sent a malformed image entry")
        if values[2] not in ("output", "temp", "input"):
            raise ServerRejected(f"the server sent an image of unknown type {values[2][:20]!r}")
        return OutputImage(*values)


def decode_image(data: bytes, what: str = "image") -> Image.Image:
    """Decode untrusted image bytes with byte and pixel limits."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ServerRejected(f"the server sent an {what} larger than {MAX_IMAGE_BYTES // 2**20} MB")
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise ServerRejected(f"the server sent an {what} of {image.width}x{image.height} pixels (too large)")
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ServerRejected(f"the server sent an unreadable {what}: {' '.join(str(exc).split())[:120]}") from None
    return image


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


class ComfyClient:
    """One server. Thread-safe for independent calls; `run` opens a websocket of its own per job."""

    def __init__(self, url: str, token: str = "", connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT) -> None:
        self.url = normalise_url(url)
        self.name = display_url(self.url)
        self._token = token or ""
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    def __repr__(self) -> str:  # never shows the token
        return f"ComfyClient({self.name!r})"

    # -- HTTP ----------------------------------------------------------------------------------------

    def _headers(self, extra: Optional[dict] = None) -> dict:
        headers = {"User-Agent": "Panelsmith", **(extra or {})}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _request(self, method: str, path: str, body: Optional[bytes] = None, content_type: str = "",
                 timeout: Optional[float] = None, limit: int = MAX_JSON_BYTES) -> bytes:
        headers = self._headers({"Content-Type": content_type} if content_type else None)
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        where = f"{self.name}{path.split('?')[0]}"
        try:
            with urllib.request.urlopen(req, timeout=timeout or max(self.connect_timeout, API_TIMEOUT)) as resp:
                data = resp.read(limit + 1)
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            if exc.code in (401, 403):
                raise ServerDown(f"ComfyUI server {self.name} refused access (HTTP {exc.code}): check the token") from None
            if 400 <= exc.code < 500:
                raise ServerRejected(f"ComfyUI server {self.name} rejected the request "
                                     f"(HTTP {exc.code}{': ' + detail if detail else ''})") from None
            raise ServerDown(f"ComfyUI server {self.name} failed (HTTP {exc.code} on {where})") from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerDown(f"ComfyUI server {self.name} is unreachable ({_short(reason)})") from None
        if len(data) > limit:
            raise ServerRejected(f"ComfyUI server {self.name} sent more than {limit // 2**20} MB for {where}")
        return data

    def get_json(self, path: str, timeout: Optional[float] = None) -> Any:
        return _json(self._request("GET", path, timeout=timeout), self.name)

    def post_json(self, path: str, payload: Any, timeout: Optional[float] = None) -> Any:
        data = self._request("POST", path, json.dumps(payload).encode(), "application/json", timeout)
        return _json(data, self.name) if data.strip() else {}

    def system_stats(self) -> dict:
        stats = self.get_json("/system_stats", timeout=self.connect_timeout)
        if not isinstance(stats, dict) or not isinstance(stats.get("system"), dict):
            raise ServerDown(f"{self.name} does not answer like a ComfyUI server (no system_stats)")
        return stats

    def object_info(self) -> dict:
        info = self.get_json("/object_info", timeout=max(self.read_timeout, 10))
        if not isinstance(info, dict):
            raise ServerDown(f"{self.name} sent a malformed object_info")
        return info

    def node_info(self, classes: list[str]) -> dict:
        """The `/object_info` entries of just these node classes (`GET /object_info/CLASS` each: a few hundred
        bytes, where the whole `/object_info` is half a megabyte the server builds while it paints); a class
        the server lacks is left out."""
        out = {}
        for name in classes:
            info = self.get_json(f"/object_info/{urllib.parse.quote(name, safe='')}")
            if not isinstance(info, dict):
                raise ServerDown(f"{self.name} sent a malformed object_info")
            if isinstance(info.get(name), dict):
                out[name] = info[name]
        return out

    def queue(self) -> dict:
        q = self.get_json("/queue")
        if not isinstance(q, dict):
            raise ServerDown(f"{self.name} sent a malformed queue")
        return q

    def queued_ids(self) -> tuple[set[str], set[str]]:
        """(running, pending) prompt ids."""
        q = self.queue()

        def ids(key: str) -> set[str]:
            items = q.get(key)
            return {i[1] for i in items if isinstance(i, list) and len(i) > 1 and isinstance(i[1], str)} \
                if isinstance(items, list) else set()

        return ids("queue_running"), ids("queue_pending")

    def upload_image(self, image: Image.Image, name: str) -> str:
        """Upload a PNG to the input folder; returns the name to put in a LoadImage node."""
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
            "Content-Type: image/png\r\n\r\n".encode() + png_bytes(image) + b"\r\n",
            f'--{boundary}\r\nContent-Disposition: form-data; name="overwrite"\r\n\r\ntrue\r\n'.encode(),
            f"--{boundary}--\r\n".encode(),
        ]
        data = self._request("POST", "/upload/image", b"".join(parts), f"multipart/form-data; boundary={boundary}",
                             timeout=self.read_timeout)
        reply = _json(data, self.name)
        if not isinstance(reply, dict) or not isinstance(reply.get("name"), str):
            raise ServerDown(f"{self.name} sent a malformed upload reply")
        sub = reply.get("subfolder") or ""
        if not isinstance(sub, str):
            raise ServerDown(f"{self.name} sent a malformed upload reply")
        return f"{sub}/{reply['name']}" if sub else reply["name"]

    def upload_model(self, folder: str, name: str, path) -> None:
        """Upload a model file with comfyui-tooling-nodes' route (`PUT /api/etn/upload/FOLDER/NAME`)."""
        query = f"/api/etn/upload/{urllib.parse.quote(folder)}/{urllib.parse.quote(name)}"
        with open(path, "rb") as f:
            self._request("PUT", query, f.read(), "application/octet-stream", timeout=max(self.read_timeout, 300))

    def fetch_image(self, out: OutputImage) -> Image.Image:
        query = urllib.parse.urlencode({"filename": out.filename, "subfolder": out.subfolder, "type": out.type})
        data = self._request("GET", f"/view?{query}", timeout=self.read_timeout, limit=MAX_IMAGE_BYTES)
        return decode_image(data)

    def interrupt(self, prompt_id: str) -> None:
        self.post_json("/interrupt", {"prompt_id": prompt_id})

    def delete(self, prompt_ids: list[str]) -> None:
        self.post_json("/queue", {"delete": list(prompt_ids)})

    def cancel(self, prompt_id: str) -> None:
        """Remove a waiting prompt from the queue and interrupt it if it runs."""
        self.delete([prompt_id])
        running, _pending = self.queued_ids()
        if prompt_id in running:
            self.interrupt(prompt_id)

    # -- one job ---------------------------------------------------------------------------------------

    def _websocket(self, client_id: str):
        import websocket

        parts = urllib.parse.urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        ws_url = urllib.parse.urlunsplit((scheme, parts.netloc, parts.path + "/ws", f"clientId={client_id}", ""))
        header = [f"Authorization: Bearer {self._token}"] if self._token else []
        try:
            ws = websocket.create_connection(ws_url, timeout=max(self.connect_timeout, API_TIMEOUT), header=header,
                                             enable_multithread=True)
        except Exception as exc:  # noqa: BLE001 - websocket-client raises many types
            raise ServerDown(f"ComfyUI server {self.name}: websocket failed ({_short(exc)})") from None
        ws.settimeout(POLL)
        return ws

    def run(self, graph: dict, prompt_id: Optional[str] = None, on_step: Optional[StepCallback] = None,
            cancel: Optional[threading.Event] = None, on_queued: Optional[Callable[[str], None]] = None,
            stall_timeout: float = 600.0) -> list[Image.Image]:
        """Post `graph`, follow it on the websocket, return its output images (in node order).

        Cancel: deletes the prompt from the queue or interrupts it, then raises JobCancelled.
        A server that goes away mid-job raises ServerDown; a rejected graph or a failing node ServerRejected.
        """
        import websocket

        cancel = cancel or threading.Event()
        prompt_id = prompt_id or uuid.uuid4().hex
        client_id = uuid.uuid4().hex
        ws = self._websocket(client_id)
        try:
            reply = self.post_json("/prompt", {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id},
                                   timeout=self.read_timeout)
            if not isinstance(reply, dict) or reply.get("prompt_id") != prompt_id:
                raise ServerDown(f"ComfyUI server {self.name} did not queue the job")
            if on_queued is not None:
                on_queued(prompt_id)
            outputs: list[OutputImage] = []
            state: dict = {}
            last_event = time.monotonic()
            last_check = time.monotonic()
            while True:
                if cancel.is_set():
                    self._cancel_quietly(prompt_id)
                    raise JobCancelled("cancelled")
                try:
                    frame = ws.recv()
                except websocket.WebSocketTimeoutException:
                    frame = None
                except Exception as exc:  # noqa: BLE001 - connection closed / reset
                    raise ServerDown(f"ComfyUI server {self.name} went away during the job ({_short(exc)})") from None
                now = time.monotonic()
                if frame is None:
                    if now - last_check > 5.0:  # quiet for a while: is the job still there?
                        last_check = now
                        if self._finished_in_history(prompt_id, outputs):
                            break
                    if now - last_event > stall_timeout:
                        raise ServerDown(f"ComfyUI server {self.name} stalled for {stall_timeout:.0f} s")
                    continue
                last_event = now
                if isinstance(frame, bytes):
                    self._preview(frame, on_step, state)
                    continue
                done = self._event(frame, prompt_id, outputs, on_step, state)
                if done:
                    break
            if not outputs:
                self._finished_in_history(prompt_id, outputs)
            if not outputs:
                raise ServerRejected(f"ComfyUI server {self.name} finished the job without an image")
            return [self.fetch_image(o) for o in outputs]
        finally:
            try:
                ws.close()
            except Exception:  # noqa: BLE001
                pass

    def _cancel_quietly(self, prompt_id: str) -> None:
        try:
            self.cancel(prompt_id)
        except EngineError:
            pass

    @staticmethod
    def _preview(frame: bytes, on_step: Optional[StepCallback], state: dict) -> None:
        if len(frame) < 8 or on_step is None:
            return
        event, _fmt = struct.unpack(">II", frame[:8])
        if event != 1:
            return
        try:
            state["preview"] = decode_image(frame[8:], "preview")
        except ServerRejected:
            return

    def _event(self, frame: str, prompt_id: str, outputs: list[OutputImage], on_step: Optional[StepCallback],
               state: dict) -> bool:
        try:
            message = json.loads(frame)
        except ValueError:
            return False
        if not isinstance(message, dict) or not isinstance(message.get("data"), dict):
            return False
        kind, data = message.get("type"), message["data"]
        if data.get("prompt_id") not in (None, prompt_id):
            return False
        if kind == "progress" and on_step is not None:
            value, total = data.get("value"), data.get("max")
            if isinstance(value, int) and isinstance(total, int) and 0 <= value <= total:
                preview, state["preview"] = state.get("preview"), None
                on_step(value, total, preview)
        elif kind == "executed" and data.get("prompt_id") == prompt_id:
            out = data.get("output")
            images = out.get("images") if isinstance(out, dict) else None
            if isinstance(images, list):
                outputs.extend(OutputImage.parse(i) for i in images[:64])
        elif kind == "execution_error" and data.get("prompt_id") == prompt_id:
            text = data.get("exception_message")
            node = data.get("node_type")
            raise ServerRejected(f"ComfyUI server {self.name}: the job failed"
                                 f"{' in ' + str(node)[:60] if isinstance(node, str) else ''}"
                                 f"{': ' + _short(text) if isinstance(text, str) else ''}")
        elif kind == "execution_interrupted" and data.get("prompt_id") == prompt_id:
            raise JobCancelled("cancelled on the server")
        elif kind == "execution_success" and data.get("prompt_id") == prompt_id:
            return True
        elif kind == "executing" and data.get("prompt_id") == prompt_id and data.get("node") is None:
            return True
        return False

    def _finished_in_history(self, prompt_id: str, outputs: list[OutputImage]) -> bool:
        """True when /history has the prompt finished (its images added to `outputs`)."""
        history = self.get_json(f"/history/{urllib.parse.quote(prompt_id)}")
        entry = history.get(prompt_id) if isinstance(history, dict) else None
        if not isinstance(entry, dict):
            return False
        status = entry.get("status")
        if isinstance(status, dict) and status.get("status_str") == "error":
            raise ServerRejected(f"ComfyUI server {self.name}: the job failed")
        found: list[OutputImage] = []
        node_outputs = entry.get("outputs")
        if isinstance(node_outputs, dict):
            for node in node_outputs.values():
                images = node.get("images") if isinstance(node, dict) else None
                if isinstance(images, list):
                    found.extend(OutputImage.parse(i) for i in images[:64])
        if not outputs:
            outputs.extend(found)
        return bool(found) or (isinstance(status, dict) and bool(status.get("completed")))


def _json(data: bytes, name: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise ServerDown(f"{name} sent malformed JSON (is it a ComfyUI server?)") from None


def _short(value: Any, limit: int = 160) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """A short summary of ComfyUI's error JSON (node errors), or ''."""
    try:
        body = json.loads(exc.read(256 * 1024))
    except (ValueError, OSError):
        return ""
    if not isinstance(body, dict):
        return ""
    parts = []
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        parts.append(error["message"])
    elif isinstance(error, str):  # the node packs' routes answer {"error": "..."}
        parts.append(error)
    nodes = body.get("node_errors")
    if isinstance(nodes, dict):
        for node in list(nodes.values())[:2]:
            errors = node.get("errors") if isinstance(node, dict) else None
            if isinstance(errors, list):
                for e in errors[:2]:
                    if isinstance(e, dict):
                        parts.append(" ".join(str(e.get(k, "")) for k in ("message", "details")).strip())
    return _short("; ".join(p for p in parts if p))
