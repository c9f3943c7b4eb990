"""The stage table (app/stages.py) is what the queue routes by."""

from __future__ import annotations

from redis import Redis

from app.config import Settings
from app.pipeline.inline import InlineDispatcher
from app.pipeline.stages import Pipeline
from app.queue import RQDispatcher, _retry
from app.resources import Services
from app.stages import CRAWL, LANED, MEMBERS, QUEUES, STAGES, VERSIONED
from jobs.pipeline import JOBS, QUEUED_METHODS


def test_every_stage_runs_on_a_queue_workers_listen_on() -> None:
    assert {stage.queue for stage in STAGES.values()} <= set(QUEUES)
    assert VERSIONED <= LANED == {"process", "complete", "validate"}


def test_the_dispatcher_routes_each_stage_by_the_table(settings: Settings) -> None:
    connection = Redis.from_url("redis://127.0.0.1:1")  # never reached: no job is sent
    urgent = RQDispatcher(settings, connection)
    bulk, members = urgent.in_lane(True), urgent.for_members()
    for name, stage in STAGES.items():
        assert urgent._queue_of(name).name == stage.queue
        expected_bulk = CRAWL if stage.laned else stage.queue
        assert bulk._queue_of(name).name == expected_bulk
        if name == "process":
            assert members._queue_of(name).name == MEMBERS
        retry = _retry(name)
        assert (retry.max, list(retry.intervals)) == (len(stage.retry), list(stage.retry))


def test_a_worker_and_the_in_process_loop_run_every_stage_of_the_table(
    services: Services,
) -> None:
    """A stage added to the table and not to what runs it fails here, not in a worker."""
    assert set(JOBS) == set(STAGES)
    inline = InlineDispatcher(services)
    assert set(inline.at_once) | set(Pipeline.METHODS) == set(STAGES)
    assert not set(inline.at_once) & set(Pipeline.METHODS)
    for methods in (Pipeline.METHODS, QUEUED_METHODS):
        assert set(methods) <= set(STAGES)
        assert all(callable(getattr(Pipeline, method)) for method in methods.values())
