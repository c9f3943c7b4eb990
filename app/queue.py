"""Named RQ queues per pipeline stage, the dispatcher that fills them, and the
embedded Redis a laptop runs when no ``REDIS_URL`` is given.

Jobs are named by dotted path (``jobs.pipeline.run_stage``), so app/ never
imports jobs/. A job's id is derived from its stage and arguments: RQ refuses a
second job with the same id while the first exists, so the same work is queued
once however many times it is asked for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.results import Result

from app.config import Settings
from app.logs import current_request_id
from app.search.dirty import has_index, mark_dirty
from app.stages import (
    ASKED,
    CRAWL,
    LANED,
    MEMBERS,
    QUEUES,
    STAGES,
)

log = logging.getLogger("depot.queue")

# job.meta key: the error of a job's last failed attempt (jobs/pipeline.run_stage).
LAST_ERROR = "last_error"
BACKLOG_ALERT_EVERY = 600  # seconds between two backlog notifications for one queue


def forget_executions(job: Job) -> None:
    """Drop the records of a job's earlier runs (before it runs again, or is deleted).

    RQ 3.0 keeps a killed run's execution id in the job's execution registry for a
    minute after the execution record itself expired; a retried run then does its
    work and fails in RQ's clean-up ("Execution … not found in Redis"), so a finished
    job is counted failed and retried until its retries run out, and deleting the job
    fails the same way. A job runs once at a time (a retry starts only when the
    earlier run is over), so every execution recorded before it runs again has ended.
    """
    registry = job.execution_registry
    # Members only (no scores): bytes, or str on a connection that decodes responses.
    stale = [x.decode() if isinstance(x, bytes) else str(x)
             for x in job.connection.zrange(registry.key, 0, -1)]
    if not stale:
        return
    with job.connection.pipeline() as pipe:
        for execution_id in stale:
            pipe.delete(Execution(execution_id, job.id, job.connection).key)
        pipe.delete(registry.key)
        pipe.execute()
    log.warning("job %s: forgot %d execution(s) of an earlier run", job.id, len(stale))


def _retry(stage: str) -> Retry:
    pauses = list(STAGES[stage].retry)
    return Retry(max=len(pauses), interval=pauses)


def clear_finished(connection: Redis, jid: str) -> bool:
    """Remove an old job with this id if it is over, so the work can be queued again;
    False while it is waiting, running or due for a retry."""
    try:
        job = Job.fetch(jid, connection=connection)
    except NoSuchJobError:
        return True
    if job.get_status() in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED,
                            JobStatus.CANCELED):
        job.delete()
        return True
    return False


def enqueue_once(queue: Queue, function: str, args: tuple[str, ...], jid: str,
                 **options: Any) -> bool:
    """Queue ``function(*args)`` as job ``jid`` unless a job of that id is waiting, running
    or due for a retry; True when queued now. RQ's ``unique`` makes the check and the
    enqueue one step, so two callers at once queue it once; an old job of the id that is
    over is removed first."""
    for _attempt in range(2):
        try:
            queue.enqueue(function, *args, job_id=jid, unique=True, **options)
            return True
        except DuplicateJobError:
            if not clear_finished(queue.connection, jid):
                return False
    return False


def connect(settings: Settings) -> Redis:
    return Redis.from_url(settings.queue_url)


def job_id(stage: str, args: tuple[str, ...]) -> str:
    digest = hashlib.sha256("\0".join(args).encode()).hexdigest()[:40]
    return f"{stage}-{digest}"


class RQDispatcher:
    """Sends stage work to the RQ queue of its stage, once per (stage, arguments).

    Two lanes: ``urgent`` (what someone asked for, and small build lists) sends
    process, complete and validate work to the queues of those stages; ``bulk``
    (the crawl of a big build list, and what that crawl causes) sends it to
    ``crawl``, which workers take only when the others are empty. Between them,
    ``members`` (see for_members) fetches what a waiting request's big build list
    lacks. Urgent work that is waiting in a later queue already is moved forward.
    """

    def __init__(self, settings: Settings, connection: Redis, lane: str = "urgent") -> None:
        self.settings = settings
        self.connection = connection
        self.lane = lane

    def in_lane(self, bulk: bool) -> RQDispatcher:
        """This dispatcher, sending laned work to the bulk lane or the urgent one."""
        lane = "bulk" if bulk else "urgent"
        return self if lane == self.lane else RQDispatcher(self.settings, self.connection, lane)

    def for_members(self) -> RQDispatcher:
        """This dispatcher, sending ``process`` work to the ``members`` queue and other
        laned work to the crawl (a member's job stops once it is stored, whichever its
        queue: Pipeline.process_queued)."""
        return self if self.lane == MEMBERS else RQDispatcher(
            self.settings, self.connection, MEMBERS)

    def queue(self, name: str) -> Queue:
        return Queue(name, connection=self.connection)

    def _queue_of(self, stage: str) -> Queue:
        if self.lane == MEMBERS and stage == "process":
            return self.queue(MEMBERS)
        bulk = self.lane in ("bulk", MEMBERS) and stage in LANED
        return self.queue(CRAWL if bulk else STAGES[stage].queue)

    def enqueue(self, stage: str, *args: str) -> None:
        queue = self._queue_of(stage)
        options: dict = {
            "job_timeout": self.settings.job_timeout,
            "result_ttl": 0,  # the database holds the outcome; Redis keeps nothing
            "description": f"{stage} {' '.join(args)}"[:200],
        }
        rid = current_request_id()
        if rid:  # the job's log lines carry the id of the request that caused it
            options["meta"] = {"request_id": rid}
        if stage == "index":
            self._enqueue_index(queue, args, options)
            return
        if stage == "notify":
            if not (self.settings.notify_webhooks.strip()
                    or self.settings.private_webhooks.strip()):
                return  # nobody listens: no job
            queue.enqueue(STAGES[stage].job, stage, *args, job_id=f"notify-{uuid.uuid4().hex}",
                          retry=_retry(stage), **options)
            return
        jid = job_id(stage, args)
        if not enqueue_once(queue, STAGES[stage].job, (stage, *args), jid, retry=_retry(stage),
                            **options):
            if queue.name != CRAWL and stage in LANED:
                self._promote(jid, queue)
            return  # queued, running or scheduled already: it will happen
        if stage == "process":
            self._check_backlog(queue)

    def _promote(self, jid: str, queue: Queue) -> None:
        """Move a job waiting in a later queue (``crawl``, or ``members`` for a job now
        wanted in the urgent lane) to ``queue``: someone asks for it now."""
        later = [CRAWL] if queue.name == MEMBERS else [MEMBERS, CRAWL]
        self._move(jid, [self.queue(name) for name in later], queue)

    def _move(self, jid: str, sources: list[Queue], target: Queue) -> bool | None:
        """Move a waiting job from the first of ``sources`` that holds it to the end of
        ``target``: True when moved, False when a worker took it first, None when no
        source holds it. Pushed first, then taken out of its source, so it is never in
        no queue (has_job would take it for lost); when a worker popped it meanwhile,
        the new entry is taken back out (should a second worker get that too, the
        stage's claim makes its run a no-op)."""
        for source in sources:
            if self.connection.lpos(source.key, jid) is None:
                continue
            target.push_job_id(jid)
            if self.connection.lrem(source.key, 1, jid):
                # The worker that runs it reads its lane from here (jobs.pipeline.run_stage).
                self.connection.hset(Job.key_for(jid), "origin", target.name)
                return True
            self.connection.lrem(target.key, -1, jid)
            return False
        return None

    def hurry(self, stage: str, *args: str) -> bool:
        """Move this work's waiting job (from either lane) to the end of the ``asked``
        queue, which workers take before every other stage's; True if it waits there.

        Moved to the front of its own stage's queue only, it still waited for every job
        of the stages taken before it (a ``validate`` queue hundreds deep while big trees
        load); three corpus requests stayed ``queued`` for 11 to 28 minutes."""
        if stage not in LANED:
            return False
        jid = job_id(stage, args)
        asked = self.queue(ASKED)
        if self.connection.lpos(asked.key, jid) is not None:
            return True
        sources = [self.queue(name) for name in (STAGES[stage].queue, MEMBERS, CRAWL)]
        return bool(self._move(jid, sources, asked))

    def _enqueue_index(self, queue: Queue, paths: tuple[str, ...], options: dict) -> None:
        """Search documents to rewrite: into the dirty set, one job drains it (batched)."""
        if not has_index(self.settings):
            return  # the database search reads the catalogue itself
        if mark_dirty(self.connection, paths):
            queue.enqueue(STAGES["index"].job, "index", job_id=f"index-{uuid.uuid4().hex}",
                          retry=_retry("index"),
                          **{**options, "description": "index dirty search documents"})

    def _queues_of(self, stage: str) -> list[Queue]:
        """Every queue a job of this stage may wait in (either lane)."""
        names = [STAGES[stage].queue] + ([ASKED, MEMBERS, CRAWL] if stage in LANED else [])
        return [self.queue(name) for name in names]

    def withdraw(self, stage: str, *args: str) -> None:
        """Drop the queued job of this work if no worker has taken it (done elsewhere)."""
        jid = job_id(stage, args)
        for queue in self._queues_of(stage):
            # LREM is atomic: a count of 1 means no worker popped it, so it is ours to drop.
            if self.connection.lrem(queue.key, 1, jid):
                try:
                    Job.fetch(jid, connection=self.connection).delete()
                except NoSuchJobError:
                    pass
                return

    def has_job(self, stage: str, *args: str) -> bool:
        """True while this work's job is really waiting, running or due for a retry.

        A job whose status says so but which sits in none of the places RQ keeps such
        jobs is lost (a worker killed between taking it and marking it started: RQ's
        clean-up then drops it from the registry without a retry); its record is
        deleted here, so the work can be queued again.
        """
        jid = job_id(stage, args)
        try:
            job = Job.fetch(jid, connection=self.connection)
        except NoSuchJobError:
            return False
        status = job.get_status()
        queues = self._queues_of(stage)
        if status == JobStatus.QUEUED:
            alive = any(self.connection.lpos(q.key, jid) is not None
                        or self.connection.lpos(q.intermediate_queue.key, jid) is not None
                        for q in queues)
        elif status == JobStatus.STARTED:
            alive = any(jid in q.started_job_registry.get_job_ids(cleanup=False)
                        for q in queues)
        elif status == JobStatus.SCHEDULED:
            alive = any(self.connection.zscore(q.scheduled_job_registry.key, jid) is not None
                        for q in queues)
        elif status == JobStatus.DEFERRED:
            alive = True
        else:
            return False
        if not alive:
            log.warning("job %s was lost by the queue (status %s, in no queue or registry); "
                        "queueing its work again", jid, status)
            forget_executions(job)
            job.delete()
        return alive

    def trouble(self, stage: str, *args: str) -> str | None:
        """Why this work's last attempt failed, while it waits for a retry or has none
        left (the last line of its error); None when it has not failed.

        A page waiting for a job's result says so rather than "in progress" for the
        twenty minutes a job's retries may take."""
        try:
            job = Job.fetch(job_id(stage, args), connection=self.connection)
        except NoSuchJobError:
            return None
        if job.get_status() not in (JobStatus.SCHEDULED, JobStatus.FAILED):
            return None
        said = job.meta.get(LAST_ERROR)
        if said:
            return str(said)
        result = job.latest_result()  # a job that failed outside run_stage (killed, say)
        if result is None or result.type != Result.Type.FAILED or not result.exc_string:
            return None
        lines = [line.strip() for line in result.exc_string.splitlines() if line.strip()]
        return lines[-1][:300] if lines else None

    def _check_backlog(self, queue: Queue) -> None:
        threshold = self.settings.backlog_alert
        if threshold <= 0:
            return
        depth = queue.count
        key = f"depot:backlog-alerted:{queue.name}"
        if depth > threshold and self.connection.set(key, "1", nx=True, ex=BACKLOG_ALERT_EVERY):
            self.enqueue("notify", "queue_backlog",
                         json.dumps({"queue": queue.name, "depth": depth,
                                     "threshold": threshold}))


def depths(connection: Redis) -> dict[str, int]:
    """Jobs waiting per queue (what the chart scales workers on)."""
    return {name: Queue(name, connection=connection).count for name in QUEUES}


# -- failed jobs, for operators -----------------------------------------------------------


def failed_jobs(connection: Redis) -> list[dict[str, str]]:
    rows = []
    for name in QUEUES:
        registry = FailedJobRegistry(name, connection=connection)
        for job_id in registry.get_job_ids():
            try:
                job = Job.fetch(job_id, connection=connection)
            except Exception:  # expired between listing and fetching
                continue
            result = job.latest_result()
            error = (result.exc_string if result else "") or ""
            last = error.strip().splitlines()[-1] if error.strip() else ""
            rows.append({"id": job_id, "queue": name, "description": job.description or "",
                         "error": last})
    return rows


def retry_failed(connection: Redis, job_id: str | None) -> int:
    """Requeue one failed job, or all of them (job_id None); returns how many.

    The job is marked so that it may take over a version its failed run left in a
    working state (a worker killed on the last of RQ's retries).
    """
    count = 0
    for name in QUEUES:
        registry = FailedJobRegistry(name, connection=connection)
        for jid in registry.get_job_ids():
            if job_id is None or jid == job_id:
                try:
                    job = Job.fetch(jid, connection=connection)
                    job.meta["reclaim"] = True
                    job.save_meta()
                except NoSuchJobError:
                    pass
                registry.requeue(jid)
                count += 1
    return count
