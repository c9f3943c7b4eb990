"""Web metrics added up in memory (app/metrics.Tally) read exactly as counted one by one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from app.metrics import Tally

BUCKETS = (0.005, 0.01, 0.1, 1.0)
VALUES = (0.0, 0.004, 0.005, 0.0051, 0.01, 0.5, 1.0, 7.0, 0.002, 0.09)


def _metrics() -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    counter = Counter("t_requests", "requests", ["group"], registry=registry)
    histogram = Histogram("t_seconds", "time", ["group"], buckets=BUCKETS, registry=registry)
    return registry, counter, histogram


def _text(registry: CollectorRegistry) -> str:
    return "\n".join(line for line in generate_latest(registry).decode().splitlines()
                     if "_created" not in line)


def _count(tally: Tally, counter: Counter, histogram: Histogram) -> None:
    for n, value in enumerate(VALUES):
        group = "a" if n % 3 else "b"
        tally.inc(counter.labels(group))
        tally.inc(counter.labels(group), 2.5)
        tally.observe(histogram.labels(group), value)


def test_batched_counts_read_as_counts_made_one_by_one() -> None:
    at_once = _metrics()
    _count(Tally(), *at_once[1:])  # not started: every count written at once
    batched = _metrics()
    tally = Tally(interval=3600)
    tally.every.on = True  # batching, without the thread (flushed by hand below)
    _count(tally, *batched[1:])
    assert _text(batched[0]) != _text(at_once[0])  # nothing written yet
    tally.flush()
    assert _text(batched[0]) == _text(at_once[0])
    assert 't_seconds_bucket{group="a",le="0.005"} 3.0' in _text(at_once[0])  # 0.005 is in it


def test_a_started_tally_writes_within_its_interval_and_at_exit(tmp_path: Path) -> None:
    """Counted across processes as the web server's workers count (multiprocess mode):
    each process writes its last counts at exit (a granian worker leaves by os._exit
    after multiprocessing's finalizers), and a forked child never writes its parent's."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    script = textwrap.dedent("""
        import multiprocessing, os, sys, time
        from prometheus_client import Counter
        from app.metrics import tally, batch_web_metrics
        hits = Counter("t_hits", "hits")
        def child():
            batch_web_metrics()
            for _ in range(1000):
                tally.inc(hits)
        def exiting():
            batch_web_metrics()
            tally.inc(hits, 5)
            multiprocessing.util._exit_function()  # what a granian worker runs on its way out
            os._exit(0)
        if __name__ == "__main__":
            batch_web_metrics()
            tally.inc(hits, 1000)  # pending in the parent when it forks
            for target in (child, exiting):
                p = multiprocessing.get_context("fork").Process(target=target)
                p.start(); p.join()
                assert p.exitcode == 0, p.exitcode
        """)
    env = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=Path.cwd(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(folder))
    text = generate_latest(registry).decode()
    assert "t_hits_total 2005.0" in text  # 1,000 + 5 from the children, 1,000 the parent
