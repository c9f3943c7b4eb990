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
from tests.conftest import free_port


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


def _start(tmp_path: Path) -> tuple[subprocess.Popen, Path, Path]:
    data_dir, port = tmp_path / "var", free_port()
    env = _env(data_dir, port)
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
        # What the worker forked (RQ's scheduler): orphaned, it ran on holding the
        # scheduler's locks (an outside trial); it goes with the dead worker now.
        deadline = time.monotonic() + 20
        while not (forked := [pid for pid in _children_of_data_dir(data_dir)
                              if _parent(pid) == workers[0]]) and time.monotonic() < deadline:
            time.sleep(0.3)
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "started again" not in log.read_text():
            time.sleep(0.3)
        assert proc.poll() is None, log.read_text()[-3000:]
        assert f"(pid {workers[0]}) exited with status -9" in log.read_text()
        again = _workers_of(proc.pid, data_dir)
        assert len(again) == len(workers) and workers[0] not in again
        assert forked, "the worker forked nothing to check"
        left = [pid for pid in forked if Path(f"/proc/{pid}").exists()
                and b"Z" not in Path(f"/proc/{pid}/stat").read_bytes().split(b" ")[2:3]]
        assert left == [], left
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        for pid in _children_of_data_dir(data_dir):
            os.kill(pid, signal.SIGKILL)


def test_a_killed_web_server_ends_serve_with_a_failure(tmp_path: Path) -> None:
    proc, data_dir, log = _start(tmp_path)
    try:
        (web,) = [pid for pid in _children_of_data_dir(data_dir) if _parent(pid) == proc.pid
                  and any(arg.endswith(b"gunicorn") for arg in _args(pid))]
        os.kill(web, signal.SIGKILL)
        assert proc.wait(timeout=60) != 0
        assert "the web server" in log.read_text()
        assert _gone(data_dir, 30) == []
    finally:
        for pid in _children_of_data_dir(data_dir):
            os.kill(pid, signal.SIGKILL)


def _workers_of(serve: int, data_dir: Path) -> list[int]:
    """The pipeline workers serve started."""
    return sorted(pid for pid in _children_of_data_dir(data_dir) if _parent(pid) == serve
                  and b"worker" in _args(pid))


def _args(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


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
