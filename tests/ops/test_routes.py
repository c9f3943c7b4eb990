"""/ping, /healthz, /readyz, /info and /metrics on a real database, Redis and store."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask

from app.config import Settings
from app.ingest import ingest
from app.queue import RQDispatcher, connect
from tests.conftest import free_port, make_app


@pytest.fixture
def ops_app(settings: Settings, redis_url: str):  # type: ignore[no-untyped-def]
    application = make_app(replace(settings, redis_url=redis_url))
    yield application
    application.extensions["depot"].db.dispose()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of a Prometheus text page, None when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if match is None or match[1] != name:
            continue
        got = ",".join(sorted((match[2] or "").split(","))) if match[2] else ""
        if got == wanted:
            return float(match[3])
    return None


def test_ping_and_healthz_answer_json(client) -> None:  # type: ignore[no-untyped-def]
    ping = client.get("/ping")
    assert ping.status_code == 200 and ping.get_json() == {"status": "pong"}
    assert ping.headers["Cache-Control"] == "no-store"
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json() == {"status": "ok"}


def test_every_response_carries_a_request_id(client) -> None:  # type: ignore[no-untyped-def]
    mine = client.get("/ping", headers={"X-Request-ID": "trace-42.a"})
    assert mine.headers["X-Request-ID"] == "trace-42.a"
    forged = client.get("/ping", headers={"X-Request-ID": "bad id; INFO forged=line"})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-ID"])
    fast = client.get("/depot.test/none/@v/v1.0.0.info")
    assert re.fullmatch(r"[0-9a-f]{32}", fast.headers["X-Request-ID"])


def test_readyz_is_ready_when_every_dependency_answers(ops_app: Flask) -> None:
    resp = ops_app.test_client().get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["status"] == "ready" and body["failed"] == []
    assert set(body["checks"]) == {"database", "redis", "store", "search"}
    assert all(c["ok"] for c in body["checks"].values())


def test_readyz_names_redis_when_it_is_down(settings: Settings) -> None:
    app = make_app(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        resp = app.test_client().get("/readyz")
        body = resp.get_json()
        assert resp.status_code == 503
        assert body["failed"] == ["redis"] and body["reason"] == "unavailable: redis"
        assert "Connection" in body["checks"]["redis"]["detail"]
        assert body["checks"]["database"]["ok"] and body["checks"]["store"]["ok"]
    finally:
        app.extensions["depot"].db.dispose()


def test_readyz_names_the_search_node_and_the_store(settings: Settings, redis_url: str) -> None:
    app = make_app(replace(settings, redis_url=redis_url,
                           elasticsearch_url=f"http://127.0.0.1:{free_port()}"))
    try:
        store_root = Path(settings.store_url.removeprefix("file://"))
        shutil.rmtree(store_root)
        store_root.write_text("not a directory")
        body = app.test_client().get("/readyz").get_json()
        assert body["failed"] == ["store", "search"]
        assert "not a writable directory" in body["checks"]["store"]["detail"]
    finally:
        app.extensions["depot"].db.dispose()


def test_info_tells_what_runs_and_masks_secrets(settings: Settings) -> None:
    app = make_app(replace(settings, redis_url="redis://:hunter2pass@127.0.0.1:1/0",
                           elasticsearch_url="http://elastic:s3cretword@127.0.0.1:1",
                           secret_key="flask-secret-value"))
    try:
        resp = app.test_client().get("/info")
        body = resp.get_json()
        raw = resp.get_data(as_text=True)
    finally:
        app.extensions["depot"].db.dispose()
    assert body["name"] == "depot" and re.fullmatch(r"\d+\.\d+\.\d+", body["version"])
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", body["revision"])
    assert body["go"].startswith("go1.")
    assert body["settings"]["on_miss"] == "404"
    assert body["settings"]["redis"] == "redis://***@127.0.0.1:1/0"
    for secret in ("hunter2pass", "s3cretword", "flask-secret-value"):
        assert secret not in raw


def test_metrics_count_goproxy_hits_misses_and_bytes(ops_app: Flask) -> None:
    services = ops_app.extensions["depot"]
    assert ingest(services, "depot.test/chain/c", "v1.0.0").target.ok
    client = ops_app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    zip_size = services.store.stat("depot.test/chain/c", "v1.0.0", "zip").size
    for _ in range(3):
        assert client.get("/depot.test/chain/c/@v/v1.0.0.zip").status_code == 200
    assert client.head("/depot.test/chain/c/@v/v1.0.0.zip").status_code == 200
    assert client.get("/depot.test/chain/c/@v/list").status_code == 200
    assert client.get("/depot.test/nowhere/@v/v1.0.0.mod").status_code == 404
    after = client.get("/metrics").get_data(as_text=True)

    def delta(name: str, **labels: str) -> float:
        return (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert delta("depot_goproxy_requests_total", kind="zip", result="hit") == 4
    assert delta("depot_goproxy_bytes_total", kind="zip") == 3 * zip_size
    assert delta("depot_goproxy_requests_total", kind="list", result="hit") == 1
    assert delta("depot_goproxy_requests_total", kind="mod", result="miss") == 1
    assert delta("depot_http_requests_total", group="goproxy", method="GET", status="200") == 4
    assert delta("depot_http_requests_total", group="goproxy", method="GET", status="404") == 1
    assert delta("depot_http_request_duration_seconds_count", group="goproxy") == 6
    assert delta("depot_http_requests_total", group="ops", method="GET", status="200") >= 1


def test_metrics_show_queues_jobs_store_and_dependencies(ops_app: Flask) -> None:
    services = ops_app.extensions["depot"]
    assert ingest(services, "depot.test/chain/c", "v1.0.0").target.ok
    dispatcher = RQDispatcher(services.settings, connect(services.settings))
    dispatcher.enqueue("process", "depot.test/queued", "v1.0.0")
    dispatcher.enqueue("process", "depot.test/queued", "v1.0.1")
    text = ops_app.test_client().get("/metrics").get_data(as_text=True)
    assert sample(text, "depot_queue_up") == 1
    assert sample(text, "depot_queue_depth", queue="process") == 2
    assert sample(text, "depot_queue_depth", queue="validate") == 0
    stored = sum(services.store.stat("depot.test/chain/c", "v1.0.0", k).size
                 for k in ("info", "mod", "zip"))
    assert sample(text, "depot_store_objects") == 3
    assert sample(text, "depot_store_bytes") == stored
    for dependency in ("database", "redis", "store", "search"):
        assert sample(text, "depot_dependency_up", dependency=dependency) == 1


def test_metrics_still_answer_without_redis(settings: Settings) -> None:
    app = make_app(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        resp = app.test_client().get("/metrics")
    finally:
        app.extensions["depot"].db.dispose()
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert sample(text, "depot_queue_up") == 0
    assert sample(text, "depot_dependency_up", dependency="redis") == 0
    assert sample(text, "depot_dependency_up", dependency="database") == 1
