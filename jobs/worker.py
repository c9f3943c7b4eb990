"""RQ workers for the pipeline: `flask --app app worker` runs :func:`run_worker`.

Workers heartbeat every few seconds with a short time-to-live, so a worker
killed with its job (kill -9, a lost node) is noticed within half a minute and
the job, which is idempotent, runs again elsewhere.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import threading
from datetime import timedelta
from types import FrameType
from typing import Any

from redis import Redis
from rq import Queue, Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.executions import Execution
from rq.job import Job
from rq.scheduler import RQScheduler
from rq.scheduler import run as run_scheduler

from app import audit
from app.drift.queueing import enqueue_sweep
from app.drift.sweep import claim_sweep
from app.fetch import handoff
from app.fetch.ahead import sweep_memory_loads
from app.lifecycle import PR_SET_PDEATHSIG
from app.logs import let_through
from app.pipeline.gocache import CHECK_EVERY, trim
from app.pipeline.lists import sync_recent_lists
from app.pipeline.requests import redrive_stalled
from app.queue import RQDispatcher, forget_executions
from jobs.pipeline import worker_services

HEARTBEAT = 5  # seconds between a busy worker's heartbeats
HEARTBEAT_GRACE = 10  # a job whose heartbeat is this late is taken as abandoned
MAINTENANCE = 15  # seconds between registry clean-ups (which requeue abandoned jobs)
# An idle worker waits for a job this long minus 15 s before it looks up again (RQ's
# default, 420, left idle workers doing no maintenance for 7 minutes: a job abandoned by
# a killed worker waited that long to be requeued when the others had nothing to do).
WORKER_TTL = MAINTENANCE + 15
# A request this old whose work has no job was left behind by a killed process.
STALLED_AFTER = timedelta(seconds=60)
REDRIVE_LOCK = "depot:redrive-lock"
GOCACHE_LOCK = "depot:gocache-check"
AUDIT_PRUNE_LOCK = "depot:audit-prune"
AUDIT_PRUNE_EVERY = 3600

log = logging.getLogger("depot.worker")
# A warm shutdown raised by the SIGTERM handler while a line is written reaches RQ's loop.
let_through(StopRequested)


def redrive(connection: Redis) -> int:
    """Queue the work of stalled requests again (see app.pipeline.requests)."""
    services = worker_services()
    queued = redrive_stalled(services, RQDispatcher(services.settings, connection),
                             STALLED_AFTER)
    if queued:
        log.warning("queued the work of %d stalled request(s) again", queued)
    return queued


def sync_lists(connection: Redis) -> list[str]:
    """Rewrite @v/list files a killed publication left behind (app.pipeline.lists)."""
    return sync_recent_lists(worker_services(), connection)


def schedule_drift_sweep(connection: Redis) -> bool:
    """Queue the upstream drift sweep when its interval has run out (one worker of all
    wins the claim: app.drift.sweep.claim_sweep)."""
    settings = worker_services().settings
    if not claim_sweep(connection, settings.drift_interval):
        return False
    queued = enqueue_sweep(settings, connection)
    log.info("drift sweep %s", "already queued" if queued.already else "queued")
    return True


def prune_audit(connection: Redis) -> int:
    """Delete audit events older than DEPOT_AUDIT_RETENTION_DAYS; one worker of all, once
    an hour (app/audit.py)."""
    if not connection.set(AUDIT_PRUNE_LOCK, "1", nx=True, ex=AUDIT_PRUNE_EVERY):
        return 0
    services = worker_services()
    gone = audit.prune(services.db, services.settings.audit_retention_days)
    if gone:
        log.info("deleted %d audit event(s) older than %d days", gone,
                 services.settings.audit_retention_days)
    return gone


def trim_build_cache(connection: Redis) -> bool:
    """Empty the validator's build cache when it is over DEPOT_GOCACHE_MAX; one worker of
    all looks, every CHECK_EVERY seconds (app/pipeline/gocache.py)."""
    if not connection.set(GOCACHE_LOCK, "1", nx=True, ex=CHECK_EVERY):
        return False
    return trim(worker_services().settings) is not None


class _SchedulerThread:
    """What RQ's worker expects of its scheduler's process, for a thread: alive, joined;
    no pid (RQ signals a pid to stop it; this one is asked through ``request_stop``)."""

    pid = None

    def __init__(self, thread: threading.Thread) -> None:
        self.thread = thread

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)


class ThreadScheduler(RQScheduler):
    """RQ's scheduler (it moves jobs due for a retry back onto their queues) in a thread
    of the worker, not in a process RQ forks for it. Why: the forked copy held 15 MB of
    its own and a share of the worker's pages (47 MB PSS) to wake once a second and
    ask Redis for due jobs (docs/bench.md)."""

    def start(self) -> _SchedulerThread:
        self._status = self.Status.STARTED
        thread = threading.Thread(target=run_scheduler, args=(self,), name="rq-scheduler",
                                  daemon=True)
        self._process = _SchedulerThread(thread)  # type: ignore[assignment]
        thread.start()
        return self._process  # type: ignore[return-value]

    def _install_signal_handlers(self) -> None:
        """The worker's own handlers stay; it stops this one (DepotWorker.stop_scheduler)."""


