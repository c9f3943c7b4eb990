"""The module caches the validator's clean rooms reuse, one per concurrent validation.

A clean room downloaded its whole build list into a new module cache and deleted it
afterwards: gin@v1.9.1's is 241 MB unpacked, fetched, hashed, unpacked and deleted
again for every member of its tree that was validated (2.8–4.8 s of a validation, and
most of the system time of a corpus run). Reusing a cache keeps what the contract
checks (docs/pipeline.md): everything in it came from Depot's own store through the
staging GOPROXY, whose files never change once stored, and the go command still
verifies every module a consumer's go.sum lacks against the checksum database. What
it does not redo is fetching a file Depot has already served once.

Each cache is a slot taken with an exclusive file lock, so no two go commands of
different validations share one, and a slot can be emptied safely when its zips pass
``DEPOT_VALIDATE_CACHE_MB``. A killed worker's lock goes with its process.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.config import Settings


def caches_root(settings: Settings) -> Path:
    return settings.data_dir / "cache" / "validate-modcache"


@contextmanager
def validation_cache(settings: Settings) -> Iterator[Path]:
    """A module cache no other validation uses while this one holds it."""
    root = caches_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    slot = 0
    while True:
        fd = os.open(root / f"{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            os.close(fd)
            slot += 1
    try:
        cache = root / str(slot)
        if zip_bytes(cache) > settings.validate_cache_mb << 20:
            empty(cache)
        yield cache
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def zip_bytes(cache: Path) -> int:
    """Bytes of the module zips a cache holds (its unpacked trees are a few times that)."""
    total = 0
    for folder, _dirs, files in os.walk(cache / "cache" / "download"):
        for name in files:
            if name.endswith(".zip"):
                try:
                    total += os.stat(os.path.join(folder, name)).st_size
                except OSError:
                    pass
    return total


def empty(cache: Path) -> None:
    """Remove a cache (-modcacherw keeps its trees writable, so nothing resists)."""
    shutil.rmtree(cache, ignore_errors=True)
