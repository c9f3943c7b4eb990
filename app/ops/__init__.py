"""Operations routes: what a load balancer, Kubernetes and Prometheus ask.

/ping is the readiness probe (GoCenter's): it answers while the process can
serve, even with Redis or the search node away, because the GOPROXY still works
then. /healthz is liveness. /readyz reports every dependency and says 503 when
one is down, naming it. /info tells what is running. /metrics is for Prometheus.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST
from redis import Redis

from app.metrics import render, tally, web_metrics
from app.ops.collectors import DependencyCollector, StoreCollector
from app.ops.info import describe
from app.ops.readiness import TIMEOUT, check_all
from app.wiring import depot

bp = Blueprint("ops", __name__)


def _no_cache(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/ping")
def ping() -> Response:
    return _no_cache(jsonify(status="pong"))


@bp.get("/healthz")
def healthz() -> Response:
    return _no_cache(jsonify(status="ok"))


@bp.get("/readyz")
def readyz() -> Response:
    checks = check_all(depot())
    failed = [c.name for c in checks if not c.ok]
    body = {
        "status": "ready" if not failed else "not ready",
        "failed": failed,
        "checks": {c.name: {"ok": c.ok, "detail": c.detail, "seconds": c.seconds}
                   for c in checks},
    }
    if failed:
        body["reason"] = f"unavailable: {', '.join(failed)}"
    resp = jsonify(body)
    resp.status_code = 503 if failed else 200
    return _no_cache(resp)


@bp.get("/info")
def info() -> Response:
    return _no_cache(jsonify(describe(depot().settings)))


@bp.get("/metrics")
def metrics() -> Response:
    services = depot()
    tally.settle()
    connection = Redis.from_url(services.settings.queue_url, socket_timeout=TIMEOUT,
                                socket_connect_timeout=TIMEOUT)
    try:
        pipeline = render(connection, StoreCollector(services), DependencyCollector(services))
    finally:
        connection.close()
    return _no_cache(Response(web_metrics(services.settings.metrics_dir) + pipeline,
                              content_type=CONTENT_TYPE_LATEST))
