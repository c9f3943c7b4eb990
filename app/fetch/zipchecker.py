"""Zip checks in a process of their own: by default the module-zip rules and the
``h1:`` hash; a caller may name a module of its own that does more (the license gate:
app/pipeline/zipjudge.judge_fetched).

Why: a graph load's zips are checked while a client walks the graph through the same
web process. Checked in its threads, the Python part of the work (a few tens of
microseconds a file, thousands of files) held the interpreter's lock, and the
client's small requests waited for it: a cold gin v1.10.0 walk's go.mod level took
0.56 s instead of 0.36 s, and the walk 2.5 s against 2.2 s. A child process has a
lock of its own and the other core.

At most one child per load, started once the load is big enough to pay for it
(:class:`Checks` says when), fed one JSON line per zip on stdin and answering one JSON
line each on stdout, in any order; it checks two zips at once (inflating and hashing
leave its lock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO

from app.cpu import lower_process
from app.gomod import zipcheck

# Zips one child checks at once.
AT_ONCE = 2


class ZipChecks:
    """A child process (``python -m <module>``) that checks zips; :meth:`ask` may be
    called from any thread."""

    def __init__(self, module: str = __name__, niceness: int = 0) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            start_new_session=True)
        if niceness:
            lower_process(self._proc.pid, niceness)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._stdin: IO[bytes] = self._proc.stdin
        self._lock = threading.Lock()
        self._waiting: dict[int, Future[dict]] = {}
        self._next = 0
        self._reader = threading.Thread(target=self._read, args=(self._proc.stdout,),
                                        name="zip checks", daemon=True)
        self._reader.start()

    def ask(self, request: dict) -> Future[dict]:
        """A future of the child's answer to ``request`` (an ``error`` in it says why the
        zip fails); OSError when the child is gone."""
        done: Future[dict] = Future()
        with self._lock:
            ask = self._next
            self._next += 1
            self._waiting[ask] = done
            try:
                self._stdin.write(json.dumps({**request, "id": ask}).encode() + b"\n")
                self._stdin.flush()
            except OSError as exc:
                self._waiting.pop(ask, None)
                done.set_exception(OSError(f"the zip checks' process is gone: {exc}"))
        return done

    def _read(self, stdout: IO[bytes]) -> None:
        for raw in stdout:
            try:
                answer = json.loads(raw)
            except ValueError:
                continue
            with self._lock:
                done = self._waiting.pop(answer.pop("id", None), None)
            if done is not None:
                done.set_result(answer)
        with self._lock:  # the child ended: nothing more comes
            left, self._waiting = self._waiting, {}
        for done in left.values():
            done.set_exception(OSError("the zip checks' process ended"))

    def close(self) -> None:
        """End the child once it has answered what it was asked."""
        try:
            self._stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=10)


def serve(check: Callable[[dict], dict], at_once: int = AT_ONCE) -> None:
    """The child's loop: ``check`` each request read, ``at_once`` at a time, and write
    its answer; an exception is answered as an ``error``."""
    out = sys.stdout.buffer
    lock = threading.Lock()

    def one(request: dict) -> None:
        try:
            answer = check(request)
        except Exception as exc:  # an answer in any case: the caller waits for it
            answer = {"error": str(exc) or type(exc).__name__}
        with lock:
            out.write(json.dumps({**answer, "id": request.get("id")}).encode() + b"\n")
            out.flush()

    with ThreadPoolExecutor(at_once) as pool:
        for line in sys.stdin.buffer:
            try:
                request = json.loads(line)
            except ValueError:
                continue
            pool.submit(one, request)


def check_rules_and_hash(request: dict) -> dict:
    """The zip at ``path`` against the module-zip rules for ``module``@``version``, and
    its ``h1:``."""
    return {"h1": zipcheck.check_zip(request["path"], request["module"],
                                     request["version"]).h1}


@dataclass(frozen=True)
class Checks:
    """How a load's zips are checked: by ``module``'s check in a child process once a
    zip of more than IN_PROCESS_MAX bytes comes or the caller says a big build list is
    coming (:meth:`Checker.start`), ``here`` in the caller's process until then.
    ``context`` goes with each request (what the check needs of the caller's settings).

    Why not always in a child: its start costs 0.05-0.25 s of CPU (an interpreter and
    the check's imports), as much as a whole cold walk of a small graph (cobra v1.8.1:
    seven zips, 0.6 MB in all, checked here in 20 ms; 0.29-0.34 s a walk, against
    0.36-0.42 s with a child). Why not always here: the checks of gin v1.10.0's 30
    zips held the interpreter's lock while the client's small requests waited (2.24-
    2.55 s a walk, against 2.15-2.30 s with a child)."""

    module: str = __name__
    here: Callable[[dict], dict] = check_rules_and_hash
    context: dict = field(default_factory=dict)


# Zips up to this size are checked in the caller's process.
IN_PROCESS_MAX = 1 << 20


class Checker:
    """One load's zip checks (:class:`Checks`); its child starts with the first big zip.
    Called from any thread."""

    def __init__(self, checks: Checks, niceness: int = 0) -> None:
        self.checks, self.niceness = checks, niceness
        self._child: ZipChecks | None = None
        self._lock = threading.Lock()

    def __call__(self, request: dict) -> dict:
        """The answer to ``request`` (``path``, ``module``, ``version``, ``info``)."""
        request = {**self.checks.context, **request}
        child = self._child
        if child is None and os.path.getsize(request["path"]) > IN_PROCESS_MAX:
            child = self.start()
        if child is None:
            return self.checks.here(request)
        return child.ask(request).result()

    def start(self) -> ZipChecks:
        """The child, started now if it was not: every zip goes to it from now on (a
        big build list is coming: its start is paid once, on the other core)."""
        with self._lock:
            if self._child is None:
                self._child = ZipChecks(self.checks.module, self.niceness)
            return self._child

    def close(self) -> None:
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.close()


if __name__ == "__main__":
    serve(check_rules_and_hash)
