"""`flask --app app serve` (what `make run` runs): Ctrl-C ends it quietly, and a killed
`serve` takes its web server, workers and embedded Redis with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from app.config import REPO_ROOT
from app.cpu import BACKGROUND_NICENESS, LOWEST
from tests.conftest import free_port
from tests.fixtures.upstream import Upstream


def _env(data_dir: Path, port: int) -> dict[str, str]:
    """`make run`'s defaults: embedded Redis and SQLite under the data dir."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DEPOT_") and k not in ("REDIS_URL", "DATABASE_URL",
                                                       "ELASTICSEARCH_URL")}
    env.update(DEPOT_DATA_DIR=str(data_dir), DEPOT_PORT=str(port))
    return env


def _children_of_data_dir(data_dir: Path) -> list[int]:
    """Processes whose command line or working files name this data dir (Redis's
    config lives there) or that run this serve's port."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if str(data_dir) in cmdline or f"DEPOT_DATA_DIR={data_dir}".encode() in environ:
            found.append(int(entry.name))
    return found


def _start(tmp_path: Path, extra: dict[str, str] | None = None
           ) -> tuple[subprocess.Popen, Path, Path]:
    extra = extra or {}
    data_dir, port = tmp_path / "var", int(extra.get("DEPOT_PORT") or free_port())
    env = _env(data_dir, port) | extra
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "migrate"], cwd=REPO_ROOT, env=env, check=True,
                   capture_output=True)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        # Its own process group, as a terminal gives `make run`.
        proc = subprocess.Popen([*flask, "serve"], cwd=REPO_ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        time.sleep(0.3)
    else:
        raise AssertionError("serve did not get ready:\n" + log.read_text())
    time.sleep(2)  # the worker is up and polling Redis
    return proc, data_dir, log


def _gone(data_dir: Path, within: float) -> list[int]:
    deadline = time.monotonic() + within
    while (left := _children_of_data_dir(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def test_ctrl_c_stops_everything_without_a_redis_error(tmp_path: Path) -> None:
    proc, data_dir, log = _start(tmp_path)
    try:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        proc.wait(timeout=60)
        output = log.read_text()
        assert "ConnectionError" not in output, output[-3000:]
        assert _gone(data_dir, 10) == []
    finally:
        for pid in _children_of_data_dir(data_dir):
            os.kill(pid, signal.SIGKILL)


def test_a_killed_serve_leaves_nothing_running(tmp_path: Path) -> None:
    proc, data_dir, _log = _start(tmp_path)
    try:
        assert len(_children_of_data_dir(data_dir)) >= 4  # serve, gunicorn, worker, Redis
        proc.kill()
        proc.wait(timeout=10)
        assert _gone(data_dir, 30) == []
    finally:
        for pid in _children_of_data_dir(data_dir):
            os.kill(pid, signal.SIGKILL)


def test_a_killed_worker_is_started_again(tmp_path: Path) -> None:
    """An outside trial killed the rq worker of `make run`: everything stopped, status 0."""
    proc, data_dir, log = _start(tmp_path)
    try:
        workers = _workers_of(proc.pid, data_dir)
        assert workers, log.read_text()[-3000:]
        # Below the web server (app/cpu.py): a client's walk comes before the jobs.
        below = min(os.getpriority(os.PRIO_PROCESS, proc.pid) + BACKGROUND_NICENESS, LOWEST)
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in workers] == [below]
        # RQ's scheduler is a thread of the worker (jobs/worker.ThreadScheduler): an idle
        # worker forks nothing that could outlive it (an outside trial saw a forked
        # scheduler run on, orphaned, holding its locks).
        assert [pid for pid in _children_of_data_dir(data_dir)
                if _parent(pid) == workers[0]] == []
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "started again" not in log.read_text():
            time.sleep(0.3)
        assert proc.poll() is None, log.read_text()[-3000:]
        assert f"(pid {workers[0]}) exited with status -9" in log.read_text()
        again = _workers_of(proc.pid, data_dir)
        assert len(again) == len(workers) and workers[0] not in again
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in again] == [below]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        for pid in _children_of_data_dir(data_dir):
            os.kill(pid, signal.SIGKILL)


def test_a_killed_web_server_ends_serve_with_a_failure(tmp_path: Path) -> None:
    proc, data_dir, log = _start(tmp_path)
    try:
        (web,) = [pid for pid in _children_of_data_dir(data_dir) if _parent(pid) == proc.pid
                  and _command(pid).endswith(" -m app.served")]
        os.kill(web, signal.SIGKILL)
        assert proc.wait(timeout=60) != 0
        assert "the web server" in log.read_text()
        assert _gone(data_dir, 30) == []
    finally:
        for pid in _children_of_data_dir(data_dir):
            os.kill(pid, signal.SIGKILL)


def _workers_of(serve: int, data_dir: Path) -> list[int]:
    """The pipeline workers serve started (forked: app/forking.py): `flask --app app
    worker` until RQ names it by what it does ("rq:worker:NAME: Listening on …")."""
    return sorted(pid for pid in _children_of_data_dir(data_dir) if _parent(pid) == serve
                  and (_command(pid).endswith(" worker")
                       or _command(pid).startswith("rq:worker:")))


def _command(pid: int) -> str:
    """The command line ``ps`` shows (a title set with setproctitle included)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_serve_on_a_database_without_schema_says_to_migrate(tmp_path: Path):
    """Else each worker died on its first query and was started again every 8 s."""
    env = _env(tmp_path / "data", free_port())
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "serve"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "no schema yet: run `flask --app app migrate` first" in done.stderr
    assert _children_of_data_dir(tmp_path / "data") == []  # nothing was started


