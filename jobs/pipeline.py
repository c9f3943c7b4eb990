"""The RQ job of every pipeline stage: one thin function taking strings.

A worker process builds its services once; each job runs in a forked child,
which must not reuse the parent's database connections.
"""

from __future__ import annotations

import os
import time
from functools import lru_cache

from rq import get_current_job

from app.config import Settings
from app.metrics import record_job
from app.pipeline.notifications import deliver
from app.pipeline.stages import Pipeline
from app.queue import RETRY_INTERVALS, RQDispatcher, connect
from app.services import Services


@lru_cache(maxsize=1)
def worker_services() -> Services:
    """Settings, database and store of this worker, built once per process."""
    services = Services.from_settings(Settings.from_env())
    warm_up(services)
    # A forked job must open its own connections; the parent's stay the parent's.
    os.register_at_fork(after_in_child=lambda: services.db.engine.dispose(close=False))
    return services


def warm_up(services: Services) -> None:
    """Pay once, in the worker, what every forked job would otherwise pay again: the
    license classifier's tables, SQLAlchemy's first query, the toolchain's version."""
    from sqlalchemy import text

    from app.fetch.download import go_directive
    from app.licenses import classify

    classify("MIT License")
    with services.db.session() as session:
        session.execute(text("SELECT 1"))
    go_directive(services.settings, services.work_dir)


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


def run_stage(stage: str, *args: str) -> None:
    """Run one stage; follow-up work goes back to the queues. Counted for /metrics."""
    services = worker_services()
    connection = connect(services.settings)
    began, ok = time.monotonic(), False
    try:
        if stage == "notify":
            deliver(services, *args)
        else:
            dispatcher = RQDispatcher(services.settings, connection)
            Pipeline(services, dispatcher, reclaim=is_retry()).run(stage, *args)
        ok = True
    finally:
        record_job(connection, stage, time.monotonic() - began, ok)
