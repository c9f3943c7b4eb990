"""Children of `serve` forked from it rather than started afresh (app/supervise.py).

Why: the web server's master and the pipeline worker import mostly the same modules
(Flask, SQLAlchemy, Redis, RQ, Depot's own: about 75 MB each). Started as new programs,
each held its own copy; forked from a ``serve`` that imported them once, they share those
pages with it and with each other until one of them writes to a page. Measured after the
peers loads (docs/bench.md): 289-295 → 236 MB PSS for everything `make run` starts.

A forked child is told apart in ``ps`` by the command line it would have had, set with
setproctitle; the environment block stays readable in ``/proc/PID/environ``
(``SPT_NOENV``), so the title may not be longer than ``serve``'s own command line.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable

# Signals serve handles itself: a child takes them the default way again.
_RESET = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)


class Forked:
    """A forked child as the supervisor watches it (app.lifecycle.Child, the subset of
    ``subprocess.Popen`` it uses); ``returncode`` as Popen's: -N when signal N ended it."""

    def __init__(self, pid: int, args: list[str]) -> None:
        self.pid = pid
        self.args = args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: its status is lost
                self.returncode = 1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            time.sleep(0.05)
        return code


def fork_child(run: Callable[[], int | None], args: list[str],
               prepare: Callable[[], None] = lambda: None,
               env: dict[str, str] | None = None,
               cwd: str | os.PathLike[str] | None = None) -> Forked:
    """Fork a child that runs ``run()`` and exits with what it returns (or the code of
    the SystemExit it raises; 1 and a traceback for any other exception), as a program
    started with ``args`` would. ``prepare`` runs first in the child (a Popen
    ``preexec_fn``, e.g. app.lifecycle.dies_with); ``env`` is added to its environment;
    ``cwd``: its working folder.

    The child never returns into the caller: it leaves with ``os._exit`` after the exit
    handlers a normal exit runs."""
    pid = os.fork()
    if pid:
        return Forked(pid, args)
    code = 1
    try:
        for signum in _RESET:
            signal.signal(signum, signal.SIG_DFL)
        prepare()
        if cwd is not None:
            os.chdir(cwd)
        if env:
            os.environ.update(env)
        _set_title(args)
        code = _exit_code(run)
    except BaseException:  # a child must never return into serve
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _exit_code(run: Callable[[], int | None]) -> int:
    try:
        result = run()
    except SystemExit as stop:  # click's commands end so
        result = stop.code if isinstance(stop.code, int) or stop.code is None else 1
        if stop.code is not None and not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)
    return result or 0


def _set_title(args: list[str]) -> None:
    """What ``ps`` and /proc/PID/cmdline show for this child (and what it forks, until
    they set their own: granian's workers, RQ's worker once it listens)."""
    # Read when setproctitle first writes a title, in this process or a forked one.
    os.environ["SPT_NOENV"] = "1"
    try:
        from setproctitle import setproctitle
    except ImportError:  # not installed: the child shows serve's command line
        return
    setproctitle(" ".join(args))
