"""The jobs that follow captured misses wait for the misses to pause (app/goproxy/behind.py)."""

from __future__ import annotations

import time

from redis.exceptions import ConnectionError as RedisConnectionError

from app.goproxy.behind import HeldBack
from app.logs import current_request_id, request_id_scope


class Queues:
    def __init__(self, fail: bool = False) -> None:
        self.jobs: list[tuple[str, ...]] = []
        self.ids: list[str] = []
        self.fail = fail

    def enqueue(self, stage: str, *args: str) -> None:
        if self.fail:
            raise RedisConnectionError("queue away")
        self.jobs.append((stage, *args))
        self.ids.append(current_request_id())


def until(check, within: float = 2.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return check()


def test_held_while_misses_keep_coming_then_queued_in_order() -> None:
    queues, held = Queues(), HeldBack(quiet=0.15, longest=5.0)
    held.hold(queues, "complete", ("depot.test/a", "v1.0.0"))
    for _ in range(4):  # a client's next misses, each before the pause runs out
        time.sleep(0.08)
        held.miss_started()
        assert queues.jobs == []
    held.hold(queues, "complete", ("depot.test/b", "v1.0.0"))
    assert until(lambda: len(queues.jobs) == 2)
    assert queues.jobs == [("complete", "depot.test/a", "v1.0.0"),
                           ("complete", "depot.test/b", "v1.0.0")]
    assert held.held() == 0


def test_never_held_longer_than_the_limit() -> None:
    queues, held = Queues(), HeldBack(quiet=0.2, longest=0.4)
    began = time.monotonic()
    held.hold(queues, "complete", ("depot.test/a", "v1.0.0"))
    while time.monotonic() - began < 1.0 and not queues.jobs:
        held.miss_started()  # a client that never pauses
        time.sleep(0.05)
    assert queues.jobs and time.monotonic() - began < 0.8


def test_release_queues_at_once_and_an_absent_queue_loses_only_its_jobs() -> None:
    away, here, held = Queues(fail=True), Queues(), HeldBack(quiet=30, longest=60)
    held.hold(away, "complete", ("depot.test/a", "v1.0.0"))
    held.hold(here, "complete", ("depot.test/b", "v1.0.0"))
    held.release()  # what a web worker's orderly exit does
    assert here.jobs == [("complete", "depot.test/b", "v1.0.0")] and held.held() == 0


def test_a_job_released_by_the_timer_names_the_request_that_caused_it() -> None:
    queues, held = Queues(), HeldBack(quiet=0.05, longest=1.0)
    for rid, module in (("miss-1", "depot.test/a"), ("miss-2", "depot.test/b")):
        with request_id_scope(rid):
            held.hold(queues, "complete", (module, "v1.0.0"))
    assert until(lambda: len(queues.jobs) == 2)
    assert queues.ids == ["miss-1", "miss-2"]  # the log lines and the audit trail link
