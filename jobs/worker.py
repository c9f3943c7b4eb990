"""RQ workers for the pipeline: `flask --app app worker` runs :func:`run_worker`.

Workers heartbeat every few seconds with a short time-to-live, so a worker
killed with its job (kill -9, a lost node) is noticed within half a minute and
the job, which is idempotent, runs again elsewhere.
"""

from __future__ import annotations

import logging

from redis import Redis
from rq import Queue, Worker
from rq.job import Job

from jobs.pipeline import worker_services

HEARTBEAT = 5  # seconds between a busy worker's heartbeats
HEARTBEAT_GRACE = 10  # a job whose heartbeat is this late is taken as abandoned
MAINTENANCE = 15  # seconds between registry clean-ups (which requeue abandoned jobs)


class DepotWorker(Worker):
    """RQ's worker with a short heartbeat lease (RQ's default grace is 60 s)."""

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        if job.timeout and job.timeout > 0:
            remaining = job.timeout - working_time
            return int(min(remaining, self.job_monitoring_interval)) + HEARTBEAT_GRACE
        return super().get_heartbeat_ttl(job, working_time)


def run_worker(connection: Redis, queues: list[str], burst: bool = False) -> bool:
    worker_services()  # built once here; forked jobs inherit it
    worker = DepotWorker(
        [Queue(name, connection=connection) for name in queues],
        connection=connection,
        job_monitoring_interval=HEARTBEAT,
        maintenance_interval=MAINTENANCE,
    )
    return worker.work(burst=burst, with_scheduler=True, logging_level=logging.INFO)
