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


def test_a_dead_redis_is_started_again_first_and_a_failed_start_backs_off() -> None:
    """A killed embedded Redis took the web server down with it (an outside trial); now it
    is started again like a worker, and a start that fails waits longer each time."""
    now = [0.0]
    said: list[str] = []
    fail = [False]

    def redis() -> Proc:
        if fail[0]:
            raise RuntimeError("embedded Redis did not start")
        return Proc()

    sup = Supervisor({"web server": Proc}, [Proc], said.append, lambda: now[0],
                     restartable={"embedded Redis": redis})
    first = sup.current("embedded Redis")
    assert sup.workers[0] is not first and len(sup.children()) == 3
    now[0], first.code = 100.0, -9
    fail[0] = True
    assert sup.check() is None  # the web server is left serving
    assert "embedded Redis (pid" in said[0] and "did not start" in said[1]
    for wait in (1.0, 2.0):  # no new try before its pause is over, then one
        before = len(said)
        now[0] += wait - 0.5
        assert sup.check() is None and len(said) == before
        now[0] += 0.5
        assert sup.check() is None and len(said) == before + 1
        assert "did not start" in said[-1]
    fail[0] = False
    now[0] += 4.0
    assert sup.check() is None
    assert sup.current("embedded Redis") is not first and "started again" in said[-1]


def test_reaping_a_child_without_a_pid_of_its_own_kills_nothing() -> None:
    """A Redis another process started is watched without a process (pid 0); killpg(0)
    would have been serve's own group."""
    from app.lifecycle import reap_group

    class Borrowed:
        pid = 0

    reap_group(Borrowed())  # type: ignore[arg-type]  # this test process lives on
