"""How a pipeline worker stops (jobs/worker.py)."""

from __future__ import annotations

import os
import signal

import pytest
from redis import Redis
from rq import Queue
from rq.exceptions import StopRequested

from jobs.worker import DepotWorker


def _worker(redis_url: str) -> DepotWorker:
    connection = Redis.from_url(redis_url)
    return DepotWorker([Queue("depot-test-stop", connection=connection)],
                       connection=connection)


def test_a_signal_with_its_starter_alive_asks_for_a_warm_shutdown(redis_url: str) -> None:
    worker = _worker(redis_url)
    # Ctrl-C or a deploy: an idle worker's loop ends (a busy one would finish its job).
    with pytest.raises(StopRequested):
        worker.request_stop(signal.SIGTERM, None)


def test_a_signal_after_its_starter_died_is_a_cold_shutdown(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve killed: its Redis is gone too, so the job is stopped, not finished."""
    worker = _worker(redis_url)
    monkeypatch.setattr(os, "getppid", lambda: worker.started_by + 1)  # reparented
    killed = []
    worker._horse_pid = 4242  # stands for a horse running a job
    monkeypatch.setattr(worker, "kill_horse", lambda *a, **k: killed.append(True))
    monkeypatch.setattr(worker, "wait_for_horse", lambda: (None, None, None))
    with pytest.raises(SystemExit):
        worker.request_stop(signal.SIGTERM, None)
    assert killed and not worker._stop_requested
