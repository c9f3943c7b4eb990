"""How a pipeline worker stops (jobs/worker.py)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from types import SimpleNamespace

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


def _deaf_to_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(60)


def test_a_scheduler_whose_redis_is_gone_is_killed_not_asked_to_release_its_locks(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve killed: the scheduler's lock release can only fail on a Redis that is gone
    (three Redis tracebacks in the log); it is killed instead. The stand-in ignores
    SIGTERM, so RQ's own stop would wait for it for a minute."""
    worker = _worker(redis_url)
    scheduler = multiprocessing.get_context("fork").Process(target=_deaf_to_sigterm)
    scheduler.start()
    try:
        worker.scheduler = SimpleNamespace(_process=scheduler)  # type: ignore[assignment]
        monkeypatch.setattr(os, "getppid", lambda: worker.started_by + 1)  # reparented
        stopping = threading.Thread(target=worker.stop_scheduler, daemon=True)
        stopping.start()
        stopping.join(10)
        assert not stopping.is_alive(), "the scheduler was asked, not killed"
        assert scheduler.exitcode == -signal.SIGKILL
    finally:
        if scheduler.is_alive():
            scheduler.kill()
        scheduler.join(5)


def test_a_worker_whose_redis_is_gone_does_not_record_its_death_there(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """serve killed mid-job: RQ's teardown recorded the worker's death in the Redis that
    went with serve, and the failed attempt left a chained Redis traceback in the log.
    The Redis it has then is a socket nobody listens on."""
    worker = _worker(redis_url)
    worker.connection = Redis(unix_socket_path=str(tmp_path / "gone.sock"), socket_timeout=1)
    monkeypatch.setattr(os, "getppid", lambda: worker.started_by + 1)  # reparented
    worker.teardown()  # nothing raised: no Redis asked
    monkeypatch.setattr(os, "getppid", lambda: worker.started_by)
    with pytest.raises(Exception, match="gone.sock|No such file|Connection"):
        worker.teardown()  # the usual teardown does ask it
