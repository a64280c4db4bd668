"""The Qt worker: progress and results arrive in the GUI thread; cancel and stop are clean."""
import threading

import pytest
from PySide6.QtCore import QThread

from engine.api import Engine
from engine.device import DeviceOptions
from engine.jobs import GenerationRequest, JobFailure, JobProgress, JobResult
from app.workers import EngineWorker, live_threads
from tests.tiny_models import tiny_models_dir  # noqa: F401  (fixture)

FAST = dict(steps=4, scheduler="euler")


@pytest.fixture
def worker(tiny_models_dir, qtbot):
    worker = EngineWorker(Engine(tiny_models_dir, DeviceOptions(device="cpu")))
    worker.start()
    yield worker
    assert worker.stop()


def test_worker_emits_progress_and_result_in_gui_thread(worker, qtbot):
    progress, threads = [], []
    worker.progress.connect(lambda p: (progress.append(p), threads.append(QThread.currentThread())))
    request = GenerationRequest(model="tiny-sd", seed=1, variants=2, **FAST)
    with qtbot.waitSignal(worker.result, timeout=60000) as blocker:
        job_id = worker.submit(request)
    result = blocker.args[0]
    assert isinstance(result, JobResult) and result.job_id == job_id and len(result.images) == 2
    qtbot.waitUntil(lambda: len(progress) == 8, timeout=5000)
    assert all(isinstance(p, JobProgress) and p.job_id == job_id for p in progress)
    assert all(t is QThread.currentThread() for t in threads)  # delivered to the GUI thread
    assert worker.pending() == 0


def test_worker_cancel_running_and_queued_jobs(worker, qtbot):
    gate = threading.Event()
    cancelled, results = [], []
    worker.cancelled.connect(cancelled.append)
    worker.result.connect(results.append)

    def block_at_first_step(p):
        if p.step == 1:
            gate.set()

    worker.progress.connect(block_at_first_step)
    first = worker.submit(GenerationRequest(model="tiny-sd", seed=1, steps=200, scheduler="euler"))
    second = worker.submit(GenerationRequest(model="tiny-sd", seed=2, **FAST))
    qtbot.waitUntil(gate.is_set, timeout=30000)
    worker.cancel(first)
    worker.cancel_all()
    qtbot.waitUntil(lambda: len(cancelled) == 2, timeout=30000)
    assert set(cancelled) == {first, second} and results == []
    # the worker keeps working after cancellations
    with qtbot.waitSignal(worker.result, timeout=60000):
        worker.submit(GenerationRequest(model="tiny-sd", seed=3, **FAST))


def test_worker_reports_failures_as_one_line(worker, qtbot):
    with qtbot.waitSignal(worker.failed, timeout=30000) as blocker:
        worker.submit(GenerationRequest(model="missing-model", **FAST))
    failure = blocker.args[0]
    assert isinstance(failure, JobFailure) and "missing-model" in failure.message and "\n" not in failure.message


def test_stop_joins_the_thread(tiny_models_dir, qtbot):
    worker = EngineWorker(Engine(tiny_models_dir, DeviceOptions(device="cpu")))
    worker.start()
    thread = next(t for t in live_threads if t.isRunning())
    worker.submit(GenerationRequest(model="tiny-sd", seed=1, steps=500, scheduler="euler"))
    assert worker.stop(timeout_ms=30000)
    assert not thread.isRunning()


def test_the_engine_validates_once_and_an_invalid_request_fails_as_a_job(worker, qtbot, monkeypatch):
    calls = []
    validate = GenerationRequest.validate

    def counted(request):
        calls.append(request.job_id)
        return validate(request)

    monkeypatch.setattr(GenerationRequest, "validate", counted)
    with qtbot.waitSignal(worker.failed, timeout=30000) as blocker:
        job_id = worker.submit(GenerationRequest(model="tiny-sd", variants=0, **FAST))  # accepted: no check here
    failure = blocker.args[0]
    assert failure.job_id == job_id and "variants must be between 1 and 64" in failure.message
    assert calls == [job_id]  # checked once, at the engine's door
