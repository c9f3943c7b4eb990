"""What follows a captured GOPROXY miss, handed to the workers once the misses pause.

Why: a client loading a graph sends miss after miss for a second or more (a cold
`go mod download all` of cobra v1.8.1: four levels of go.mod files, then the zips). Each
captured version queues a ``complete`` job (its build list, then its validation), and a
worker running those on the same two cores slowed the client's next misses: 1.0-1.5 s
for that download, 0.7-1.0 s with the jobs held until the misses paused (docs/bench.md).
Nobody waits for these jobs, and they leave the worker a moment later with more of the
tree stored, so validations batch better; the versions were published about as soon.

Held at most ``LONGEST`` seconds after the first one; a job lost with its process (a
web worker killed while holding it) is queued again by the workers' sweep, which
completes any version left ``captured`` (app.pipeline.requests.redrive_stalled).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from typing import Protocol

from redis.exceptions import RedisError

from app.logs import current_request_id, request_id_scope
from app.wiring import depot

log = logging.getLogger("depot.goproxy")

# Seconds without a new miss before the held jobs go, and the longest any is held.
QUIET = 0.4
LONGEST = 3.0


class Queues(Protocol):
    def enqueue(self, stage: str, *args: str) -> None: ...


def send(queues: Queues, stage: str, args: tuple[str, ...]) -> None:
    """Queue one job; the queue being away must not cost the client its answer."""
    try:
        queues.enqueue(stage, *args)
    except RedisError as exc:
        log.warning("not queued (%s): %s %s", type(exc).__name__, stage, " ".join(args))


class HeldBack:
    """Jobs kept until no miss has started for ``quiet`` seconds (at most ``longest``
    after the first), then queued in the order they came."""

    def __init__(self, quiet: float = QUIET, longest: float = LONGEST) -> None:
        self.quiet, self.longest = quiet, longest
        self._lock = threading.Lock()
        # Each job with the id of the request that caused it: released from a timer's
        # thread, it still names that request (its log lines, the audit trail).
        self._jobs: list[tuple[Queues, str, tuple[str, ...], str]] = []
        self._first = 0.0
        self._timer: threading.Timer | None = None

    def hold(self, queues: Queues, stage: str, args: tuple[str, ...]) -> None:
        with self._lock:
            if not self._jobs:
                self._first = time.monotonic()
            self._jobs.append((queues, stage, args, current_request_id()))
            self._rearm()

    def miss_started(self) -> None:
        """A client is still loading: wait for its next pause."""
        with self._lock:
            if self._jobs:
                self._rearm()

    def release(self) -> None:
        """Queue everything held now."""
        with self._lock:
            jobs, self._jobs = self._jobs, []
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        for queues, stage, args, rid in jobs:
            with request_id_scope(rid):
                send(queues, stage, args)

    def holds(self, stage: str, args: tuple[str, ...]) -> bool:
        with self._lock:
            return any(s == stage and a == args for _q, s, a, _r in self._jobs)

    def held(self) -> int:
        with self._lock:
            return len(self._jobs)

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        wait = max(0.0, min(self.quiet, self._first + self.longest - time.monotonic()))
        self._timer = threading.Timer(wait, self.release)
        self._timer.daemon = True
        self._timer.start()


HELD = HeldBack()
atexit.register(HELD.release)  # a web worker's orderly exit queues what it held


class Behind:
    """The workers' queues, for what follows a captured miss: ``complete`` jobs are held
    back while misses keep coming (see the module's docstring), the rest go at once."""

    def enqueue(self, stage: str, *args: str) -> None:
        queues = depot().dispatcher
        if stage == "complete":
            HELD.hold(queues, stage, args)
        else:
            send(queues, stage, args)

    def has_job(self, stage: str, *args: str) -> bool:
        """Whether the workers hold this work (queued, running or due for a retry); a
        job held back here counts too. True when the queue cannot say: nothing is
        taken over on a guess."""
        if HELD.holds(stage, args):
            return True
        try:
            return depot().dispatcher.has_job(stage, *args)
        except RedisError:
            return True
