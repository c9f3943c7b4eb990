"""The drift alarm through a real RQ worker on a real Redis: the worker's maintenance
round finds the sweep due and queues it (one per interval), the sweep job records and
notifies; POST /api/v1/modules/<path>/drift-checks queues a check the worker runs.
SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import select

from app import audit
from app.drift.sweep import CLOCK_KEY, NEXT_SWEEP_KEY
from app.ingest import ingest
from app.models import AuditEvent, DriftCheck, ModuleVersion
from app.resources import Services
from tests.conftest import Workers, make_app, with_settings
from tests.drift.helpers import CHANGED, HOOK, SAME, force_push, on_private_upstream
from tests.drift.test_sweep import drift_alerts
from tests.fixtures.receiver import Receiver, receiver  # noqa: F401 (fixture)
from tests.fixtures.upstream import Upstream

WAIT = 180


def _checks(svc: Services) -> list[tuple[str, str, str]]:
    with svc.db.session() as s:
        rows = s.execute(select(ModuleVersion.version, DriftCheck.outcome, DriftCheck.trigger)
                         .join(ModuleVersion, ModuleVersion.id == DriftCheck.version_id)
                         .order_by(DriftCheck.id)).all()
    return [(v, o.value, t) for v, o, t in rows]


def _wait_for(svc: Services, count: int, pool: Workers) -> list[tuple[str, str, str]]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = _checks(svc)
        if len(found) >= count:
            return found
        time.sleep(0.3)
    raise AssertionError(f"only {_checks(svc)} after {WAIT}s:\n{pool.logs()[-4000:]}")


@pytest.mark.parametrize("redis_url", ["redis-server"], indirect=True)
def test_sweep_and_api_check_run_on_a_real_worker(
    services: Services, fresh_upstream: Upstream, receiver: Receiver,  # noqa: F811
    redis_url: str, tmp_path: Path,
):
    svc = on_private_upstream(services, fresh_upstream, gosumdb="off", redis_url=redis_url,
                              notify_webhooks=receiver.url(HOOK), drift_interval=3600,
                              drift_sample=5)
    for target in (CHANGED, SAME):
        assert ingest(svc, *target).ok
    force_push(fresh_upstream, *CHANGED)
    conn = Redis.from_url(redis_url)
    conn.set(CLOCK_KEY, "0")  # Depot has run for a while; no sweep in this interval yet
    (tmp_path / "logs").mkdir()
    pool = Workers(svc.settings, tmp_path / "logs", [])
    try:
        pool.start("process")
        pool.start("process")  # two workers, one sweep
        checks = _wait_for(svc, 2, pool)
        time.sleep(2)  # a second sweep, were one queued, would show by now
        assert sorted(_checks(svc)) == sorted(checks) == [("v1.0.0", "differs", "sweep"),
                                                          ("v1.0.0", "same", "sweep")]
        assert 3000 < conn.ttl(NEXT_SWEEP_KEY) <= 3600
        assert len(drift_alerts(receiver)) == 1

        app = make_app(svc.settings)
        client = app.test_client()
        resp = client.post(f"/api/v1/modules/{SAME[0]}/drift-checks", json={})
        assert resp.status_code == 202, resp.get_json()
        body = resp.get_json()
        assert body["module"] == SAME[0] and body["job_id"].startswith("drift-check-")
        assert resp.headers["Location"].endswith(f"/api/v1/modules/{SAME[0]}/drift")
        assert _wait_for(svc, 3, pool)[-1] == ("v1.0.0", "same", "api")
        listing = client.get(resp.headers["Location"]).get_json()
        assert listing["versions"][0]["checks"][0]["trigger"] == "api"
        assert len(drift_alerts(receiver)) == 1  # nothing new: nobody told twice
        with svc.db.session() as session:  # the audit trail has both, and who
            trail = {(e.action, e.target, e.actor)
                     for e in session.scalars(select(AuditEvent))}
        assert (audit.DRIFT_FOUND, "@".join(CHANGED), "depot") in trail
        assert (audit.DRIFT_CHECK, SAME[0], "anonymous") in trail
        app.extensions["depot"].db.dispose()
    finally:
        pool.stop()
    assert "Traceback" not in pool.logs()


@pytest.mark.parametrize("redis_url", ["redis-server"], indirect=True)
def test_drift_check_requests_are_checked_limited_and_need_the_queue(
    services: Services, redis_url: str
):
    assert ingest(services, *SAME).ok
    app = make_app(with_settings(services.settings, redis_url=redis_url, request_limit=2))
    client = app.test_client()
    url = f"/api/v1/modules/{SAME[0]}/drift-checks"
    # A cross-site form cannot send JSON: a body that is not a JSON object is refused.
    for kwargs in ({"data": "version=v1.0.0"}, {"json": []}, {}):
        resp = client.post(url, **kwargs)
        assert resp.status_code == 400 and "send JSON" in resp.get_json()["error"]
    assert client.post(url, json={"version": "1.0"}).status_code == 400
    assert client.post(url, json={"version": "v9.9.9"}).status_code == 404
    assert client.post("/api/v1/modules/depot.test/nothing/drift-checks", json={}
                       ).status_code == 404
    assert client.post(f"/api/v1/modules/{SAME[0]}", json={}).status_code == 404
    assert [client.post(url, json={}).status_code for _ in range(3)] == [202, 202, 429]
    app.extensions["depot"].db.dispose()

    down = make_app(with_settings(services.settings, redis_url="redis://127.0.0.1:9/0"))
    resp = down.test_client().post(url, json={})
    assert resp.status_code == 503 and "queue" in resp.get_json()["error"]
    down.extensions["depot"].db.dispose()
