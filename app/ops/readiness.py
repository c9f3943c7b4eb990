"""Can this instance do its whole job? Each dependency asked once, briefly.

/readyz and the ``depot_dependency_up`` metric share these checks. A check that
cannot answer within a few seconds counts as down: a readiness report that hangs
is worse than one that says "slow".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.resources import Services
from app.store import StoreError

TIMEOUT = 2.0  # seconds one dependency may take to answer


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


def _database(services: Services) -> str:
    with services.db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return services.db.engine.dialect.name


def _redis(services: Services) -> str:
    settings = services.settings
    client = Redis.from_url(settings.queue_url, socket_timeout=TIMEOUT,
                            socket_connect_timeout=TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()
    return "embedded" if settings.embedded_redis else "ok"


def _store(services: Services) -> str:
    return services.store.check()


def _search(services: Services) -> str:
    settings = services.settings
    if settings.search_kind != "elasticsearch":
        return f"{settings.search_kind} (in the database)"
    resp = requests.get(f"{settings.elasticsearch_url.rstrip('/')}/_cluster/health",
                        timeout=TIMEOUT)
    resp.raise_for_status()
    status = resp.json().get("status", "unknown")
    if status == "red":
        raise RuntimeError("cluster status red")
    return f"elasticsearch {status}"


CHECKS: dict[str, Callable[[Services], str]] = {
    "database": _database,
    "redis": _redis,
    "store": _store,
    "search": _search,
}
FAILURES = (SQLAlchemyError, RedisError, StoreError, requests.RequestException, OSError,
            RuntimeError, ValueError)


def _first_line(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0][:200]}" if message else type(exc).__name__


def check_all(services: Services) -> list[Check]:
    """Every dependency's state, in a fixed order."""
    results = []
    for name, probe in CHECKS.items():
        began = time.monotonic()
        try:
            detail, ok = probe(services), True
        except FAILURES as exc:
            detail, ok = _first_line(exc), False
        results.append(Check(name, ok, detail, round(time.monotonic() - began, 4)))
    return results