def test_serve_removes_the_work_folders_of_killed_jobs_and_keeps_live_ones(
    tmp_path: Path,
) -> None:
    """A job killed with an earlier serve left its work folder (a module cache); the next
    serve removes it before its workers start and says so. A job still running on the
    host (a `flask ingest` beside serve) keeps its folder."""
    from tests.fixtures.counting_upstream import CountingUpstream
    from tests.fixtures.stuck_job import kill_group, start_stuck_ingest
    from tests.fixtures.upstream import fixture_module, upstream_of

    killed, running = "depot.test/stuck/killed", "depot.test/stuck/running"
    tree = upstream_of(tmp_path / "upstream", [fixture_module(killed, "v1.0.0"),
                                               fixture_module(running, "v1.0.0")])
    data_dir = tmp_path / "var"
    with CountingUpstream(tree.root) as up:
        env = _env(data_dir, free_port()) | {"DEPOT_UPSTREAM": up.url, "DEPOT_GOSUMDB": "off"}
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "migrate"],
                       cwd=REPO_ROOT, env=env, check=True, capture_output=True)
        dead, left = start_stuck_ingest(env, data_dir, killed, up)
        kill_group(dead)
        live, in_use = start_stuck_ingest(env, data_dir, running, up)
        proc = None
        try:
            proc, _data_dir, log = _start(tmp_path)
            assert not left.exists(), log.read_text()[-3000:]
            assert in_use.exists() and live.poll() is None
            assert "removed 1 work folder(s) of killed jobs" in log.read_text()
            assert left.name in log.read_text() and in_use.name not in log.read_text()
        finally:
            kill_group(live)
            if proc is not None:
                os.killpg(proc.pid, signal.SIGINT)
                proc.wait(timeout=60)
            for pid in _children_of_data_dir(data_dir):
                os.kill(pid, signal.SIGKILL)


