"""Per-job work folders under ``DEPOT_DATA_DIR/work``, and the ones killed jobs left.

Each toolchain run gets a private folder (its module cache, GOPATH, consumer) that
the job removes when it ends. A job killed hard (kill -9, the OOM killer, RQ's
job-timeout kill of a work-horse, a killed ``serve``) cannot, and its folder stays:
a module cache of a whole build list is easily hundreds of MB, and nothing else ever
looked there.

So each folder is owned: the process that makes it holds an flock on its
``owner.lock`` until the folder is gone, and the OS drops the lock with a killed
process. A folder is made and locked under a hidden name (``.process-…``) and then
renamed, so no other process ever sees a visible folder unlocked: a visible folder
whose lock is free has no live user on this host, whoever made it (a worker, a web
process capturing a miss, a ``flask ingest`` beside ``serve``), and may go at once.
A hidden one is either being made this instant or was left between its making and
its rename; only the latter is old (and so is a folder an older Depot made without a
lock file). The same scheme as the graph loads' folders
(app/fetch/ahead.py).

``serve`` removes the leftovers at start-up, before its workers start; ``fsck``
reports them and ``fsck --repair`` removes them (both leave folders in use alone).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

OWNER = "owner.lock"
# A folder without a lock file younger than this may be another process's: a hidden
# one on its way to being locked and renamed, or one an older Depot (without owner
# locks) is using. Left alone until then.
UNLOCKED_AGE = 60.0


@contextmanager
def work_folder(root: Path, prefix: str) -> Iterator[Path]:
    """A new private folder ``root/<prefix>…`` owned by this process while the block
    runs, removed at its end."""
    root.mkdir(parents=True, exist_ok=True)
    hidden = Path(tempfile.mkdtemp(prefix=f".{prefix}", dir=root))
    fd = os.open(hidden / OWNER, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # nobody else knows the folder: at once
        path = root / hidden.name[1:]
        os.rename(hidden, path)  # mkdtemp's random part makes the name new
    except BaseException:
        _remove(hidden)
        os.close(fd)
        raise
    try:
        yield path
    finally:
        _remove(path)  # still locked: no sweeper reports or removes it meanwhile
        os.close(fd)


@dataclass(frozen=True)
class Leftover:
    """A work folder no live process owns."""

    name: str
    size: int  # bytes of the files in it
    age: float  # seconds since it last changed at its top
    removed: bool = False


def leftovers(root: Path, remove: bool = False, unlocked_age: float = UNLOCKED_AGE
              ) -> list[Leftover]:
    """The work folders under ``root`` that no live process owns, by name; with
    ``remove``, each is removed too (``removed`` says whether that worked)."""
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        folder = root / name
        with _unowned(folder, unlocked_age) as age:
            if age is None:
                continue
            size = size_of(folder)
            if remove:
                _remove(folder)
            found.append(Leftover(name, size, age, remove and not folder.exists()))
    return found


@contextmanager
def _unowned(folder: Path, unlocked_age: float) -> Iterator[float | None]:
    """The folder's age when no live process owns it (its lock held meanwhile, so no
    other sweeper removes it under the caller); None when it is in use, too new to
    tell, or no folder."""
    try:
        info = folder.lstat()
    except OSError:
        yield None
        return
    age = max(0.0, time.time() - info.st_mtime)
    if not stat.S_ISDIR(info.st_mode):
        yield None
        return
    try:
        fd = os.open(folder / OWNER, os.O_RDWR)
    except FileNotFoundError:
        # No lock file: half made (hidden), or made by an older Depot; once old, a
        # killed process's.
        yield age if age >= unlocked_age else None
        return
    except OSError:
        yield None
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        yield None  # a live process holds it
        return
    try:
        yield age
    finally:
        os.close(fd)


def size_of(folder: Path) -> int:
    """Bytes of the files under ``folder`` (0 when there is none)."""
    total = 0
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(parent, name)).st_size
            except OSError:
                pass
    return total


def _remove(folder: Path) -> None:
    """Remove a folder whole, read-only directories too (a module cache a go command
    wrote without -modcacherw has them)."""

    def writable_then_again(func: Callable[[str], object], path: str, _exc: object) -> None:
        try:
            parent = os.path.dirname(path)
            os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | stat.S_IRWXU)
            func(path)
        except OSError:
            pass

    shutil.rmtree(folder, onerror=writable_then_again)