def _end_horse_group(_signum: int, _frame: FrameType | None) -> None:
    """In a work horse: its worker is gone; kill the horse's group, itself included (the
    group is the horse's own: RQ's fork calls setpgrp; else only the horse ends)."""
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(1)


class DepotWorker(Worker):
    """RQ's worker with a short heartbeat lease (RQ's default grace is 60 s), whose
    maintenance also queues again the work of requests a killed process left behind
    and rewrites the @v/list files a killed publication left stale."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started_by = os.getppid()

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """A warm shutdown (the job finishes) unless the process that started this worker
        is gone: a killed ``serve`` took the embedded Redis with it and signalled its
        children (app/lifecycle.dies_with), so the job could neither be finished nor
        recorded. A trial saw the job run on for 5-10 s and a dozen Redis tracebacks;
        cold, its horse is killed and the job runs again once Depot is back."""
        if os.getppid() == self.started_by:
            job_id = self.get_current_job_id() if self.horse_pid else None
            super().request_stop(signum, frame)  # a second signal raises: cold
            if job_id:  # else the log fell silent while a long job finished
                log.warning("worker %s: stopping once job %s ends (a second Ctrl-C or "
                            "SIGTERM stops it now; the job then runs again later)",
                            self.name, job_id)
            return
        log.warning("worker %s: the process that started it is gone; cold shut down",
                    self.name)
        if self.horse_pid:
            self.kill_horse()
            self.wait_for_horse()
        raise SystemExit()

    def setup_work_horse_signals(self) -> None:
        """RQ's (the horse ignores Ctrl-C), and the horse and what it started (the go
        command) end when this worker dies: a ``kill -9`` of the worker left its horse
        running on, re-parented to init, and the job ran twice at once when the
        worker's successor picked it up (trial of 2026-12-07: an InvalidJobOperation
        traceback, a request that said "processing" to the end). The horse leads its
        own process group (RQ's fork), so one signal ends the group."""
        super().setup_work_horse_signals()
        worker = os.getppid()
        signal.signal(signal.SIGTERM, _end_horse_group)
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # not Linux: the worker's clean-up only
            return
        if os.getppid() != worker:  # the worker died before the line above
            _end_horse_group(signal.SIGTERM, None)

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
                         log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        """RQ's, with the scheduler in a thread (:class:`ThreadScheduler`); in burst mode
        RQ's own, which enqueues what is due once and starts nothing."""
        if burst:
            super()._start_scheduler(burst, logging_level, date_format, log_format)
            return
        self.scheduler = ThreadScheduler(
            self.queues, connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format, log_format=log_format, serializer=self.serializer)
        # Started once it holds a queue's lock; else the maintenance asks again.
        self.scheduler.acquire_locks(auto_start=True)

    def stop_scheduler(self) -> None:
        """Ask the scheduler's thread to stop (it releases its locks in Redis) and wait
        for it, unless the process that started this worker is gone: its Redis went with
        it, and the release could only fail, with three chained Redis tracebacks in the
        log at every kill of ``serve`` (trials of 2026-12-04/05). The thread then ends
        with the process and its locks lapse on their own."""
        scheduler = self.scheduler
        if scheduler is None or os.getppid() != self.started_by:
            return
        scheduler.request_stop()
        running = scheduler._process
        if running is not None:
            running.join(scheduler.interval + 10)

    def teardown(self) -> None:
        """RQ's teardown (stop the scheduler, record this worker's death in Redis),
        except the record when the process that started this worker is gone: its Redis
        went with it, and a kill of ``serve`` mid-job left one chained Redis traceback in
        the log from the attempt (trial of 2026-12-05). The worker's keys lapse on their
        own (RQ's heartbeat expiry)."""
        if os.getppid() == self.started_by:
            super().teardown()
            return
        if not self.is_horse and self.scheduler:
            self.stop_scheduler()

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        # One worker of all does it per round (the lock lapses before the next round).
        if self.connection.set(REDRIVE_LOCK, self.name, nx=True, ex=MAINTENANCE - 1):
            try:
                redrive(self.connection)
            except Exception:  # maintenance must never stop the worker
                log.exception("re-queueing stalled requests failed")
            try:
                sync_lists(self.connection)
            except Exception:
                log.exception("syncing @v/list files failed")
            try:
                schedule_drift_sweep(self.connection)
            except Exception:
                log.exception("scheduling the drift sweep failed")
            try:
                trim_build_cache(self.connection)
            except Exception:
                log.exception("trimming the build cache failed")
            try:
                prune_audit(self.connection)
            except Exception:
                log.exception("pruning the audit trail failed")
            try:
                handoff.sweep(worker_services().settings)
            except Exception:
                log.exception("sweeping the handoff folder failed")
            try:
                sweep_memory_loads()
            except Exception:
                log.exception("sweeping the graph loads in memory failed")

    def prepare_execution(self, job: Job) -> Execution:
        forget_executions(job)  # of earlier runs, all ended: see app.queue
        return super().prepare_execution(job)

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
        worker_ttl=WORKER_TTL,
    )
    # RQ forks a work-horse for every job: with what is loaded so far kept out of the
    # garbage collector's reach, they share those pages with this process rather than
    # copying them as the collector walks them (docs/bench.md).
    gc.freeze()
    return worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
