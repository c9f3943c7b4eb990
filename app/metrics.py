"""Metrics for Prometheus.

Two kinds. Pipeline metrics are kept in Redis, so every worker on every host
counts into the same place and any web process can report them: queue depths are
read live at scrape time, job counts and durations are incremented by the jobs
themselves (:func:`record_job`). Web metrics (requests, GOPROXY hits and bytes)
live in the web process; under gunicorn each worker writes them to files in
``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py sets it) and a scrape of any
worker adds them all up.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry

from app.periodic import Periodic
from app.queue import QUEUES

JOBS_KEY = "depot:metrics:jobs"
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
HTTP_REQUESTS = Counter("depot_http_requests", "HTTP requests answered, by route group",
                        ["group", "method", "status"])
HTTP_DURATION = Histogram("depot_http_request_duration_seconds",
                          "Time to answer an HTTP request, by route group", ["group"],
                          buckets=HTTP_BUCKETS)
GOPROXY_REQUESTS = Counter("depot_goproxy_requests",
                           "GOPROXY requests by file kind; hit: Depot had it, miss: it did not",
                           ["kind", "result"])
GOPROXY_BYTES = Counter("depot_goproxy_bytes", "Bytes of GOPROXY files served, by kind",
                        ["kind"])
# Job durations span a notify (milliseconds) to a validation build (minutes).
BUCKETS = (0.05, 0.25, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0, 600.0)


def record_job(connection: Redis, stage: str, seconds: float, ok: bool) -> None:
    """Count one finished job (never raises: metrics must not fail the pipeline)."""
    outcome = "ok" if ok else "failed"
    try:
        pipe = connection.pipeline(transaction=False)
        pipe.hincrby(JOBS_KEY, f"{stage}|count|{outcome}", 1)
        pipe.hincrbyfloat(JOBS_KEY, f"{stage}|sum", seconds)
        for le in BUCKETS:
            if seconds <= le:
                pipe.hincrby(JOBS_KEY, f"{stage}|bucket|{le}", 1)
        pipe.execute()
    except RedisError:
        pass


def _text(value: bytes | str) -> str:
    """A Redis reply as text (bytes unless the connection decodes its replies)."""
    return value.decode() if isinstance(value, bytes) else value


class PipelineCollector:
    """Reads queue depths and job statistics from Redis at every scrape."""

    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("depot_queue_up", "1 when the job queue (Redis) answers")
        try:
            depth, running, failed = self._queues()
            stats = {_text(k): _text(v) for k, v in self.connection.hgetall(JOBS_KEY).items()}
        except RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield depth
        yield running
        yield failed
        yield from self._jobs(stats)

    def _queues(self) -> tuple[Metric, Metric, Metric]:
        depth = GaugeMetricFamily("depot_queue_depth", "Jobs waiting per queue", labels=["queue"])
        running = GaugeMetricFamily("depot_queue_running", "Jobs running per queue",
                                    labels=["queue"])
        failed = GaugeMetricFamily("depot_queue_failed", "Failed jobs kept per queue",
                                   labels=["queue"])
        for name in QUEUES:
            queue = Queue(name, connection=self.connection)
            depth.add_metric([name], queue.count)
            running.add_metric([name], StartedJobRegistry(name, connection=self.connection).count)
            failed.add_metric([name], FailedJobRegistry(name, connection=self.connection).count)
        return depth, running, failed

    def _jobs(self, stats: dict[str, str]) -> Iterator[Metric]:
        total = CounterMetricFamily("depot_jobs", "Finished pipeline jobs",
                                    labels=["stage", "outcome"])
        duration = HistogramMetricFamily("depot_job_duration_seconds",
                                         "Time a pipeline job took", labels=["stage"])
        stages = sorted({key.split("|", 1)[0] for key in stats})
        for stage in stages:
            count = 0
            for outcome in ("ok", "failed"):
                n = int(stats.get(f"{stage}|count|{outcome}", 0))
                total.add_metric([stage, outcome], n)
                count += n
            buckets = [(str(le), int(stats.get(f"{stage}|bucket|{le}", 0))) for le in BUCKETS]
            buckets.append(("+Inf", count))
            duration.add_metric([stage], buckets, float(stats.get(f"{stage}|sum", 0.0)))
        yield total
        yield duration


@lru_cache(maxsize=4096)
def labelled(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once: prometheus_client takes a lock and
    checks every label on each call, a few microseconds of every request. The labels
    Depot uses are few (route groups, methods, statuses, file kinds)."""
    return metric.labels(*labels)


