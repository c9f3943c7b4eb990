"""What a build list's go command downloaded, handed to the jobs that capture its members.

Why: the go command that works out a build list fetches every member's ``.info`` and
``.mod`` from the upstream (and, tidying, its zip). Each member's ``process`` job then
downloaded the same files again into a module cache of its own, and the member's own
build list a third time: one ``flask ingest --deps`` fetched chain/c's ``.info`` and
``.mod`` three times and its zip twice (issue 19, defect 8).

Now the build-list job leaves the members' files its go command verified in one folder
per host, laid out as a GOPROXY (a module cache's download tree is one), and ``process``
and build-list go commands put that folder ahead of the upstream. Nothing is trusted
for having been there: the go command checks each file from it against go.sum and the
checksum database exactly as it would a file from the upstream, and a file missing
there falls through to the upstream. A version's files leave ``AFTER_CAPTURE`` seconds
after it is captured, and any file after ``KEEP`` seconds (the workers' maintenance).

With an http(s) upstream the folder is also where the relay (app/fetch/relay.py) keeps
each file it fetched, while any go command of the host may ask for it again.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from app.config import Settings
from app.gomod.paths import escape_path, escape_version

log = logging.getLogger("depot.fetch")

KEEP = 3600.0  # seconds a handed-off file waits for its version's capture
# Seconds a captured version's files stay: the host's other go commands ask for them
# again for a while (a consumer checked against the upstream, a build list of a version
# whose graph holds it); dropped at once, a corpus slice fetched 91 files twice.
AFTER_CAPTURE = 600.0
SUFFIXES = (".info", ".mod", ".zip")


def folder(settings: Settings) -> Path:
    return settings.data_dir / "cache" / "handoff"


def locks(settings: Settings) -> Path:
    """The relay's lock files (beside the folder: a capture empties a version's folder,
    and a lock file must outlive its use, or a newcomer would lock another file)."""
    return settings.data_dir / "cache" / "handoff-locks"


def goproxy(settings: Settings, then: str) -> str:
    """A GOPROXY value that asks the handoff folder first, then ``then``."""
    root = folder(settings)
    root.mkdir(parents=True, exist_ok=True)
    return f"{root.resolve().as_uri()},{then}"


def file(settings: Settings, path: str, version: str, kind: str) -> Path:
    """Where ``path@version``'s ``kind`` file (info, mod, zip) waits in the folder."""
    return _files(folder(settings), path, version)[SUFFIXES.index(f".{kind}")]


def _files(root: Path, path: str, version: str) -> list[Path]:
    base = root.joinpath(*escape_path(path).split("/"), "@v", escape_version(version))
    return [base.with_name(base.name + suffix) for suffix in SUFFIXES]


def offer(settings: Settings, modcache: Path, keys: Iterable[tuple[str, str]]) -> int:
    """Hand off the downloaded files of ``keys`` in ``modcache``; how many files."""
    source, target = modcache / "cache" / "download", folder(settings)
    handed = 0
    for path, version in keys:
        for src, dest in zip(_files(source, path, version), _files(target, path, version),
                             strict=True):
            if not src.is_file() or dest.exists():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
            try:
                try:
                    os.link(src, tmp)  # the same file system: no copy
                except OSError:
                    shutil.copyfile(src, tmp)
                os.replace(tmp, dest)  # whole or not at all, for a reader at any moment
                handed += 1
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                log.warning("could not hand off %s: %s", dest.name, exc)
    return handed


def holds(settings: Settings, path: str, version: str) -> bool:
    """Some file of ``path@version`` waits in the handoff folder."""
    return any(f.is_file() for f in _files(folder(settings), path, version))


def take(settings: Settings, path: str, version: str) -> None:
    """Drop ``path@version``'s files (the go command refused them)."""
    for file in _files(folder(settings), path, version):
        file.unlink(missing_ok=True)


def captured(settings: Settings, path: str, version: str) -> None:
    """``path@version`` is in the store: its files leave at the first sweep
    ``AFTER_CAPTURE`` seconds from now."""
    leaves = time.time() - KEEP + AFTER_CAPTURE
    for file in _files(folder(settings), path, version):
        try:
            os.utime(file, (leaves, leaves))
        except OSError:
            continue


def clear(settings: Settings) -> None:
    """Drop every handed-off file (one was refused, and which is not known)."""
    shutil.rmtree(folder(settings), ignore_errors=True)


def sweep(settings: Settings, keep: float = KEEP) -> int:
    """Remove files older than ``keep`` seconds (a member nobody captured); how many."""
    cutoff = time.time() - keep
    removed = 0
    for lock in locks(settings).glob("*.lock"):  # each touched when taken
        try:
            if lock.stat().st_mtime < cutoff:
                lock.unlink()
        except OSError:
            continue
    root = folder(settings)
    if not root.is_dir():
        return 0
    for file in root.rglob("*"):
        try:
            if file.is_file() and file.stat().st_mtime < cutoff:
                file.unlink()
                removed += 1
        except OSError:
            continue
    # Folders their versions' captures emptied (deepest first; one in use is not empty
    # or is made again by the next offer).
    for sub in sorted((d for d in root.rglob("*") if d.is_dir()),
                          key=lambda d: len(d.parts), reverse=True):
        try:
            sub.rmdir()
        except OSError:
            continue
    return removed
