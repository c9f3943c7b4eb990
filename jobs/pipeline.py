"""The RQ job of every pipeline stage: one thin function taking strings.

A worker process builds its services once; each job runs in a forked child,
which must not reuse the parent's database connections.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from functools import lru_cache

from redis import Redis
from rq import get_current_job

from app.catalog.prepared import prepare_version
from app.config import Settings
from app.logs import request_id_scope
from app.metrics import record_job
from app.pipeline.notifications import deliver
from app.pipeline.stages import Pipeline
from app.pipeline.warm import warm_up
from app.pkgdoc.kept import prepare_docs
from app.queue import LAST_ERROR, RQDispatcher, connect
from app.resources import Services
from app.search.updates import drain
from app.stages import CRAWL, MEMBERS, RETRY_INTERVALS, VERSIONED

log = logging.getLogger("depot.jobs")


# The process whose database connections the pool holds (see worker_services).
_pool_owner = 0


def worker_services() -> Services:
    """Settings, database and store of this worker, built once per process.

    A forked job must open its own connections, the parent's staying the parent's: its
    first call here drops the inherited pool (without closing the parent's sockets).
    Not in an at-fork hook: a SIGTERM reaching a fresh work-horse during the hook (the
    worker being stopped) raised inside it, and Python wrote the exception into the
    JSON log stream."""
    global _pool_owner
    services = _built_services()
    if _pool_owner != os.getpid():
        if _pool_owner:  # a forked child: the pool's connections are its parent's
            services.db.engine.dispose(close=False)
        _pool_owner = os.getpid()
    return services


def forget_worker_services() -> None:
    """Build them anew on the next call (a test changes the environment between jobs)."""
    _built_services.cache_clear()


@lru_cache(maxsize=1)
def _built_services() -> Services:
    services = Services.from_settings(Settings.from_env())
    warm_up(services)
    return services


def is_retry() -> bool:
    """True when RQ runs this job again (its earlier run failed or its worker died).

    RQ starts a retry only once the earlier run is over (and an operator's
    `jobs retry` only touches failed jobs), so the earlier run's claim on the
    version may be taken over.
    """
    job = get_current_job()
    if job is None:
        return False
    if job.meta.get("reclaim"):  # put back by `flask --app app jobs retry`
        return True
    return bool(job.retries_left is not None and job.retry_intervals is not None
                and job.retries_left < len(RETRY_INTERVALS))


def is_last_attempt() -> bool:
    """True when RQ will not run this job again if it fails now (its retries are
    spent, or it has none)."""
    job = get_current_job()
    return job is None or not job.retries_left


def _deliver(services: Services, connection: Redis, stage: str, *args: str) -> None:
    deliver(services, *args)


def _index(services: Services, connection: Redis, stage: str, *args: str) -> None:
    drain(services, connection)


def _render(services: Services, connection: Redis, stage: str, *args: str) -> None:
    prepare_version(services.db, services.store, *args)


def _docs(services: Services, connection: Redis, stage: str, *args: str) -> None:
    prepare_docs(services.db, services.store, services.doc_tools, *args)


# A queued ``process`` job of a version nobody waits for stops once it is stored, which is
# all its dependents' validation needs; its own build list follows in the crawl.
QUEUED_METHODS = Pipeline.METHODS | {"process": "process_queued"}


def _pipeline_stage(services: Services, connection: Redis, stage: str, *args: str) -> None:
    job = get_current_job()
    # Work a crawl job causes stays in the crawl's lane (app.queue.RQDispatcher).
    origin = job.origin if job is not None else ""
    lane = "bulk" if origin in (CRAWL, MEMBERS) else "urgent"
    dispatcher = RQDispatcher(services.settings, connection, lane)
    reclaim = is_retry()
    if reclaim:  # counted by operators and the crash-consistency test
        log.warning("job retried: %s %s (an earlier run failed or its worker died)",
                    stage, " ".join(args))
    pipeline = Pipeline(services, dispatcher, reclaim=reclaim)
    try:
        getattr(pipeline, QUEUED_METHODS[stage])(*args)
    except Exception as exc:
        if stage in VERSIONED and is_last_attempt():
            pipeline.give_up(stage, args[0], args[1], exc)
        raise


# What runs each stage of the stage table (app/stages.py) in a worker.
JOBS: dict[str, Callable[..., None]] = {
    "notify": _deliver, "index": _index, "render": _render, "docs": _docs,
    **{stage: _pipeline_stage for stage in Pipeline.METHODS},
}


def run_stage(stage: str, *args: str) -> None:
    """Run one stage; follow-up work goes back to the queues. Counted for /metrics."""
    services = worker_services()
    connection = connect(services.settings)
    job = get_current_job()
    # The id of the request that caused the job holds for all it logs, enqueues and
    # audits, and no longer: a process that runs jobs itself (a test's, a burst worker's)
    # goes on to other work.
    with request_id_scope(str(job.meta.get("request_id", "")) if job is not None else ""):
        began, ok = time.monotonic(), False
        try:
            run = JOBS.get(stage)
            if run is None:
                raise ValueError(f"unknown stage {stage!r}")
            run(services, connection, stage, *args)
            ok = True
        except Exception as exc:
            if job is not None:  # RQ keeps no error while a retry waits: pages say why
                job.meta[LAST_ERROR] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                job.save_meta()
            raise
        finally:
            record_job(connection, stage, time.monotonic() - began, ok)
