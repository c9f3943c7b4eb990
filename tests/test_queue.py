"""The RQ dispatcher against a real Redis: work is queued once, and withdrawn work
(done by another job's batch) leaves nothing behind and can be queued again."""

from __future__ import annotations

from redis import Redis
from rq import Queue

from app.config import Settings
from app.queue import RQDispatcher, job_id
from tests.conftest import with_settings


def test_withdraw_drops_only_a_job_no_worker_took(settings: Settings, redis_url: str):
    connection = Redis.from_url(redis_url)
    dispatcher = RQDispatcher(with_settings(settings, redis_url=redis_url), connection)
    queue = Queue("validate", connection=connection)
    dispatcher.enqueue("validate", "depot.test/a", "v1.0.0")
    dispatcher.enqueue("validate", "depot.test/b", "v1.0.0")
    dispatcher.enqueue("validate", "depot.test/b", "v1.0.0")  # once while queued
    assert queue.count == 2

    dispatcher.withdraw("validate", "depot.test/b", "v1.0.0")
    dispatcher.withdraw("validate", "depot.test/c", "v1.0.0")  # nothing queued: no-op

    assert queue.job_ids == [job_id("validate", ("depot.test/a", "v1.0.0"))]
    assert not connection.exists(f"rq:job:{job_id('validate', ('depot.test/b', 'v1.0.0'))}")
    dispatcher.enqueue("validate", "depot.test/b", "v1.0.0")  # may be queued again later
    assert queue.count == 2


def test_a_job_lost_by_the_queue_is_noticed_and_can_be_queued_again(
    settings: Settings, redis_url: str
):
    """A worker killed between taking a job and marking it started leaves a job record
    that says "queued" in no queue: has_job says it is gone, and the work queues again."""
    connection = Redis.from_url(redis_url)
    dispatcher = RQDispatcher(with_settings(settings, redis_url=redis_url), connection)
    queue = Queue("process", connection=connection)
    assert not dispatcher.has_job("process", "depot.test/a", "v1.0.0")
    dispatcher.enqueue("process", "depot.test/a", "v1.0.0")
    assert dispatcher.has_job("process", "depot.test/a", "v1.0.0")
    jid = job_id("process", ("depot.test/a", "v1.0.0"))
    connection.lrem(queue.key, 1, jid)  # taken by a worker that died at once
    dispatcher.enqueue("process", "depot.test/a", "v1.0.0")
    assert queue.count == 0  # its record still claims the id
    assert not dispatcher.has_job("process", "depot.test/a", "v1.0.0")
    dispatcher.enqueue("process", "depot.test/a", "v1.0.0")
    assert queue.job_ids == [jid]


def _fails(message: str) -> None:
    from rq import get_current_job

    from app.queue import LAST_ERROR

    job = get_current_job()
    assert job is not None
    job.meta[LAST_ERROR] = f"RuntimeError: {message}"  # as jobs/pipeline.run_stage does
    job.save_meta()
    raise RuntimeError(message)


def test_trouble_says_why_the_last_attempt_failed(settings: Settings, redis_url: str):
    """While a job waits for its retry, and once it has none left, its error's line."""
    from rq import Retry, SimpleWorker

    connection = Redis.from_url(redis_url)
    dispatcher = RQDispatcher(with_settings(settings, redis_url=redis_url), connection)
    assert dispatcher.trouble("docs", "depot.test/a", "v1.0.0") is None  # no job at all
    queue = Queue("index", connection=connection)
    jid = job_id("docs", ("depot.test/a", "v1.0.0"))
    queue.enqueue(_fails, "the store is away", job_id=jid, retry=Retry(max=1, interval=600))
    assert dispatcher.trouble("docs", "depot.test/a", "v1.0.0") is None  # queued, not failed
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert dispatcher.trouble("docs", "depot.test/a", "v1.0.0") == (
        "RuntimeError: the store is away")
    assert dispatcher.has_job("docs", "depot.test/a", "v1.0.0")  # its retry is due later

    # No retry left, and nothing in meta: RQ's own record of the failure says it.
    last = job_id("docs", ("depot.test/c", "v1.0.0"))
    queue.enqueue("builtins.int", "not a number", job_id=last)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert dispatcher.trouble("docs", "depot.test/c", "v1.0.0") == (
        "ValueError: invalid literal for int() with base 10: 'not a number'")

    other = job_id("docs", ("depot.test/b", "v1.0.0"))
    queue.enqueue("builtins.int", "7", job_id=other)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert dispatcher.trouble("docs", "depot.test/b", "v1.0.0") is None  # it succeeded
