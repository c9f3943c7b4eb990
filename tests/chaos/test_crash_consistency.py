"""Crash consistency (issue 8, scenario 1): kill -9 workers, and once the web server,
while many module versions flow through the pipeline; nothing may be lost or corrupt.

A synthetic upstream (bench/_synthetic.py: modules that really build, with
dependencies) is served from a file:// tree. Depot runs under real gunicorn with
real `flask --app app worker` processes on PostgreSQL and Debian's Redis. Half the
versions are queued with `discover --from-file`, the other half posted one by one
to POST /api/v1/requests while the harness SIGKILLs a random worker (with its
work-horse and the `go` it runs) every few seconds and
restarts it, and once SIGKILLs gunicorn's master and workers and starts it again.
Afterwards
every version must be published, served by Depot's GOPROXY with the upstream's
exact bytes, and `flask --app app fsck` must find the database and store in
agreement. The figures (kills, retried jobs, lost versions, time) are printed;
docs/reliability.md has them for 1,000 versions.

Size: DEPOT_CHAOS_VERSIONS (default 40, so `make test` stays short: 80 took 3-4 minutes
of the suite's 20 on 2 cores) and DEPOT_CHAOS_KILLS (worker kills at most; default the
larger of 8 and a fifth of the versions).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil
import pytest
import requests
from sqlalchemy import func, select

from app.config import REPO_ROOT, Settings
from app.gomod.paths import escape_path, escape_version
from app.migrate import upgrade
from app.models import ModuleVersion
from app.resources import Services
from bench._synthetic import write_upstream
from tests.conftest import LiveServer, Workers, settings_env, start_server

VERSIONS = int(os.environ.get("DEPOT_CHAOS_VERSIONS", "40"))
WORKERS = 2  # one per core of the machine the suite is sized for
KILL_EVERY = (4.0, 9.0)  # seconds between two kills, drawn uniformly
# Worker kills at most: a job killed comes back after ~40 s, and with no cap the last
# few jobs of a small run were killed again and again (25 kills, 3 minutes of `make test`
# for 40 versions). The 1,000-version run of docs/reliability.md is in effect not capped.
MAX_KILLS = int(os.environ.get("DEPOT_CHAOS_KILLS", max(8, VERSIONS // 5)))
SEED = 8
# Generous: a killed job comes back after its lease (~15 s), maintenance (~15 s) and
# RQ's first retry interval (10 s); a job killed twice waits 60 s more.
DEADLINE = 420 + 1.2 * VERSIONS


@dataclass
class Chaos:
    """What the harness did and saw."""

    worker_kills: int = 0
    mid_job_kills: int = 0  # kills that caught a worker running a job
    web_kills: int = 0
    posted: int = 0
    post_failures: int = 0  # posts refused while the web server was down (then retried)
    started: float = field(default_factory=time.monotonic)
    log: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.log.append(f"{time.monotonic() - self.started:7.1f} s  {line}")


def states(services: Services) -> Counter[str]:
    with services.db.session() as session:
        rows = session.execute(
            select(ModuleVersion.state, func.count()).group_by(ModuleVersion.state)).all()
    return Counter({state.value: n for state, n in rows})


def kill_web(server: LiveServer) -> int:
    """kill -9 gunicorn's master and every worker it forked; how many processes died."""
    master = psutil.Process(server.process.pid)
    victims = [master, *master.children(recursive=True)]
    for proc in victims:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    server.process.wait(timeout=10)
    psutil.wait_procs(victims, timeout=10)
    return len(victims)


def flask(settings: Settings, *args: str, timeout: float = 600
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args],
                          cwd=REPO_ROOT, env=settings_env(settings), capture_output=True,
                          text=True, timeout=timeout)


def post_all(targets: list[tuple[str, str]], where: dict[str, str], chaos: Chaos,
             stop: threading.Event) -> None:
    """POST each wish to whichever web server is up; a refused one is sent again."""
    http = requests.Session()
    for module, version in targets:
        while not stop.is_set():
            try:
                resp = http.post(f"{where['url']}/api/v1/requests",
                                 json={"module": module, "version": version}, timeout=30)
                if resp.status_code == 202:
                    chaos.posted += 1
                    break
            except requests.RequestException:
                pass
            chaos.post_failures += 1
            time.sleep(0.3)


