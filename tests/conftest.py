"""Shared test set-up: offscreen Qt, preferences and recovery files never the user's, and no test may
leave an engine worker thread running."""
from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def no_running_worker_threads():
    yield
    worker = sys.modules.get("app.workers")
    if worker is None:
        return
    running = [t for t in list(worker.live_threads) if t.isRunning()]
    for thread in running:
        thread.quit()
        thread.wait(10000)
    assert not running, f"test left {len(running)} engine worker thread(s) running: call worker.stop()"


@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory, monkeypatch):
    """Every test reads and writes preferences (window layout included) and recovery files in its own
    temporary folders, so what one test (or the user) saved never changes another's window."""
    from tests.helpers_window import isolate_settings

    isolate_settings(tmp_path_factory, monkeypatch)


@pytest.fixture(autouse=True)
def fresh_picture_shelves():
    """Page thumbnails and image previews are kept per process by content name: each test starts
    with none, so what an earlier test drew never stands in for what this one decodes."""
    from app import image_previews, page_thumbnails

    page_thumbnails.SHELF.clear()
    image_previews.SHELF.clear()
    yield
