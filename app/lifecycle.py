"""How the processes `make run` starts end with it (``flask --app app serve``)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # prctl(2)


def dies_with(parent: int, own_session: bool = False) -> Callable[[], None]:
    """A ``preexec_fn`` for a child of ``serve``: it gets SIGTERM when ``parent`` dies
    (PR_SET_PDEATHSIG), so a killed ``serve`` leaves no web server, worker or Redis
    running without it.

    ``own_session`` takes the child out of the terminal's process group, which Ctrl-C
    signals as a whole: the embedded Redis, which quit at once and left the workers
    finishing their jobs against a closed socket (about 220 lines of ConnectionError
    tracebacks); ``serve`` stops it last instead.
    """
    def prepare() -> None:
        if own_session:
            os.setsid()
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # not Linux: ended by Ctrl-C only
            return
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)

    return prepare


class Supervisor:
    """Keeps ``serve``'s children running: a pipeline worker that dies (killed, out of
    memory) is started again, because its queues only wait; the web server or the
    embedded Redis dying ends ``serve`` with a non-zero status, because without them
    nothing is served and a process manager should restart the whole.

    Before, one killed worker stopped everything with status 0 (an outside trial,
    2026-12-04): a manager set to restart on failure left Depot down.
    """

    # A worker that dies again within this many seconds of its start waits before the
    # next start, doubling up to ``MAX_BACKOFF`` (a worker that cannot start at all must
    # not spin).
    QUICK_DEATH = 10.0
    MAX_BACKOFF = 60.0

    def __init__(self, essential: dict[str, Callable[[], subprocess.Popen]],
                 workers: list[Callable[[], subprocess.Popen]],
                 say: Callable[[str], None], clock: Callable[[], float],
                 reap: Callable[[subprocess.Popen], None] = lambda proc: None) -> None:
        self._worker_start = workers
        self.say = say
        # What a dead worker left behind (its RQ scheduler child, a work-horse) goes
        # before its successor starts: the scheduler held its locks and ran on orphaned.
        self.reap = reap
        self.clock = clock
        self.essential = {name: start() for name, start in essential.items()}
        self.workers = [start() for start in workers]
        self.started = [clock()] * len(workers)
        self.backoff = [0.0] * len(workers)
        self.due: list[float | None] = [None] * len(workers)

    def children(self) -> list[subprocess.Popen]:
        return [*self.essential.values(), *self.workers]

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
        for i, proc in enumerate(self.workers):
            code = proc.poll() if self.due[i] is None else None
            if code is not None:
                quick = now - self.started[i] < self.QUICK_DEATH
                self.backoff[i] = (min(max(self.backoff[i] * 2, 1.0), self.MAX_BACKOFF)
                                   if quick else 0.0)
                self.due[i] = now + self.backoff[i]
                self.reap(proc)
                self.say(f"serve: worker {i + 1} (pid {proc.pid}) exited with status {code}; "
                         f"starting it again in {self.backoff[i]:.0f} s")
            due = self.due[i]
            if due is not None and now >= due:
                self.workers[i], self.started[i], self.due[i] = (
                    self._worker_start[i](), now, None)
                self.say(f"serve: worker {i + 1} started again (pid {self.workers[i].pid})")
        return None


def reap_group(proc: subprocess.Popen) -> None:
    """Kill what is left of a dead child's process group (the child led it: started
    with ``dies_with(…, own_session=True)``)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
