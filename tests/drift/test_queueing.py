"""Drift work is queued once, however many ask at the same moment (app/drift/queueing.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from redis import Redis
from rq import Queue

from app.config import Settings
from app.drift.queueing import QUEUE, Queued, enqueue_module_check, enqueue_sweep
from app.queue import connect


def ask_at_once(times: int, ask: Callable[[], Queued]) -> list[Queued]:
    start = threading.Barrier(times)
    answers: list[Queued] = []

    def one() -> None:
        start.wait()
        answers.append(ask())

    threads = [threading.Thread(target=one) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_checks_asked_at_once_queue_one_job(queued_settings: Settings) -> None:
    """Before, each caller looked for the job and then queued it: callers between the
    look and the enqueue each queued one more."""
    connection: Redis = connect(queued_settings)
    queue = Queue(QUEUE, connection=connection)
    queue.empty()
    answers = ask_at_once(8, lambda: enqueue_module_check(
        queued_settings, connect(queued_settings), "depot.test/a", "v1.0.0", "api"))
    assert sorted(a.already for a in answers) == [False] + [True] * 7
    assert len({a.job_id for a in answers}) == 1 and queue.count == 1

    sweeps = ask_at_once(4, lambda: enqueue_sweep(queued_settings, connect(queued_settings)))
    assert sorted(a.already for a in sweeps) == [False, True, True, True]
    assert queue.count == 2
    queue.empty()


def test_a_finished_check_is_queued_again(queued_settings: Settings) -> None:
    connection = connect(queued_settings)
    queue = Queue(QUEUE, connection=connection)
    queue.empty()
    first = enqueue_module_check(queued_settings, connection, "depot.test/a", None, "api")
    job = queue.fetch_job(first.job_id)
    assert job is not None
    queue.remove(job)
    job.set_status("finished")
    again = enqueue_module_check(queued_settings, connection, "depot.test/a", None, "api")
    assert (first.already, again.already) == (False, False) and queue.count == 1
    queue.empty()