class Tally:
    """Web metric increments added up in this process and written to prometheus_client
    in batches once :func:`batch_web_metrics` has started them, at once until then.

    Why: each increment of a multiprocess metric takes a lock, checks the pid and writes
    an mmap; a GOPROXY hit made five of them, 8 us of its time in Python under load
    (docs/bench.md). A count waits at most ``interval`` seconds; a scrape of /metrics
    writes its own process's at once and waits one interval for the other workers'."""

    def __init__(self, interval: float = 0.1) -> None:
        self._counts: dict[Any, float] = {}  # counter child -> amount
        self._observed: dict[Any, list[float]] = {}  # histogram child -> [sum, per bucket]
        self._guard = threading.Lock()
        self.every = Periodic(self.flush, "metric-batches", interval)

    def inc(self, child: Any, amount: float = 1) -> None:
        """``child.inc(amount)``, in the next batch."""
        if not self.every.on:
            child.inc(amount)
            return
        with self._guard:
            self._counts[child] = self._counts.get(child, 0) + amount

    def observe(self, child: Any, value: float) -> None:
        """``child.observe(value)`` (a histogram's), in the next batch."""
        if not self.every.on:
            child.observe(value)
            return
        bounds = child._upper_bounds
        with self._guard:
            row = self._observed.get(child)
            if row is None:
                row = self._observed[child] = [0.0] * (len(bounds) + 1)
            row[0] += value
            row[1 + bisect_left(bounds, value)] += 1  # the first bucket with value <= le

    def flush(self) -> None:
        """Write what was added up (prometheus_client's own Histogram.observe, per
        bucket: its sum and the one bucket each value falls in)."""
        with self._guard:
            counts, self._counts = self._counts, {}
            observed, self._observed = self._observed, {}
        for child, amount in counts.items():
            child.inc(amount)
        for child, row in observed.items():
            child._sum.inc(row[0])
            for bucket, n in zip(child._buckets, row[1:], strict=True):
                if n:
                    bucket.inc(n)

    def settle(self) -> None:
        """Before a scrape: this process's counts written, the other processes' given
        time to write theirs."""
        if self.every.on:
            self.flush()
            time.sleep(self.every.interval * 1.5)

    def forked(self) -> None:
        """In a forked child: the parent's counts are the parent's to write."""
        self.every.forked()
        self._counts, self._observed = {}, {}
        self._guard = threading.Lock()


tally = Tally()
os.register_at_fork(after_in_child=tally.forked)


def batch_web_metrics() -> None:
    """Have :data:`tally` write this process's web metrics in batches from now on."""
    tally.every.start()


def count_goproxy(kind: str, hit: bool, size: int = 0) -> None:
    """One GOPROXY answer: a hit serves ``size`` bytes (0 for HEAD), a miss none."""
    tally.inc(labelled(GOPROXY_REQUESTS, kind, "hit" if hit else "miss"))
    if size:
        tally.inc(labelled(GOPROXY_BYTES, kind), size)


def web_metrics(folder: str) -> bytes:
    """This process's web metrics, or every gunicorn worker's when they share ``folder``
    (PROMETHEUS_MULTIPROC_DIR, empty when they don't)."""
    if not folder:
        return generate_latest(REGISTRY)
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, folder)
    return generate_latest(registry)


def render(connection: Redis, *collectors: Collector) -> bytes:
    """The pipeline's metrics (from Redis) and any other collectors, as one text page."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(connection))
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)
