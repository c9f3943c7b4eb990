"""Single flight across threads and processes on one host: one file lock per key.

flock locks belong to an open file description, so two opens of the same file
exclude each other even inside one process; the OS drops the lock if the
holder dies, so a killed worker never leaves a key locked.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockTimeout(Exception):
    """Another holder kept the key longer than we were willing to wait."""


@contextmanager
def key_lock(lock_dir: Path, key: str, timeout: float = 900.0) -> Iterator[None]:
    name = hashlib.sha256(key.encode()).hexdigest()[:32] + ".lock"
    fd = os.open(lock_dir / name, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"waited {timeout:.0f}s for {key}") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
