"""What `flask --app app serve` becomes once it has checked the database and swept the
work folders of killed jobs: the supervisor of the embedded Redis, the web server and the
pipeline workers (app.lifecycle.Supervisor) until SIGTERM/SIGINT.

Why a module of its own, started by exec: the Flask app `serve` had built, its database
connections and threads stay behind. This process imports the modules of the web server
and the workers once, builds nothing, and forks them (app/forking.py): they share those
pages rather than each importing its own copy (docs/bench.md, memory).
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from importlib.metadata import entry_points

from app import served
from app.config import REPO_ROOT, Settings
from app.cpu import BACKGROUND_NICENESS
from app.embedded_redis import AnsweringRedis, start_embedded_redis
from app.forking import fork_child
from app.lifecycle import Child, Supervisor, dies_with, reap_group
from app.logs import configure_logging
from app.webserver import web_command

# The embedded Redis's name among the supervised processes.
REDIS = "embedded Redis"
# The pipeline worker's command (jobs/cli.py, found as Flask finds it: an entry point).
WORKER_ARGS = ["--app", "app", "worker"]
M_ARENA_MAX = -8  # mallopt(3)


def limit_arenas(env: dict[str, str]) -> None:
    """glibc gives each thread that allocates an arena of its own (up to 8 a core), and
    freed memory stays in them: 8 web threads a process grew it by tens of MB under
    load. Two arenas hold it (an operator's own MALLOC_ARENA_MAX is kept): set here for
    this process and the children it forks, which glibc set up before the variable, and
    in ``env`` for the programs it starts."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    env["MALLOC_ARENA_MAX"] = "2"
    try:
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):  # not glibc
        pass


def preload(settings: Settings) -> None:
    """Import what the forked web server and workers run, before any of them starts:
    the app's modules (app.served.preload, which also takes them out of the garbage
    collector's reach) and the worker command's."""
    (command,) = entry_points(group="flask.commands", name="worker")
    command.load()
    served.preload(settings)


def run_web_server() -> int:
    """A forked child's life as granian's master (``python -m app.served``)."""
    return served.main()


def run_worker() -> int:
    """A forked child's life as `flask --app app worker`."""
    from flask.cli import cli

    cli.main(args=WORKER_ARGS, prog_name="flask")
    return 0


def supervise(settings: Settings, worker_count: int) -> int:
    """Run and watch everything until asked to stop; the exit status (0: stopped)."""
    with ExitStack() as stack:
        if settings.http_server == "granian":  # gunicorn.conf.py makes gunicorn's
            stack.enter_context(served.metrics_folder(settings))
        return _supervise(settings, worker_count)


def _supervise(settings: Settings, worker_count: int) -> int:
    log = logging.getLogger("depot.serve")
    redis_proc = start_embedded_redis(settings)
    # A title set with setproctitle (gunicorn's, RQ's, app/forking.py's) leaves the
    # environment readable in /proc/PID/environ.
    env: dict[str, str] = {"SPT_NOENV": "1"}
    if settings.embedded_redis:
        env["REDIS_URL"] = settings.queue_url
    limit_arenas(env)
    preload(settings)
    serve = os.getpid()

    def web() -> Child:
        # A group of its own: if its master is killed, serve still reaches the
        # orphaned web server workers through it.
        args = web_command(settings)
        if settings.http_server == "granian":
            return fork_child(run_web_server, args, dies_with(serve, own_session=True),
                              env, cwd=REPO_ROOT)
        return subprocess.Popen(args, cwd=REPO_ROOT, env=os.environ | env,
                                preexec_fn=dies_with(serve, own_session=True))

    def worker() -> Child:
        # A group of its own too: killed, it may leave a job's work-horse behind, which
        # the supervisor then ends (lifecycle.reap_group).
        # Below the web server (app/cpu.py): a client's hits and misses come before
        # the jobs behind them.
        return fork_child(run_worker, [sys.executable, "-m", "flask", *WORKER_ARGS],
                          dies_with(serve, own_session=True, lower_by=BACKGROUND_NICENESS),
                          env, cwd=REPO_ROOT)

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
