"""How the processes `make run` starts end with it (``flask --app app serve``)."""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable
from typing import Protocol

from app.cpu import lower_self_at_fork

PR_SET_PDEATHSIG = 1  # prctl(2)


def dies_with(parent: int, own_session: bool = False, lower_by: int = 0
              ) -> Callable[[], None]:
    """A ``preexec_fn`` for a child of ``serve``: it gets SIGTERM when ``parent`` dies
    (PR_SET_PDEATHSIG), so a killed ``serve`` leaves no web server, worker or Redis
    running without it.

    ``own_session`` takes the child out of the terminal's process group, which Ctrl-C
    signals as a whole: the embedded Redis, which quit at once and left the workers
    finishing their jobs against a closed socket (about 220 lines of ConnectionError
    tracebacks); ``serve`` stops it last instead. ``lower_by``: the child (and what it
    starts) runs that much below ``serve`` (app/cpu.py).
    """
    def prepare() -> None:
        if own_session:
            os.setsid()
        if lower_by:
            lower_self_at_fork(lower_by)
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # not Linux: ended by Ctrl-C only
            return
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)

    return prepare


class Child(Protocol):
    """What the supervisor watches: a process it started (``Child``), or a
    stand-in for one it found running (app.embedded_redis.AnsweringRedis)."""

    pid: int

    def poll(self) -> int | None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class Supervisor:
    """Keeps ``serve``'s children running: a pipeline worker or the embedded Redis that
    dies (killed, out of memory) is started again with back-off, while the web server
    goes on serving the GOPROXY and the pages (with Redis away only new requests wait);
    the web server dying ends ``serve`` with a non-zero status, because without it
    nothing is served and a process manager should restart the whole.

    Before, one killed worker stopped everything with status 0, and a killed Redis took
    the web server down with it (outside trials, 2026-12-04): a manager set to restart
    on failure left Depot down.
    """

    # A worker that dies again within this many seconds of its start waits before the
    # next start, doubling up to ``MAX_BACKOFF`` (a worker that cannot start at all must
    # not spin).
    QUICK_DEATH = 10.0
    MAX_BACKOFF = 60.0

    def __init__(self, essential: dict[str, Callable[[], Child]],
                 workers: list[Callable[[], Child]],
                 say: Callable[[str], None], clock: Callable[[], float],
                 reap: Callable[[Child], None] = lambda proc: None,
                 restartable: dict[str, Callable[[], Child]] | None = None
                 ) -> None:
        # Started first (the embedded Redis), so the workers find them.
        named = [*(restartable or {}).items(),
                 *((f"worker {i + 1}", start) for i, start in enumerate(workers))]
        self._names = [name for name, _ in named]
        self._start = [start for _, start in named]
        self._first_worker = len(named) - len(workers)
        self.say = say
        # What a dead worker left behind (a work-horse; RQ's scheduler, when it was a
        # forked child, held its locks and ran on orphaned) goes before its successor
        # starts.
        self.reap = reap
        self.clock = clock
        self.essential = {name: start() for name, start in essential.items()}
        self.procs = [start() for start in self._start]
        self.started = [clock()] * len(named)
        self.backoff = [0.0] * len(named)
        self.due: list[float | None] = [None] * len(named)

    @property
    def workers(self) -> list[Child]:
        return self.procs[self._first_worker:]

    def current(self, name: str) -> Child:
        """The running process of a restartable child, by name."""
        return self.procs[self._names.index(name)]

    def children(self) -> list[Child]:
        return [*self.essential.values(), *self.procs]

    def check(self) -> int | None:
        """One round: restart dead workers when due; the exit status ``serve`` should
        end with when an essential child died, else None."""
        for name, proc in self.essential.items():
            code = proc.poll()
            if code is not None:
                self.say(f"serve: the {name} (pid {proc.pid}) exited with status {code}; "
                         "stopping everything")
                return code or 1
        now = self.clock()
        for i, proc in enumerate(self.procs):
            code = proc.poll() if self.due[i] is None else None
            if code is not None:
                self._died(i, now, f"{self._names[i]} (pid {proc.pid}) exited with "
                                   f"status {code}")
                self.reap(proc)
            due = self.due[i]
            if due is not None and now >= due:
                try:
                    started = self._start[i]()
                except Exception as exc:  # e.g. Redis did not answer in time: later
                    self._died(i, now, f"{self._names[i]} did not start ({exc})", quick=True)
                    continue
                self.procs[i], self.started[i], self.due[i] = started, now, None
                self.say(f"serve: {self._names[i]} started again (pid {started.pid})")
        return None

    def _died(self, i: int, now: float, what: str, quick: bool | None = None) -> None:
        """Plan child ``i``'s next start: at once after a long life, else after a pause
        that doubles with each quick death or failed start (one that cannot start must
        not spin)."""
        if quick is None:
            quick = now - self.started[i] < self.QUICK_DEATH
        self.backoff[i] = (min(max(self.backoff[i] * 2, 1.0), self.MAX_BACKOFF)
                           if quick else 0.0)
        self.due[i] = now + self.backoff[i]
        self.say(f"serve: {what}; starting it again in {self.backoff[i]:.0f} s")


def reap_group(proc: Child) -> None:
    """Kill what is left of a dead child's process group (the child led it: started
    with ``dies_with(…, own_session=True)``). Never a pid of 0 or less: killpg(0) is
    the caller's own group (app.embedded_redis.AnsweringRedis has none)."""
    if proc.pid <= 0:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
