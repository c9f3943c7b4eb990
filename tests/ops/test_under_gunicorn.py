"""Depot as it runs in production: several web server workers (gunicorn, the chart's,
and granian, `make run`'s), JSON logs, real workers.

/metrics must count every worker's requests whichever worker answers the scrape,
every log line must be one JSON object with the request id, and the id must
follow the request into the jobs it queued.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from app.config import HTTP_SERVERS, Settings
from app.logs import SERVER_LOGGERS
from tests.conftest import LiveServer, Workers, start_server
from tests.e2e.test_pipeline import migrate, wait_for
from tests.ops.test_routes import sample

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
MISSING = "/depot.test/none/@v/v1.0.0.info"


def json_lines(path: Path) -> list[dict]:
    """Every line of a log; each must be one JSON object."""
    lines = []
    for raw in path.read_text().splitlines():
        if raw.strip():
            lines.append(json.loads(raw))  # fails the test on any line that is not JSON
    return lines


@pytest.fixture
def json_settings(queued_settings: Settings) -> Settings:
    return replace(queued_settings, log_format="json")


@pytest.fixture(params=HTTP_SERVERS)
def http_server(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def gunicorn(json_settings: Settings, tmp_path: Path, http_server: str
             ) -> Iterator[LiveServer]:
    """Depot under each web server it can run under (the name is the first one's)."""
    settings = replace(json_settings, http_server=http_server)
    migrate(settings)
    server = start_server(settings, tmp_path, workers=3)
    yield server
    server.stop()


def _pids_that_answered(server: LiveServer) -> set[int]:
    return {line["pid"] for line in json_lines(server.log)
            if line.get("logger") == "depot.access" and line["path"] == MISSING}


def test_metrics_add_up_over_every_worker(gunicorn: LiveServer) -> None:
    sent = 0

    def one() -> None:
        resp = requests.get(gunicorn.url + MISSING, timeout=10, headers={"Connection": "close"})
        assert resp.status_code == 404

    # New connections, several at once, until at least two workers have answered (the
    # kernel hands connections to whichever worker accepts first).
    with ThreadPoolExecutor(6) as pool:
        while sent < 600:
            list(pool.map(lambda _: one(), range(30)))
            sent += 30
            time.sleep(0.2)
            if len(_pids_that_answered(gunicorn)) >= 2:
                break
    assert len(_pids_that_answered(gunicorn)) >= 2, "one worker took every request"
    for _ in range(8):  # whichever worker answers the scrape counts them all
        text = requests.get(gunicorn.url + "/metrics", headers={"Connection": "close"},
                            timeout=10).text
        assert sample(text, "depot_http_requests_total", group="goproxy", method="GET",
                      status="404") == sent
        assert sample(text, "depot_goproxy_requests_total", kind="info", result="miss") == sent
        assert sample(text, "depot_http_request_duration_seconds_count", group="goproxy") == sent


def test_logs_are_json_with_the_request_id_on_every_line(gunicorn: LiveServer,
                                                         http_server: str) -> None:
    resp = requests.get(gunicorn.url + MISSING, headers={"X-Request-ID": "trace-7f3a"},
                        timeout=10)
    assert resp.status_code == 404 and resp.headers["X-Request-ID"] == "trace-7f3a"
    time.sleep(0.3)
    lines = json_lines(gunicorn.log)
    own = SERVER_LOGGERS[http_server][0]
    assert any(line["logger"].startswith(own) for line in lines)  # the server's own, too
    mine = [line for line in lines if line.get("request_id") == "trace-7f3a"]
    assert {line["logger"] for line in mine} == {"depot.http", "depot.access"}
    access = next(line for line in mine if line["logger"] == "depot.access")
    assert access["status"] == 404 and access["method"] == "GET" and access["path"] == MISSING
    assert access["group"] == "goproxy" and access["duration_ms"] >= 0
    for line in lines:
        assert {"time", "level", "logger", "message", "pid"} <= set(line)


def test_the_request_id_follows_the_request_into_its_jobs(
    gunicorn: LiveServer, json_settings: Settings, tmp_path: Path
) -> None:
    pool = Workers(json_settings, tmp_path / "workers", [])
    pool.log_dir.mkdir()
    try:
        pool.start()
        resp = requests.post(f"{gunicorn.url}/api/v1/requests",
                             json={"module": "depot.test/chain/b", "version": "v1.0.0"},
                             headers={"X-Request-ID": "ask-b-2f9c"}, timeout=30)
        assert resp.status_code == 202, resp.text
        done = wait_for(gunicorn, resp.headers["Location"], {"published", "rejected", "failed"},
                        pool)
        assert done["state"] == "published", done
        # Its member's own validation goes on behind the request (app/models.vouched).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(
                d["state"] == "published" for d in requests.get(
                    gunicorn.url + resp.headers["Location"], timeout=30).json()["dependencies"]):
            time.sleep(0.3)
    finally:
        pool.stop()
    worker_lines = json_lines(next(pool.log_dir.glob("*.log")))
    traced = [line for line in worker_lines if line.get("request_id") == "ask-b-2f9c"]
    messages = " | ".join(line["message"] for line in traced)
    # Published by a job two hops from the request (discover -> process -> validate).
    assert "published depot.test/chain/b@v1.0.0" in messages, messages
    assert "published depot.test/chain/c@v1.0.0" in messages, messages
