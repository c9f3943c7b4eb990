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
