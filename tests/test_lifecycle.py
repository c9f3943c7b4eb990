"""The supervisor of `serve`'s children, with plain stand-ins for processes and time."""

from __future__ import annotations

from app.lifecycle import Supervisor


class Proc:
    """A stand-in for a child process: running until ``code`` is set."""

    count = 0

    def __init__(self) -> None:
        Proc.count += 1
        self.pid = Proc.count
        self.code: int | None = None

    def poll(self) -> int | None:
        return self.code


def test_a_dead_worker_is_started_again_and_a_dead_web_server_ends_serve() -> None:
    now = [0.0]
    said: list[str] = []
    sup = Supervisor({"web server": Proc}, [Proc, Proc], said.append, lambda: now[0])
    web, first = sup.essential["web server"], sup.workers[0]
    now[0] = 100.0
    first.code = -9
    assert sup.check() is None
    assert sup.workers[0] is not first  # it lived long: started again at once
    assert "exited with status -9" in said[0] and "started again" in said[1]
    # One that dies within seconds of its start waits 1 s, then 2 s, … before the next.
    for wait in (1.0, 2.0, 4.0):
        sup.workers[0].code = 1
        assert sup.check() is None
        again = sup.workers[0]
        now[0] += wait - 0.5
        assert sup.check() is None and sup.workers[0] is again  # not yet
        now[0] += 0.5
        assert sup.check() is None and sup.workers[0] is not again
    assert sup.workers[1].poll() is None  # the other worker was left alone
    web.code = -9
    assert sup.check() == -9
    assert "the web server" in said[-1]


def test_what_a_dead_worker_left_behind_is_reaped_before_its_successor_starts() -> None:
    """Killed with -9, a worker left its RQ scheduler child running, orphaned, holding
    the scheduler's locks (an outside trial, 2026-12-04)."""
    reaped: list[int] = []
    now = [0.0]
    sup = Supervisor({"web server": Proc}, [Proc], lambda line: None, lambda: now[0],
                     reap=lambda proc: reaped.append(proc.pid))
    dead = sup.workers[0]
    now[0], dead.code = 100.0, -9
    sup.check()
    assert reaped == [dead.pid] and sup.workers[0] is not dead