def served_differently(url: str, upstream: Path, targets: list[tuple[str, str]]) -> list[str]:
    """Every file of every version, through Depot's GOPROXY, against the upstream's.

    .mod and .zip byte for byte (what go.sum pins); .info by its Version and Time, as
    Depot keeps the toolchain's own encoding of it (the go command rewrites .info into
    its module cache; no checksum covers it).
    """
    http, differ = requests.Session(), []
    for module, version in targets:
        for kind in ("info", "mod", "zip"):
            name = f"{escape_path(module)}/@v/{escape_version(version)}.{kind}"
            resp = http.get(f"{url}/{name}", timeout=60)
            want = (upstream / name).read_bytes()
            if resp.status_code != 200:
                same = False
            elif kind == "info":
                fields = ("Version", "Time")
                got, upstream_info = json.loads(resp.content), json.loads(want)
                same = all(got.get(f) == upstream_info.get(f) for f in fields)
            else:
                same = resp.content == want
            if not same:
                differ.append(f"{name}: HTTP {resp.status_code}, {len(resp.content)} bytes")
    return differ


def lists_synced_after_all(settings: Settings, services: Services, deadline: float) -> None:
    """Wait for the workers' maintenance to have looked at every publication's @v/list
    (app.pipeline.lists): a kill between a publication and its list write is repaired
    there, not by the killed job."""
    from datetime import UTC, datetime

    from redis import Redis

    from app.pipeline.lists import CURSOR

    with services.db.session() as session:
        last = session.scalar(select(func.max(ModuleVersion.published_at)))
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    redis = Redis.from_url(settings.redis_url)
    while True:
        mark = redis.get(CURSOR)
        if mark and datetime.fromisoformat(mark.decode()) >= last:
            return
        assert time.monotonic() < deadline, f"@v/list sync stopped at {mark!r}, last {last}"
        time.sleep(1)


# The line a worker logs when it starts a job of any queue ("Worker …: process: process m v
# (id)"; "…: validate: Job OK (id)" says one ended).
JOB_START = re.compile(r"rq\.worker: Worker \S+: [\w-]+: (?!Job OK)\S+ .*\(\S+\)$")


def running_job(pool: Workers, proc: subprocess.Popen) -> bool:
    """True when the worker's last word was starting a job (nothing since said it ended)."""
    log = pool.log_dir / f"worker-{pool.procs.index(proc)}.log"
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if "rq.worker" in ln]
    return bool(lines) and bool(JOB_START.search(lines[-1]))


def pick_victim(pool: Workers, live: list[subprocess.Popen], rng: random.Random
                ) -> tuple[subprocess.Popen, bool]:
    """A random worker, as the issue asks (always taking the busy one would kill the
    last long validation of a run again and again until its retries ran out); True
    when it was in the middle of a job."""
    victim = rng.choice(live)
    return victim, running_job(pool, victim)


