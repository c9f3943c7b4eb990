"""The real `go` command against Depot under real gunicorn on 127.0.0.1.

Depot is filled by the real CLI from the fixture upstream; then a consumer with
an empty module cache builds and runs through Depot alone, its checksums
verified by the fixture checksum database through Depot's /sumdb/ passthrough.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from app.config import REPO_ROOT, Settings
from tests.conftest import go_client_env, run_go, settings_env, start_server
from tests.fixtures.sumdb import SumDB
from tests.fixtures.upstream import (
    CONSUMER_REQUIRES,
    PSEUDO_VERSION,
    Upstream,
    greeting,
    write_consumer,
)

EXPECTED = [
    greeting("depot.test/MixedCase/Lib", "v1.2.0"),
    " <- ".join([greeting("depot.test/chain/a", "v1.1.0"), greeting("depot.test/chain/b", "v1.0.0"),
                 greeting("depot.test/chain/c", "v1.0.0")]),
    greeting("depot.test/deprecated", "v1.0.0"),
    greeting("depot.test/legacy", "v2.0.0+incompatible"),
    greeting("depot.test/major/v2", "v2.1.0"),
    greeting("depot.test/pseudo", PSEUDO_VERSION),
]


def flask_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=REPO_ROOT, env=settings_env(settings), capture_output=True, text=True, timeout=300,
    )


def verifier_key(sumdb: SumDB) -> str:
    """GOSUMDB without a URL: the go command then reaches the database through the proxy."""
    return sumdb.gosumdb.split()[0]


def build_consumer(tmp_path: Path, goproxy: str, gosumdb: str) -> tuple[Path, dict[str, str]]:
    consumer = write_consumer(tmp_path / "consumer", CONSUMER_REQUIRES)
    env = go_client_env(tmp_path / "client", goproxy, gosumdb)
    done = run_go(["run", "."], consumer, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXPECTED
    return consumer, env


def test_consumer_builds_from_depot_alone(settings: Settings, sumdb: SumDB, tmp_path: Path):
    assert flask_cli(settings, "migrate").returncode == 0
    for target in [f"{p}@{v}" for p, v in CONSUMER_REQUIRES.items()] + [
        "depot.test/retract@v1.0.0", "depot.test/retract@v1.0.1", "depot.test/retract@latest",
    ]:
        done = flask_cli(settings, "ingest", target, "--deps")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "published" in done.stdout or "present" in done.stdout
    again = flask_cli(settings, "ingest", "depot.test/chain/a@v1.1.0")
    assert "no upstream call" in again.stderr

    server = start_server(settings, tmp_path)
    try:
        consumer, env = build_consumer(tmp_path, server.url, verifier_key(sumdb))
        versions = run_go(["list", "-m", "-versions", "depot.test/retract"], consumer, env)
        assert versions.stdout.split() == ["depot.test/retract", "v1.0.0", "v1.1.0"]
        retracted = run_go(
            ["list", "-m", "-retracted", "-versions", "depot.test/retract"], consumer, env
        )
        assert "v1.0.1" in retracted.stdout.split()
        verify = run_go(["mod", "verify"], consumer, env)
        assert verify.returncode == 0 and "all modules verified" in verify.stdout
        # the checksum lookups went through Depot's passthrough (answered from what the
        # pipeline's go commands read, or fetched and cached)
        assert re.search(rf"GET /sumdb/{re.escape(settings.sumdb_name)}/lookup/\S+ 200",
                         server.log.read_text()), server.log.read_text()[-3000:]
        deprecated = run_go(["list", "-m", "-u", "-json", "depot.test/deprecated"], consumer, env)
        assert "use depot.test/chain/a instead." in deprecated.stdout
    finally:
        server.stop()

    # The store is itself a GOPROXY tree the go command reads directly.
    tree_env = go_client_env(tmp_path / "client2", settings.store_url, verifier_key(sumdb)
                             + " " + sumdb.url)
    done = run_go(["run", "."], tmp_path / "consumer", tree_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == EXPECTED


class CountingHandler(SimpleHTTPRequestHandler):
    """Serves a fixture tree over HTTP and counts the requests per path."""

    counts: dict[str, int]
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.counts[self.path] = self.counts.get(self.path, 0) + 1
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_upstream(upstream: Upstream):  # type: ignore[no-untyped-def]
    counts: dict[str, int] = {}
    handler = type("Handler", (CountingHandler,), {"counts": counts})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(upstream.root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", counts
    httpd.shutdown()
    httpd.server_close()


def test_fetch_on_miss_single_flight_across_processes(
    settings: Settings, sumdb: SumDB, http_upstream, tmp_path: Path
):
    url, counts = http_upstream
    fetching = replace(settings, upstream=url, on_miss="fetch")
    assert flask_cli(fetching, "migrate").returncode == 0
    server = start_server(fetching, tmp_path, workers=2)
    try:
        zip_url = f"{server.url}/depot.test/chain/c/@v/v1.0.0.zip"
        with ThreadPoolExecutor(max_workers=20) as pool:
            bodies = list(pool.map(lambda _: requests.get(zip_url, timeout=120), range(20)))
        assert {r.status_code for r in bodies} == {200}
        assert len({r.content for r in bodies}) == 1
        assert counts.get("/depot.test/chain/c/@v/v1.0.0.zip") == 1, counts

        # and a real client with an empty Depot behind it gets everything fetched on demand
        build_consumer(tmp_path, server.url, verifier_key(sumdb))
        assert counts.get("/depot.test/chain/c/@v/v1.0.0.zip") == 1, counts
    finally:
        server.stop()


def raw_request(url: str, target: bytes) -> bytes:
    """Send a request line as bytes, exactly (no client-side normalisation)."""
    import socket
    from urllib.parse import urlparse

    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_real_server_answers_bad_input_with_4xx(settings: Settings, tmp_path: Path):
    assert flask_cli(settings, "migrate").returncode == 0
    server = start_server(settings, tmp_path, workers=1)
    try:
        for target in (
            b"/depot.test/x%00y/@v/list",
            b"/depot.test/../../etc/passwd/@v/list",
            b"/depot.test//x/@v/list",
            b"/depot.test/X/@v/list",
            b"/depot.test/x/@v/v1.0.0%zz.info",
            b"/" + b"a" * 10_000 + b".test/@v/list",
            b"/depot.test/x/@v/\xff\xfe.info",
        ):
            status_line = raw_request(server.url, target).split(b"\r\n", 1)[0]
            status = int(status_line.split()[1])
            assert 400 <= status < 500, (target[:80], status_line)
        assert "Traceback" not in server.log.read_text()
    finally:
        server.stop()