def _redis_of(data_dir: Path) -> list[int]:
    """The embedded redis-server of this data dir (its config lives there)."""
    return [pid for pid in _children_of_data_dir(data_dir)
            if b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_a_killed_redis_is_started_again_and_the_goproxy_keeps_answering(
        tmp_path: Path, upstream: Upstream) -> None:
    """An outside trial killed `make run`'s embedded Redis: the worker quit and the web
    server went down 4 s later, although with Redis away the GOPROXY and the pages can
    serve. Now Redis comes back (its queues with it, from its append-only file), the
    workers find it again (RQ reconnects; one that quits is started again), and the
    GOPROXY answers throughout."""
    port = free_port()
    extra = {"DEPOT_UPSTREAM": upstream.url, "DEPOT_GOSUMDB": "off", "DEPOT_PORT": str(port)}
    env = _env(tmp_path / "var", port) | extra
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "migrate"], cwd=REPO_ROOT,
                   env=env, check=True, capture_output=True)
    ingested = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "ingest",
                               "depot.test/chain/c@v1.0.0"], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    proc, data_dir, log = _start(tmp_path, extra)
    base = f"http://127.0.0.1:{port}"
    published = f"{base}/depot.test/chain/c/@v/v1.0.0.mod"
    try:
        assert requests.get(published, timeout=5).status_code == 200
        [redis] = _redis_of(data_dir)
        workers = _workers_of(proc.pid, data_dir)
        os.kill(redis, signal.SIGKILL)
        answers = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            answers.append(requests.get(published, timeout=5).status_code)
            again = _redis_of(data_dir)
            back = _workers_of(proc.pid, data_dir)
            # The new redis-server shows before it answers; serve says "started again"
            # once it does.
            if (again and again != [redis] and len(back) == len(workers)
                    and "embedded Redis started again" in log.read_text()):
                break
            time.sleep(0.3)
        text = log.read_text()
        assert proc.poll() is None, text[-3000:]
        assert set(answers) == {200}, answers
        assert f"embedded Redis (pid {redis}) exited with status -9" in text, text[-3000:]
        assert "embedded Redis started again" in text, text[-3000:]
        assert again and again != [redis], text[-3000:]
        assert len(back) == len(workers), text[-3000:]
        # New requests are taken again: the queue is back.
        made = requests.post(f"{base}/api/v1/requests",
                             json={"module": "depot.test/chain/b", "version": "v1.0.0"},
                             timeout=10)
        assert made.status_code == 202, made.text
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        for pid in _children_of_data_dir(data_dir):
            os.kill(pid, signal.SIGKILL)


def _shared_anonymous_kb(pid: int) -> int:
    """kB of the process's anonymous memory (heap, Python's objects) that another process
    maps too: a forked relative, as nothing else shares such pages."""
    shared, anonymous = 0, False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            anonymous = len(head) == 5 or head[5] == "[heap]"
        elif anonymous and head[0] in ("Shared_Clean:", "Shared_Dirty:"):
            shared += int(head[1])
    return shared


def test_serve_forks_a_web_server_and_workers_that_share_its_modules(tmp_path: Path
                                                                      ) -> None:
    """Once its checks are done, serve becomes app/supervise.py (same pid): it imports
    the web server's and the worker's modules once and forks them (app/forking.py), so
    they share those pages; started afresh, each held its own copy (docs/bench.md)."""
    proc, data_dir, _log = _start(tmp_path)
    try:
        assert _command(proc.pid).endswith("-m app.supervise --workers 1")
        (worker,) = _workers_of(proc.pid, data_dir)
        (web,) = [pid for pid in _children_of_data_dir(data_dir) if _parent(pid) == proc.pid
                  and _command(pid).endswith(" -m app.served")]
        for pid in (worker, web):
            assert _shared_anonymous_kb(pid) > 20_000, (_command(pid),
                                                        _shared_anonymous_kb(pid))
        granian = [pid for pid in _children_of_data_dir(data_dir) if _parent(pid) == web]
        assert sorted(_command(pid).rsplit(" ", 1)[1] for pid in granian) == [
            "worker-1", "worker-2"]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        for pid in _children_of_data_dir(data_dir):
            os.kill(pid, signal.SIGKILL)
