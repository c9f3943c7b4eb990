"""Metrics read at scrape time: the store's size and each dependency's state."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.models import Artifact
from app.ops.readiness import check_all
from app.resources import Services

STORE_EVERY = 60.0  # seconds a store size is reused: summing every file row costs a scan


class StoreCollector:
    """The store's size, from the database's record of every stored file."""

    _lock = threading.Lock()
    _cached: dict[str, tuple[float, int, int]] = {}  # by database URL

    def __init__(self, services: Services) -> None:
        self.services = services

    def _measure(self) -> tuple[int, int] | None:
        cls, url = type(self), self.services.settings.database_url
        with cls._lock:
            hit = cls._cached.get(url)
            if hit and time.monotonic() - hit[0] < STORE_EVERY:
                return hit[1], hit[2]
        try:
            with self.services.db.session() as session:
                count, size = session.execute(
                    select(func.count(Artifact.id), func.coalesce(func.sum(Artifact.size), 0))
                ).one()
        except SQLAlchemyError:
            return None
        with cls._lock:
            cls._cached[url] = (time.monotonic(), int(size), int(count))
        return int(size), int(count)

    def collect(self) -> Iterator[Metric]:
        measured = self._measure()
        if measured is None:
            return
        size, count = measured
        yield GaugeMetricFamily("depot_store_bytes", "Bytes of files in the artifact store",
                                value=size)
        yield GaugeMetricFamily("depot_store_objects", "Files in the artifact store",
                                value=count)


class DependencyCollector:
    """1 for each dependency that answers, 0 for each that does not (see /readyz)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("depot_dependency_up", "1 when the dependency answers",
                               labels=["dependency"])
        for check in check_all(self.services):
            up.add_metric([check.name], 1 if check.ok else 0)
        yield up
