"""Read-ahead for fetch-mode misses: capture what the client will ask for next.

The go command walks a module graph level by level: it asks for a go.mod, verifies
it, reads its requirements, and only then asks for theirs, two at a time on a 2-core
machine (its graph loader runs GOMAXPROCS loads at once). Through a cold Depot each of
those asks was a capture (`go mod download`, store, license gate: 110-160 ms), so a
cold `go mod download all` of cobra v1.8.1 took 1.3 s against the upstream's 0.2 s
(bench/latency.py, 2026-12-04). Once a missed version is captured its requirements
are known; capturing them at once, in parallel, means the client's next asks find
them stored or already in flight (single flight: app.ingest.capture_on_miss).

What is read ahead is what the client reads anyway: the versions a captured go.mod
requires (their .info and .zip are part of the build list; `go mod download all`
fetches them). Requirements of requirements are read ahead only through versions
without graph pruning (go < 1.17, whose whole requirement graph the go command
loads); a pruned module's requirements' own go.mod files are read only when needed.
Bounded: a few daemon threads per web process and a bounded queue; when it is full
nothing more is read ahead and the client's own miss does the work, as before.
"""

from __future__ import annotations

import logging
import os
import queue
import threading

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import select, tuple_

from app.errors import DepotError
from app.gomod import versions
from app.gomod.errors import GoModError
from app.ingest import InvalidRequest, capture_on_miss
from app.models import Module, ModuleVersion, Requirement
from app.pipeline.stages import TransientError

log = logging.getLogger("depot.readahead")

# go.mod files from this go version on describe a pruned graph (go.dev/ref/mod#graph-pruning).
PRUNED_FROM = (1, 17)


def unpruned(go_version: str | None) -> bool:
    """Whether the go command loads this module's whole requirement graph."""
    try:
        found = tuple(int(part) for part in (go_version or "").split(".")[:2])
    except ValueError:
        return True
    return len(found) < 2 or found < PRUNED_FROM


class ReadAhead:
    """Captures the requirements of versions a miss captured, in the background."""

    def __init__(self, app: Flask, threads: int, limit: int = 256) -> None:
        self._app = app
        self._threads = threads
        self._todo: queue.Queue[tuple[str, str]] = queue.Queue(maxsize=limit)
        self._lock = threading.Lock()
        self._queued: set[tuple[str, str]] = set()
        self._started_in = 0  # the process whose threads run; none before the first miss

    def captured(self, module: str, version: str) -> None:
        """A miss captured ``module@version``: read its requirements ahead."""
        if not self._threads:
            return
        self._start()
        self._expand(module, version)

    def _start(self) -> None:
        """The threads, started in the process that serves (never before a fork)."""
        with self._lock:
            if self._started_in == os.getpid():
                return
            self._started_in = os.getpid()
            for n in range(self._threads):
                threading.Thread(target=self._run, name=f"read-ahead-{n}", daemon=True).start()

    def _expand(self, module: str, version: str) -> None:
        services = self._app.extensions["depot"]
        with services.db.session() as session:
            wanted = session.execute(
                select(Requirement.path, Requirement.required_version)
                .join(ModuleVersion, Requirement.version_id == ModuleVersion.id)
                .join(Module)
                .where(Module.path == module, ModuleVersion.version == version)
            ).all()
            wanted = [(p, v) for p, v in wanted if _valid(p, v)]
            known = set(session.execute(
                select(Module.path, ModuleVersion.version).join(ModuleVersion)
                .where(tuple_(Module.path, ModuleVersion.version).in_(wanted))
            ).all()) if wanted else set()
        for key in wanted:
            if key in known:
                continue  # stored, refused or being captured: nothing to read ahead
            with self._lock:
                if key in self._queued:
                    continue
                try:
                    self._todo.put_nowait(key)
                except queue.Full:
                    return
                self._queued.add(key)

    def _run(self) -> None:
        while True:
            module, version = self._todo.get()
            try:
                with self._app.app_context():
                    self._capture(module, version)
            except Exception:  # noqa: BLE001 - a read-ahead never takes the thread down
                log.exception("read-ahead of %s@%s failed", module, version)
            finally:
                with self._lock:
                    self._queued.discard((module, version))
                self._todo.task_done()

    def idle(self) -> bool:
        """Nothing queued or being read ahead (for tests and shutdown logs)."""
        return self._todo.unfinished_tasks == 0

    def _capture(self, module: str, version: str) -> None:
        services = self._app.extensions["depot"]
        try:
            capture_on_miss(services, module, version, Behind())
        except (DepotError, InvalidRequest, TransientError, RedisError) as exc:
            log.info("read-ahead of %s@%s: %s", module, version, exc)
            return
        # Whatever came of it, its requirements are known only if it was captured.
        with services.db.session() as session:
            go = session.scalar(
                select(ModuleVersion.go_version).join(Module)
                .where(Module.path == module, ModuleVersion.version == version))
        if unpruned(go):
            self._expand(module, version)


class Behind:
    """The workers' queues, for what follows a captured miss. The queue being away
    must not cost the client its answer: the version is captured, and the workers'
    sweep (app.pipeline.requests.redrive_stalled) queues its rest once it is back."""

    def enqueue(self, stage: str, *args: str) -> None:
        from app.api import dispatcher

        try:
            dispatcher().enqueue(stage, *args)
        except RedisError as exc:
            log.warning("not queued (%s): %s %s", type(exc).__name__, stage, " ".join(args))


def _valid(path: str, version: str) -> bool:
    try:
        versions.check_path_version(path, version)
    except GoModError:  # a requirement no proxy could serve is not read ahead
        return False
    return versions.is_canonical(version)
