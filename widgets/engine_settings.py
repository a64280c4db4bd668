"""Preferences ▸ Engine: generate on this computer or on ComfyUI servers (URLs, token, Test Connection).

The choice, the URLs and the token are per user (QSettings ``engine/backend``, ``engine/comfyuiServers``,
``engine/comfyuiToken``); none of them goes into project files. Test Connection asks the server for its
version, devices, node packs and models in a background thread with short timeouts, so an unreachable
server never blocks the window.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QPushButton, QRadioButton, QVBoxLayout, QWidget)

from app.generation.engine_choice import COMFYUI, ENGINES, LOCAL

BACKEND_KEY = "engine/backend"
SERVERS_KEY = "engine/comfyuiServers"
TOKEN_KEY = "engine/comfyuiToken"
TEST_TIMEOUT = 4.0  # seconds per request of Test Connection


def load_engine_choice(settings: QSettings) -> dict[str, Any]:
    """``engine``, ``servers`` and ``token`` fields of :class:`app.generation.queue.EngineSettings`."""
    engine = str(settings.value(BACKEND_KEY, LOCAL) or LOCAL)
    servers = settings.value(SERVERS_KEY, []) or []
    if isinstance(servers, str):
        servers = [servers]
    return {"engine": engine if engine in ENGINES else LOCAL,
            "servers": tuple(str(s) for s in servers if str(s).strip()),
            "token": str(settings.value(TOKEN_KEY, "") or "")}


def save_engine_choice(settings: QSettings, engine: str, servers: tuple[str, ...], token: str) -> None:
    settings.setValue(BACKEND_KEY, engine)
    settings.setValue(SERVERS_KEY, list(servers))
    settings.setValue(TOKEN_KEY, token)


def test_connection(url: str, token: str, timeout: float = TEST_TIMEOUT) -> str:
    """One server's version, devices (VRAM), node packs and models as text, or one line saying what failed."""
    from engine.comfyui.client import ComfyClient
    from engine.comfyui.report import report_lines, server_report
    from engine.errors import one_line
    from engine.jobs import EngineError

    try:
        client = ComfyClient(url, token, connect_timeout=timeout, read_timeout=max(timeout, 10.0))
        report = server_report(client)
    except EngineError as exc:
        return f"Failed: {one_line(exc)}"
    lines = report_lines(report)
    for kind, names in report["models"].items():
        if names:
            shown = ", ".join(names[:6]) + (f", … ({len(names)})" if len(names) > 6 else "")
            lines.append(f"  {kind}: {shown}")
    return "\n".join(lines)


class _Relay(QObject):
    done = Signal(int, str)  # test number, result text


class EngineSettingsPage(QGroupBox):
    """The Engine page: this computer or a list of ComfyUI servers with a token and Test Connection."""

    tested = Signal(str)  # the result text of a finished Test Connection

    def __init__(self, engine: str = LOCAL, servers: tuple[str, ...] = (), token: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__("Engine", parent)
        self.setObjectName("EngineSettingsPage")
        self.local = QRadioButton("This computer")
        self.remote = QRadioButton("ComfyUI servers")
        group = QButtonGroup(self)
        group.addButton(self.local)
        group.addButton(self.remote)
        (self.remote if engine == COMFYUI else self.local).setChecked(True)
        self.servers = QListWidget()
        self.servers.setMaximumHeight(80)
        self.servers.addItems(list(servers))
        self.url = QLineEdit(placeholderText="http://host:8188", clearButtonEnabled=True)
        self.url.setObjectName("ComfyUrl")
        self.url.returnPressed.connect(self.add_server)
        self.add = QPushButton("Add")
        self.add.clicked.connect(self.add_server)
        self.remove = QPushButton("Remove")
        self.remove.clicked.connect(self.remove_server)
        self.token = QLineEdit(token, echoMode=QLineEdit.EchoMode.Password,
                               placeholderText="optional Bearer token (kept in your settings only)")
        self.test = QPushButton("Test Connection")
        self.test.setObjectName("TestConnection")
        self.test.clicked.connect(self.test_connection)
        self.result = QLabel(wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.setObjectName("TestResult")
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        url_row = QHBoxLayout()
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.add)
        url_row.addWidget(self.remove)
        remote = QWidget()
        form = QFormLayout(remote)
        form.setContentsMargins(18, 0, 0, 0)
        form.addRow("Servers", self.servers)
        form.addRow("", url_row)
        form.addRow("Token", self.token)
        form.addRow("", self.test)
        form.addRow("", self.result)
        column = QVBoxLayout(self)
        choice = QHBoxLayout()
        choice.addWidget(self.local)
        choice.addWidget(self.remote)
        choice.addStretch()
        column.addLayout(choice)
        column.addWidget(remote)
        self._remote_box = remote
        self.remote.toggled.connect(remote.setEnabled)
        remote.setEnabled(self.remote.isChecked())
        self._relay = _Relay()
        self._relay.done.connect(self._tested, Qt.ConnectionType.QueuedConnection)
        self._tests = 0

    # --- the list ---------------------------------------------------------------------------------

    def add_server(self) -> None:
        """Add the typed URL (checked: http or https with a host) to the list."""
        from engine.comfyui.client import normalise_url
        from engine.jobs import EngineError

        text = self.url.text().strip()
        if not text:
            return
        try:
            url = normalise_url(text)
        except EngineError as exc:
            self.result.setText(str(exc))
            return
        if url not in self.server_urls():
            self.servers.addItem(url)
        self.url.clear()

    def remove_server(self) -> None:
        for item in self.servers.selectedItems():
            self.servers.takeItem(self.servers.row(item))

    def server_urls(self) -> tuple[str, ...]:
        return tuple(self.servers.item(i).text() for i in range(self.servers.count()))

    def values(self) -> dict[str, Any]:
        """The page's ``engine``, ``servers`` (a typed URL not yet added counts) and ``token``."""
        servers = self.server_urls()
        typed = self.url.text().strip()
        if typed and typed not in servers:
            servers = (*servers, typed)
        return {"engine": COMFYUI if self.remote.isChecked() else LOCAL, "servers": servers,
                "token": self.token.text().strip()}

    # --- Test Connection --------------------------------------------------------------------------

    def test_connection(self) -> None:
        """Ask the typed URL (else the selected or first server) in a background thread."""
        selected = self.servers.selectedItems()
        url = self.url.text().strip() or (selected[0].text() if selected else "") or \
            (self.servers.item(0).text() if self.servers.count() else "")
        if not url:
            self.result.setText("Type a server URL first (for example http://127.0.0.1:8188)")
            return
        self._tests += 1
        number, token, relay = self._tests, self.token.text().strip(), self._relay
        self.result.setText(f"Testing {url}…")
        self.test.setEnabled(False)

        def run() -> None:
            text = test_connection(url, token)
            try:
                relay.done.emit(number, text)
            except RuntimeError:  # the dialog was closed meanwhile
                pass

        threading.Thread(target=run, name="panelsmith-test-connection", daemon=True).start()

    def _tested(self, number: int, text: str) -> None:
        if number != self._tests:
            return
        self.test.setEnabled(True)
        self.result.setText(text)
        self.tested.emit(text)
