"""Single flight: one file lock per key on a host, and a database lock across hosts.

flock locks belong to an open file description, so two opens of the same file
exclude each other even inside one process; the OS drops the lock if the
holder dies, so a killed worker never leaves a key locked.

Pods of one Depot do not share a lock folder (their data dirs are their own),
but they share the database: on PostgreSQL, :func:`flight_lock` also takes a
session advisory lock, which the server drops when the holder's connection
dies. A SQLite database is a file on one host, so the file lock is enough.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text


class LockTimeout(Exception):
    """Another holder kept the key longer than we were willing to wait."""


def _wait(try_once: Callable[[], bool], what: str, timeout: float,
          longest: float = 0.2) -> None:
    """Call ``try_once`` until it returns True, backing off up to ``longest`` seconds
    between tries; LockTimeout after ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = min(0.01, longest)
    while not try_once():
        if time.monotonic() >= deadline:
            raise LockTimeout(f"waited {timeout:.0f}s for {what}")
        time.sleep(delay)
        delay = min(delay * 2, longest)


@contextmanager
def key_lock(lock_dir: Path, key: str, timeout: float = 900.0) -> Iterator[None]:
    name = hashlib.sha256(key.encode()).hexdigest()[:32] + ".lock"
    fd = os.open(lock_dir / name, os.O_RDWR | os.O_CREAT, 0o600)

    def try_once() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    try:
        # A try is one system call: tried often, a GOPROXY miss waiting for another
        # process's capture of the same version (a go.mod graph loading waits for, an
        # .info a load ahead is capturing) goes on within 5 ms of its end, not up to
        # 200 ms later (a cold walk's .info misses each waited half of the 20 ms tried
        # before on average, a few in a row).
        _wait(try_once, key, timeout, longest=0.005)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _advisory_id(key: str) -> int:
    """A signed 64-bit id for pg_advisory_lock, stable across processes and hosts."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


@contextmanager
def database_lock(engine: Engine, key: str, timeout: float = 900.0) -> Iterator[None]:
    """An exclusive PostgreSQL advisory lock on ``key``; a no-op on other databases.

    Held on a connection of its own in autocommit, so no transaction stays open
    while the caller works; closing the connection (or losing it) releases it.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    lock_id = _advisory_id(key)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:

        def try_once() -> bool:
            return bool(conn.scalar(text("SELECT pg_try_advisory_lock(:id)"), {"id": lock_id}))

        _wait(try_once, key, timeout)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})


@contextmanager
def flight_lock(lock_dir: Path, engine: Engine, key: str, timeout: float = 900.0
                ) -> Iterator[None]:
    """Single flight for ``key`` across threads, processes and pods sharing the database.

    The file lock first: waiters on this host queue without holding a database
    connection each; only the holder asks the database.
    """
    deadline = time.monotonic() + timeout
    with key_lock(lock_dir, key, timeout):
        with database_lock(engine, key, max(deadline - time.monotonic(), 0.0)):
            yield
