"""How a pipeline worker stops (jobs/worker.py)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.exceptions import StopRequested

from app.config import REPO_ROOT
from jobs.worker import DepotWorker, ThreadScheduler


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


def _scheduled(worker: DepotWorker) -> ThreadScheduler:
    worker._start_scheduler()
    scheduler = worker.scheduler
    assert isinstance(scheduler, ThreadScheduler) and scheduler._process is not None
    return scheduler


def test_the_scheduler_is_a_thread_that_stops_and_releases_its_locks(redis_url: str) -> None:
    """RQ forked a process for its scheduler (15 MB of its own, 47 MB PSS, to ask Redis
    for due retries once a second); it is a thread of the worker here, and a worker's
    orderly stop still has it release its queues' locks."""
    worker = _worker(redis_url)
    lock = ThreadScheduler.get_locking_key("depot-test-stop")
    worker.connection.delete(lock)
    before = {p.pid for p in multiprocessing.active_children()}
    scheduler = _scheduled(worker)
    try:
        assert scheduler._process.is_alive()
        assert {p.pid for p in multiprocessing.active_children()} == before  # no fork
        assert worker.connection.get(lock) is not None
        worker.stop_scheduler()
        assert not scheduler._process.is_alive()
        assert worker.connection.get(lock) is None
    finally:
        scheduler.request_stop()
        scheduler._process.join(5)


_WORK = """
import sys
from redis import Redis
from rq import Queue
from jobs.worker import DepotWorker
connection = Redis.from_url(sys.argv[1])
worker = DepotWorker([Queue(sys.argv[2], connection=connection)], connection=connection)
worker.work(with_scheduler=True, logging_level="INFO")
"""


def test_a_job_due_later_is_queued_by_the_scheduler_thread_and_run(
    redis_url: str, tmp_path: Path
) -> None:
    """What the scheduler is for (a retry is a job due later): a worker started as
    `serve` starts it queues the job when due and runs it, and a SIGTERM stops the
    worker and its scheduler's thread, the locks released."""
    connection = Redis.from_url(redis_url)
    name = f"depot-test-due-{os.getpid()}"
    lock = ThreadScheduler.get_locking_key(name)
    connection.delete(lock)
    made = tmp_path / "made-by-the-job"
    worker = subprocess.Popen([sys.executable, "-c", _WORK, redis_url, name], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        Queue(name, connection=connection).enqueue_in(timedelta(seconds=1), os.makedirs,
                                                      str(made))
        deadline = time.monotonic() + 30
        while not made.exists() and time.monotonic() < deadline:
            assert worker.poll() is None
            time.sleep(0.1)
        assert made.is_dir(), "the job due in a second never ran"
        assert connection.get(lock) is not None  # the worker's scheduler holds its queue
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=30)
        assert worker.returncode == 0, out.decode()
        assert connection.get(lock) is None
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        connection.delete(lock)


def test_a_scheduler_whose_redis_is_gone_is_not_asked_to_release_its_locks(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve killed: the scheduler's lock release can only fail on a Redis that is gone
    (three Redis tracebacks in the log); the thread is left to end with the process and
    its locks to lapse."""
    worker = _worker(redis_url)
    lock = ThreadScheduler.get_locking_key("depot-test-stop")
    worker.connection.delete(lock)
    scheduler = _scheduled(worker)
    try:
        monkeypatch.setattr(os, "getppid", lambda: worker.started_by + 1)  # reparented
        began = time.monotonic()
        worker.stop_scheduler()
        assert time.monotonic() - began < 1, "the scheduler was asked and waited for"
        assert scheduler._process.is_alive() and not scheduler._stop_requested
        assert worker.connection.get(lock) is not None
    finally:
        scheduler.request_stop()
        scheduler._process.join(5)
        worker.connection.delete(lock)


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


def _runs_a_long_command(pid_file: str) -> None:
    """A job like a `go` download: the horse waits for a child process of its own."""
    child = subprocess.Popen(["sleep", "300"])
    Path(pid_file).write_text(f"{os.getpid()} {child.pid}")
    child.wait()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_a_killed_worker_takes_its_horse_and_the_command_it_runs_with_it(
    redis_url: str, tmp_path: Path
) -> None:
    """kill -9 of a worker (trial of 2026-12-07): its horse ran on, re-parented to init,
    and the job ran twice at once when the worker's successor took it up again."""
    connection = Redis.from_url(redis_url)
    name = f"depot-test-horse-{os.getpid()}"
    pid_file = tmp_path / "pids"
    worker = subprocess.Popen([sys.executable, "-c", _WORK, redis_url, name], cwd=REPO_ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        Queue(name, connection=connection).enqueue(_runs_a_long_command, str(pid_file),
                                                   job_timeout=600)
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        horse, command = (int(p) for p in pid_file.read_text().split())
        assert _alive(horse) and _alive(command)
        worker.kill()  # the worker alone, as `kill -9 PID` does
        worker.wait(10)
        deadline = time.monotonic() + 10
        while (_alive(horse) or _alive(command)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(horse), "the horse outlived its worker"
        assert not _alive(command), "the horse's command outlived it"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if pid_file.exists():  # nothing left behind, even when the test fails
            for pid in (int(p) for p in pid_file.read_text().split()):
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
        Queue(name, connection=connection).empty()