@pytest.mark.timeout(int(DEADLINE) + 600)  # the suite's 900 s is for ordinary tests
@pytest.mark.parametrize("db_backend", ["postgresql"])
@pytest.mark.parametrize("redis_url", ["redis-server"], indirect=True)
def test_kill_9_workers_and_web_while_ingesting_loses_nothing(
    settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    upstream = tmp_path / "upstream"
    written = write_upstream(upstream, VERSIONS, SEED)
    targets = [(v.path, v.version) for v in written.versions]
    settings = replace(settings, upstream=upstream.resolve().as_uri(), gosumdb="off",
                       redis_url=redis_url)
    services = Services.from_settings(settings)
    upgrade(services.db.engine)
    logs = tmp_path / "logs"
    (logs / "workers").mkdir(parents=True)
    server = start_server(settings, logs)
    where = {"url": server.url}
    pool = Workers(settings, logs / "workers", [])
    live = [pool.start() for _ in range(WORKERS)]
    chaos, stop = Chaos(), threading.Event()
    rng = random.Random(SEED)
    half = len(targets) // 2
    poster = threading.Thread(target=post_all, args=(targets[half:], where, chaos, stop),
                              daemon=True)
    try:
        seeds = tmp_path / "seeds.txt"
        seeds.write_text("".join(f"{m}@{v}\n" for m, v in targets[:half]))
        queued = flask(settings, "discover", "--from-file", str(seeds))
        assert queued.returncode == 0, queued.stdout + queued.stderr
        chaos.say(f"discover: {queued.stdout.strip().splitlines()[-1]}")
        poster.start()
        deadline = began + DEADLINE
        while chaos.posted < (VERSIONS - half) // 4 and poster.is_alive():
            assert time.monotonic() < deadline, "the API took no requests"
            time.sleep(0.05)
        died = kill_web(server)  # with posts in flight
        chaos.web_kills += 1
        chaos.say(f"kill -9 gunicorn ({died} processes); {chaos.posted} posted")
        server = start_server(settings, logs)
        where["url"] = server.url
        chaos.say(f"gunicorn back on {server.url}")
        published = 0
        while published < VERSIONS:
            assert time.monotonic() < deadline, (
                f"only {published}/{VERSIONS} published: {dict(states(services))}\n"
                + "\n".join(chaos.log[-20:]) + "\n" + pool.logs()[-6000:])
            capped = chaos.worker_kills >= MAX_KILLS
            time.sleep(1.0 if capped else rng.uniform(*KILL_EVERY))
            published = states(services)["published"]
            if published >= VERSIONS:
                break
            if capped:
                continue
            victim, busy = pick_victim(pool, live, rng)
            pool.kill(victim)
            chaos.worker_kills += 1
            chaos.mid_job_kills += busy
            live.remove(victim)
            live.append(pool.start())
            chaos.say(f"kill -9 worker {victim.pid} ({'mid-job' if busy else 'idle'}); "
                      f"{published}/{VERSIONS} published")
        poster.join(timeout=60)
        seconds = time.monotonic() - began
        lists_synced_after_all(settings, services, deadline)
        final = states(services)
        pool.stop()
        worker_logs = pool.logs()
        retried = worker_logs.count("job retried:")
        failed_jobs = flask(settings, "jobs", "failed")
        differ = served_differently(server.url, upstream, targets)
        checked = flask(settings, "fsck", "--json")
        report = json.loads(checked.stdout)
        leftovers = [p["key"] for p in report["problems"] if p["kind"] == "tmp_leftover"]
        for name in leftovers:  # a killed writer's temporary file is never served
            assert requests.get(f"{server.url}/{name}", timeout=10).status_code != 200
        figures = {
            "versions": VERSIONS, "workers": WORKERS, "worker_kills": chaos.worker_kills,
            "mid_job_kills": chaos.mid_job_kills,
            "web_kills": chaos.web_kills, "jobs_retried": retried,
            "posts_refused_while_down": chaos.post_failures,
            "failed_jobs": failed_jobs.stderr.strip(),
            "lost": VERSIONS - final["published"], "bytes_differing": len(differ),
            "fsck_errors": len([p for p in report["problems"] if p["error"]]),
            "fsck_orphans": report["counts"].get("orphan", 0),
            "tmp_leftovers": len(leftovers), "seconds": round(seconds),
        }
        print("\ncrash consistency:", json.dumps(figures), "\n" + "\n".join(chaos.log))
        assert final["published"] == VERSIONS, dict(final)
        assert differ == [], differ[:10]
        assert checked.returncode == 0 and report["ok"], checked.stdout[-4000:]
        assert chaos.worker_kills >= 1 and chaos.web_kills == 1
        # A retried job that did its work is not counted failed (RQ's clean-up of the
        # killed run's records used to fail it: app.queue.forget_executions).
        assert "0 failed job(s)" in failed_jobs.stderr, failed_jobs.stdout[-3000:]
        assert "not found in Redis" not in worker_logs
    finally:
        stop.set()
        pool.stop()
        server.stop()
        services.db.dispose()
