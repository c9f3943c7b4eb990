"""Two Depot web processes that behave like two pods of one Depot, and its upstream.

On SQLite the two share one data dir (one host, one database file); on
PostgreSQL each has a data dir of its own, as pods on emptyDir volumes do,
and only the database and the artifact store are shared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.config import Settings
from app.migrate import upgrade
from app.resources import Services
from tests.conftest import LiveServer, start_server
from tests.fixtures.counting_upstream import CountingUpstream
from tests.fixtures.upstream import build_standard_upstream


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def counting_upstream(tmp_path: Path) -> Iterator[CountingUpstream]:
    """A private copy of the standard fixture upstream over HTTP, counted and breakable."""
    tree = build_standard_upstream(tmp_path / "upstream-tree")
    with CountingUpstream(tree.root) as up:
        yield up


def pod_settings(settings: Settings, tmp_path: Path, db_backend: str, n: int) -> Settings:
    """Pod ``n``'s settings: its own data dir unless the database is a SQLite file."""
    if db_backend == "sqlite":
        return settings
    return replace(settings, data_dir=tmp_path / f"pod{n}-data")


def start_pods(settings: Settings, tmp_path: Path, db_backend: str,
               count: int = 2) -> list[LiveServer]:
    """Migrate once, then start ``count`` gunicorn masters (2 workers each)."""
    upgrade(Services.from_settings(settings).db.engine)
    pods: list[LiveServer] = []
    try:
        for n in range(count):
            own = pod_settings(settings, tmp_path, db_backend, n)
            own.data_dir.mkdir(parents=True, exist_ok=True)
            log_dir = tmp_path / f"pod{n}-logs"
            log_dir.mkdir(exist_ok=True)
            pods.append(start_server(own, log_dir, workers=2))
    except BaseException:
        for pod in pods:
            pod.stop()
        raise
    return pods
