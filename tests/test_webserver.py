"""The web server `make run` starts (app/webserver.py): granian by default, gunicorn on
request; granian's workers replaced when killed, their access lines all written, the
process environment never read as request headers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from app.config import REPO_ROOT, Settings
from app.migrate import upgrade
from app.resources import Services
from app.served import WithoutEnvironHeaders
from app.webserver import split_bind, web_command
from tests.conftest import settings_env, start_server

# The servers are what is tried here; one database is enough.
sqlite_only = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


def test_bind_addresses_are_read_as_gunicorn_reads_them() -> None:
    assert split_bind("127.0.0.1:8080") == ("127.0.0.1", 8080, None)
    assert split_bind("0.0.0.0:8000") == ("0.0.0.0", 8000, None)
    assert split_bind("[::1]:9000") == ("::1", 9000, None)
    assert split_bind("unix:/run/depot/depot.sock") == ("", 0, Path("/run/depot/depot.sock"))
    for bad in ("localhost", "host:port", ""):
        with pytest.raises(ValueError, match="DEPOT_BIND"):
            split_bind(bad)


@sqlite_only
def test_the_setting_chooses_the_server(settings: Settings) -> None:
    assert web_command(settings)[-2:] == ["-m", "app.served"]
    gunicorn = web_command(replace(settings, http_server="gunicorn"))
    assert gunicorn[0].endswith("gunicorn") and "gunicorn.conf.py" in gunicorn


def test_variables_of_the_process_named_like_headers_are_no_headers() -> None:
    seen: dict = {}

    def app(environ: dict, start_response: object) -> list[bytes]:
        seen.update(environ)
        return [b""]

    wrapped = WithoutEnvironHeaders(app, {"HTTP_PROXY": "http://evil:1", "PATH": "/bin"})
    wrapped({"HTTP_PROXY": "http://evil:1", "PATH": "/bin", "PATH_INFO": "/"}, print)
    assert "HTTP_PROXY" not in seen and seen["PATH"] == "/bin"
    # A client's own header of that name (another value) is the client's.
    wrapped({"HTTP_PROXY": "sent by the client", "PATH_INFO": "/"}, print)
    assert seen["HTTP_PROXY"] == "sent by the client"


@sqlite_only
def test_a_bad_bind_stops_the_server_with_the_reason(settings: Settings) -> None:
    env = {**settings_env(settings), "DEPOT_BIND": "nowhere"}
    done = subprocess.run(web_command(settings), cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "DEPOT_BIND 'nowhere'" in done.stderr


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found |= {int(c) for c in children}
    return found


@pytest.fixture
def migrated(settings: Settings) -> Settings:
    upgrade(Services.from_settings(settings).db.engine)
    return settings


@sqlite_only
def test_a_killed_worker_is_replaced_and_the_server_goes_on(migrated: Settings,
                                                            tmp_path: Path) -> None:
    server = start_server(migrated, tmp_path)
    try:
        workers = _children(server.process.pid)
        assert len(workers) == 2, workers
        os.kill(min(workers), signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = _children(server.process.pid)
            if len(now) == 2 and min(workers) not in now:
                break
            time.sleep(0.2)
        assert len(now) == 2 and min(workers) not in now, now
        for _ in range(20):  # whichever worker takes them
            resp = requests.get(server.url + "/ping", headers={"Connection": "close"},
                                timeout=10)
            assert resp.status_code == 200
        assert server.process.poll() is None
    finally:
        server.stop()


@sqlite_only
def test_a_stopped_server_has_written_every_access_line(migrated: Settings,
                                                        tmp_path: Path) -> None:
    """Access lines are written in batches: the last batch still goes out at a stop."""
    server = start_server(migrated, tmp_path)
    try:
        with requests.Session() as session:
            for n in range(300):
                assert session.get(f"{server.url}/ping?n={n}", timeout=10).ok
    finally:
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0
    text = server.log.read_text()
    assert sorted(int(line.split("?n=")[1].split()[0]) for line in text.splitlines()
                  if "depot.access" in line and "/ping?n=" in line) == list(range(300))


@sqlite_only
def test_a_header_planted_in_the_environment_is_not_read(migrated: Settings,
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """granian starts each request's environ from os.environ (httpoxy): a variable
    HTTP_X_REQUEST_ID of the server's would otherwise be every request's id."""
    monkeypatch.setenv("HTTP_X_REQUEST_ID", "planted-by-the-environment")
    server = start_server(migrated, tmp_path)
    try:
        resp = requests.get(server.url + "/ping", timeout=10)
        assert resp.ok and resp.headers["X-Request-ID"] != "planted-by-the-environment"
        resp = requests.get(server.url + "/ping", headers={"X-Request-ID": "mine-1"},
                            timeout=10)
        assert resp.headers["X-Request-ID"] == "mine-1"
    finally:
        server.stop()


@sqlite_only
def test_the_server_listens_on_a_unix_socket(migrated: Settings, tmp_path: Path) -> None:
    """DEPOT_BIND=unix:PATH, as behind the chart's sidecar."""
    sock_path = tmp_path / "depot.sock"
    env = {**settings_env(migrated), "DEPOT_BIND": f"unix:{sock_path}"}
    log = open(tmp_path / "unix.log", "wb")
    proc = subprocess.Popen(web_command(migrated), cwd=REPO_ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        answer = b""
        while time.monotonic() < deadline and not answer.startswith(b"HTTP/1.1 200"):
            time.sleep(0.3)
            if not sock_path.exists():
                continue
            with socket.socket(socket.AF_UNIX) as client:
                client.settimeout(10)
                try:
                    client.connect(str(sock_path))
                except OSError:  # bound, not listening yet
                    continue
                client.sendall(b"GET /ping HTTP/1.1\r\nHost: depot\r\nConnection: close\r\n\r\n")
                answer = b"".join(iter(lambda: client.recv(65536), b""))
        assert answer.startswith(b"HTTP/1.1 200"), (tmp_path / "unix.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


@sqlite_only
def test_serve_uses_the_python_it_runs_under(settings: Settings) -> None:
    assert web_command(settings)[0] == sys.executable
