"""Putting drift work on the queue (jobs named by dotted path: app/ never imports jobs/).

Both kinds run on the ``process`` queue, whose workers already reach the upstream
with the toolchain; a fixed job id per sweep and per module keeps each queued once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from app.config import Settings
from app.queue import enqueue_once

QUEUE = "process"
SWEEP_FUNCTION = "jobs.drift.sweep_job"
MODULE_FUNCTION = "jobs.drift.module_job"
SWEEP_JOB_ID = "drift-sweep"
PENDING = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


@dataclass(frozen=True)
class Queued:
    job_id: str
    already: bool  # the same work was waiting or running already


def module_job_id(module: str, version: str | None) -> str:
    digest = hashlib.sha256(f"{module}@{version or ''}".encode()).hexdigest()[:32]
    return f"drift-check-{digest}"


def is_pending(connection: Redis, job_id: str) -> bool:
    try:
        return Job.fetch(job_id, connection=connection).get_status() in PENDING
    except NoSuchJobError:
        return False


def _enqueue(settings: Settings, connection: Redis, job_id: str, function: str,
             args: tuple[str, ...], checks: int, description: str) -> Queued:
    """Once, as the pipeline's stages are (app.queue.enqueue_once): two asks at the same
    moment queue one job, where a look then an enqueue queued two."""
    queued = enqueue_once(
        Queue(QUEUE, connection=connection), function, args, job_id, result_ttl=0,
        failure_ttl=86400,
        # Each check may take as long as one fetch.
        job_timeout=max(600, settings.fetch_timeout * (checks + 1)),
        description=description[:200],
    )
    return Queued(job_id, not queued)


def enqueue_sweep(settings: Settings, connection: Redis) -> Queued:
    return _enqueue(settings, connection, SWEEP_JOB_ID, SWEEP_FUNCTION, (),
                    settings.drift_sample, f"drift sweep of {settings.drift_sample} versions")


def enqueue_module_check(settings: Settings, connection: Redis, module: str,
                         version: str | None, trigger: str) -> Queued:
    jid = module_job_id(module, version)
    target = f"{module}@{version}" if version else module
    return _enqueue(settings, connection, jid, MODULE_FUNCTION,
                    (module, version or "", trigger), max(1, settings.drift_sample),
                    f"drift check of {target}")
