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
