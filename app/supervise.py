"""What `flask --app app serve` becomes once it has checked the database and swept the
work folders of killed jobs: the supervisor of the embedded Redis, the web server and the
pipeline workers (app.lifecycle.Supervisor) until SIGTERM/SIGINT.

Why a module of its own, started by exec: supervising needs the settings and the
processes, not Depot's web and pipeline code; the Flask app `serve` had loaded held
about 80 MB for the whole life of `make run` (docs/bench.md, memory).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from app.config import REPO_ROOT, Settings
from app.cpu import BACKGROUND_NICENESS
from app.embedded_redis import AnsweringRedis, start_embedded_redis
from app.lifecycle import Child, Supervisor, dies_with, reap_group
from app.logs import configure_logging
from app.webserver import web_command

# The embedded Redis's name among the supervised processes.
REDIS = "embedded Redis"


def supervise(settings: Settings, worker_count: int) -> int:
    """Run and watch everything until asked to stop; the exit status (0: stopped)."""
    log = logging.getLogger("depot.serve")
    redis_proc = start_embedded_redis(settings)
    env = dict(os.environ)
    if settings.embedded_redis:
        env["REDIS_URL"] = settings.queue_url
    # glibc gives each thread that allocates an arena of its own (up to 8 a core), and
    # freed memory stays in them: 8 web threads a process grew it by tens of MB under
    # load. Two arenas hold it (an operator's own value is kept).
    env.setdefault("MALLOC_ARENA_MAX", "2")

    def web() -> subprocess.Popen:
        # A group of its own: if its master is killed, serve still reaches the
        # orphaned web server workers through it.
        return subprocess.Popen(web_command(settings), cwd=REPO_ROOT, env=env,
                                preexec_fn=dies_with(os.getpid(), own_session=True))

    def worker() -> subprocess.Popen:
        # A group of its own too: killed, it may leave a job's work-horse behind, which
        # the supervisor then ends (lifecycle.reap_group).
        # Below the web server (app/cpu.py): a client's hits and misses come before
        # the jobs behind them.
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"],
                                cwd=REPO_ROOT, env=env,
                                preexec_fn=dies_with(os.getpid(), own_session=True,
                                                     lower_by=BACKGROUND_NICENESS))

    restartable: dict[str, Callable[[], Child]] = {}
    if redis_proc is not None:
        first = [redis_proc]

        def redis() -> Child:
            # Its append-only file brings the queues back as they were.
            if first:
                return first.pop()
            return start_embedded_redis(settings, timeout=5) or AnsweringRedis(
                settings.queue_url)

        restartable[REDIS] = redis
    supervisor = Supervisor({"web server": web}, [worker] * worker_count,
                            log.warning, time.monotonic, reap=reap_group,
                            restartable=restartable)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = None
    try:
        while not stopping and status is None:
            time.sleep(0.5)
            status = supervisor.check()
    finally:
        web_proc = supervisor.essential["web server"]
        # Redis last: the workers finish their jobs' writes to it first.
        redis_now = supervisor.current(REDIS) if restartable else None
        for child in supervisor.children():
            if child is not redis_now and child.poll() is None:
                child.terminate()
        if web_proc.poll() is not None:
            try:  # its master is gone: its workers, if any are left
                os.killpg(web_proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for child in supervisor.children():
            if child is redis_now:
                continue
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis_now is not None and redis_now.poll() is None:
            redis_now.terminate()
            redis_now.wait(timeout=10)
    return status or 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.supervise",
                                     description="(run by `flask --app app serve`)")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    return supervise(settings, args.workers)


if __name__ == "__main__":
    sys.exit(main())
