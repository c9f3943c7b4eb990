"""A version's whole module graph, and its build list's zips, fetched in one go ahead
of the client walking it.

Why: graph loading asks for one level of go.mod files, waits, then asks the next (the
go command loads at most GOMAXPROCS at a time), and every cold ``.mod`` miss used to
be a capture of its own: a go command per version (70 ms here) plus its rows, so a
cold `go mod download all` of cobra v1.8.1 cost seven captures in a row, 0.8-1.2 s
against the upstream's 0.2 s. One `go mod download -json all` in a consumer of the
first version asked loads the same graph about as fast as one capture (the go command
fetches a level in parallel and checks every go.mod against the checksum database
before it writes it to its cache) and then fetches every zip of the build list in the
same process: 0.1 s of CPU for cobra's seven, where seven go commands took 0.4 s.

With a checksum database the go command now only loads the graph and Depot fetches
the zips itself, checked against the records the go command verified
(app/fetch/verified.py says why).

This module is the files of such a load, on disk so that every process of the host
sees them: ``<root>/<name>/`` holds the consumer, the load's module cache and, at its
end, ``done``. Each zip is usable as soon as the go command has verified it, while
the command still fetches others (:meth:`Load.ready_entry`). The load holds an flock
on ``owner.lock`` for its whole life; the OS drops it with a killed process, and such
a folder is then only litter.

Nothing here is trusted more than a capture's own download: the same go command, the
same GOPROXY and GOSUMDB, the same checks (app/fetch/download.describe) follow.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar
from uuid import uuid4

from app.config import Settings
from app.cpu import BACKGROUND_NICENESS, lower_process
from app.fetch import verified, zipchecker
from app.fetch.download import cached_files, go_directive, write_consumer
from app.fetch.gotool import GoTimeout, fetching_env, parse_json_stream, run_go
from app.gomod.errors import GoModError
from app.gomod.paths import escape_path, escape_version

log = logging.getLogger("depot.fetch")

# How often a waiter looks again at a load's files.
POLL = 0.01
# How often a client's miss looks for its file in the loads (a stat or two a look): each
# level of a cold walk waited half of it on average.
WAIT_POLL = 0.002
# A folder whose owner is gone is removed once it is this old (its owner may still be
# taking the lock of a folder it has just made).
LITTER_AGE = 60.0


# Zips of a load fetched and checked at once (app/fetch/verified.py): the upstream's
# latency is waited out beside the hashing, which leaves the interpreter's lock.
FETCHERS = 4
# go.mod files a load's go command reads at once. It reads GOMAXPROCS at a time (two
# here, as the client), and then only kept pace with the client a level at a time;
# it waits on the upstream, not on the CPU.
GRAPH_READERS = 8
# A load that has read more go.mod files than this has its zips checked in a process
# of their own (app/fetch/zipchecker.Checks says why).
SMALL_GRAPH = 10

# DEPOT_MISS_AHEAD_DIR=auto: loads go to memory when it has this much room.
SHM = Path("/dev/shm")
SHM_FREE = 4 << 30


def loads_root(settings: Settings) -> Path:
    """The folder of this host's loads (one per data dir: every process of a Depot
    looks there, and only they do).

    Why memory when there is room: a load's go command unpacks every zip it fetches,
    as the client's does, and on one disk the two unpackings took turns (a cold walk of
    gin v1.10.0: a client alone unpacks its 30 zips in 4.2-4.8 s on disk, 1.2-1.4 s in
    /dev/shm; cold through Depot 10.2-11.9 s with its loads on disk, 8.3-8.6 s with them
    in memory). What is captured from a load is copied to the store; the rest is gone
    when the load ends."""
    return _loads_root(settings.miss_ahead_dir, settings.data_dir)


@lru_cache(maxsize=8)
def _loads_root(chosen: str, data_dir: Path) -> Path:
    if chosen.strip().lower() != "auto":
        return Path(chosen).expanduser().resolve() / "ahead"
    try:
        roomy = SHM.is_dir() and os.access(SHM, os.W_OK) and \
            shutil.disk_usage(SHM).free >= SHM_FREE
    except OSError:
        roomy = False
    if roomy:
        tag = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
        return SHM / f"depot-{tag}" / "ahead"
    return data_dir / "cache" / "ahead"


def _walk_marker(settings: Settings) -> Path:
    # Beside the loads' folders, not among them (every name there is a load).
    return settings.data_dir / "cache" / "ahead-walking"


def note_walk(settings: Settings) -> None:
    """A client is walking a graph through this host now (a GOPROXY miss, a go.mod a
    load kept, a checksum-database file): the loads' captures wait for it to pause.
    One file's time, so that every web process of the host sees it."""
    marker = _walk_marker(settings)
    try:
        os.utime(marker)
    except FileNotFoundError:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass
    except OSError:
        pass


def walk_paused_for(settings: Settings) -> float:
    """Seconds since a client last walked a graph through this host (infinite when
    none ever did)."""
    try:
        return time.time() - _walk_marker(settings).stat().st_mtime
    except OSError:
        return float("inf")


@dataclass(frozen=True)
class Load:
    """One load's folder."""

    folder: Path

    @property
    def modcache(self) -> Path:
        return self.folder / "modcache"

    @property
    def workdir(self) -> Path:
        return self.folder / "work"

    def cached_mod(self, module: str, version: str) -> Path | None:
        """The go.mod the load's go command verified and kept, if it read it. The go
        command writes it (an atomic rename) only after checking it against go.sum or
        the checksum database."""
        try:
            found = (self.modcache / "cache" / "download" / escape_path(module) / "@v"
                     / f"{escape_version(version)}.mod")
        except GoModError:
            return None
        return found if found.is_file() else None

    def verified_mods(self) -> dict[tuple[str, str], Path]:
        """Every go.mod the load's go command has verified so far, by (module, version)."""
        return _scanned(self, ".mod")

    def mentions(self, module: str, version: str, read: set[Path]) -> bool:
        """Whether a go.mod the load has read so far (or its consumer's) requires
        module@version: a client walking the same graph asks for it next. Files named
        in ``read`` were looked at before (a go.mod in the cache never changes) and
        are skipped; those looked at now are added."""
        needle = f"{module} {version}".encode()
        candidates = [self.workdir / "consumer" / "go.mod", *self.verified_mods().values()]
        for path in candidates:
            if path in read:
                continue
            try:
                if needle in path.read_bytes():
                    return True
            except OSError:
                continue
            read.add(path)
        return False

    @property
    def done(self) -> bool:
        """The load has read and fetched all it will, or is over (its folder gone)."""
        return (self.folder / "done").exists() or not self.folder.exists()

    def running(self) -> bool:
        """Whether the load is still reading or fetching: not done, its owner alive."""
        return not self.done and _owned(self.folder)

    def ready_info(self, module: str, version: str) -> Path | None:
        """module@version's ``.info`` as the load's go command fetched it for its build
        list (written whole, by a rename, with the go.mod it verified beside it); None
        before that."""
        try:
            stem = (self.modcache / "cache" / "download" / escape_path(module) / "@v"
                    / escape_version(version))
        except GoModError:
            return None
        info, mod = stem.with_name(stem.name + ".info"), stem.with_name(stem.name + ".mod")
        return info if info.is_file() and mod.is_file() else None

    def ready_entry(self, module: str, version: str) -> dict | None:
        """module@version as `go mod download -json` describes it, once the load's go
        command has verified its zip, even while the command fetches others; None
        before that. The go command checks a zip's hash against go.sum or the checksum
        database, writes the hash, and only then renames the zip into place (its
        modfetch.downloadZip); its .info and .mod came before."""
        try:
            zip_path = (self.modcache / "cache" / "download" / escape_path(module) / "@v"
                        / f"{escape_version(version)}.zip")
        except GoModError:
            return None
        return _entry(module, version, zip_path)

    def gate_file(self, module: str, version: str) -> Path:
        """Where the judgement of a zip this load verified is kept (app/pipeline/gate),
        so that the web processes of the host judge each zip once."""
        return self.folder / "gates" / f"{_file_name(module, version)}.json"

    def keep_verdict(self, module: str, version: str, verdict: dict) -> None:
        """Keep a zip's judgement where :meth:`gate_file` says, whole (a rename): every
        web process may read it at any moment. OSError when the load has ended."""
        kept = self.gate_file(module, version)
        kept.parent.mkdir(exist_ok=True)
        fresh = kept.with_name(f".{uuid4().hex}")
        fresh.write_text(json.dumps(verdict))
        os.replace(fresh, kept)

    def _marker(self, kind: str, module: str, version: str) -> Path:
        """A mark about module@version every web process of the host sees (``kind``:
        ``recorded``, ``served``)."""
        return self.folder / kind / _file_name(module, version)

    def _mark(self, kind: str, module: str, version: str) -> None:
        marker = self._marker(kind, module, version)
        try:
            marker.parent.mkdir(exist_ok=True)
            marker.touch()
        except OSError:  # the load ended meanwhile
            pass

    def note_recorded(self, module: str, version: str) -> None:
        """module@version is in the database (pending or further), so a zip of this
        load may be served: a process killed before its capture leaves it to the
        workers' sweep (app/goproxy/ahead.AheadLoads._judge)."""
        self._mark("recorded", module, version)

    def recorded(self, module: str, version: str) -> bool:
        return self._marker("recorded", module, version).exists()

    def note_served(self, module: str, version: str) -> None:
        """A client was answered module@version's zip from this load."""
        self._mark("served", module, version)

    def all_zips_served(self) -> bool:
        """Whether a client was answered every zip the load has verified (its walk then
        needs nothing more of the load)."""
        verified = self.verified_zips()
        return bool(verified) and all(self._marker("served", *key).exists() for key in verified)

    def verified_zips(self) -> set[tuple[str, str]]:
        """(module, version) of every zip the load's go command has verified so far
        (:meth:`ready_entry` describes one)."""
        return set(_scanned(self, ".zip"))


# A scan of a load's module cache is shared by the threads of this process that poll it
# (a client's waiting misses, the judge, the captures, the go.mod keeper) for this
# long while the load runs, and for good once made after its end; at most SCANS are
# remembered.
SCAN_FRESH = 0.005
SCANS = 64
_scans: dict[tuple[Path, str], tuple[float, bool, dict[tuple[str, str], Path]]] = {}
_scans_lock = threading.Lock()


def _scanned(load: Load, suffix: str) -> dict[tuple[str, str], Path]:
    """The load's files of ``suffix`` by (module, version), as a recent scan found
    them (app/fetch/download.cached_files)."""
    key = (load.folder, suffix)
    now = time.monotonic()
    final = load.done  # looked at before the scan: a scan after the end is complete
    with _scans_lock:
        kept = _scans.get(key)
    # Once the load is done only a scan made after that will do: a caller that saw it
    # end looks once more for what came last.
    if kept is not None and (kept[1] or (not final and now - kept[0] < SCAN_FRESH)):
        return kept[2]
    found = cached_files(load.modcache, suffix)
    with _scans_lock:
        if len(_scans) >= SCANS:
            for old in sorted(_scans, key=lambda k: _scans[k][0])[:SCANS // 2]:
                del _scans[old]
        _scans[key] = (now, final, found)
    return found


def _file_name(module: str, version: str) -> str:
    """A file name for module@version in a load's folder (paths hold slashes)."""
    return hashlib.sha256(f"{module}@{version}".encode()).hexdigest()[:32]


def _entry(module: str, version: str, zip_path: Path) -> dict | None:
    """The `go mod download -json` fields a capture reads, for a zip in place."""
    stem = zip_path.parent / zip_path.name.removesuffix(".zip")
    info, mod = stem.with_name(stem.name + ".info"), stem.with_name(stem.name + ".mod")
    try:
        if not zip_path.is_file() or not info.is_file() or not mod.is_file():
            return None
        ziphash = stem.with_name(stem.name + ".ziphash").read_text().strip()
    except OSError:
        return None
    if not ziphash:
        return None
    return {"Path": module, "Version": version, "Info": str(info), "GoMod": str(mod),
            "Zip": str(zip_path), "Sum": ziphash}


def _owned(folder: Path) -> bool:
    """Whether some process still holds the folder's owner lock."""
    try:
        fd = os.open(folder / "owner.lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def active_loads(settings: Settings) -> list[Load]:
    """The loads running on this host now; litter of dead owners is swept on the way."""
    root = loads_root(settings)
    try:
        names = os.listdir(root)
    except OSError:
        return []
    for name in [n for n in names if n.startswith(".")]:
        _sweep(root / name)  # a half-made or half-removed folder of a killed process
    names = [n for n in names if not n.startswith(".")]
    found = []
    for name in names:
        folder = root / name
        if _owned(folder):
            found.append(Load(folder))
        else:
            _sweep(folder)
    return found


def sweep_memory_loads() -> int:
    """Remove the loads in memory (``/dev/shm``, any Depot of the host) whose owner is
    gone, and the folders they leave empty; how many loads went.

    Why: a load is removed by its owner when it ends, or by the next miss of the same
    Depot that looks; a Depot killed meanwhile and never started again on that data dir
    (a test's, a benchmark's) left its unpacked modules in memory until the host's next
    boot. ``serve`` sweeps at its start, a worker at its maintenance."""
    try:
        names = [n for n in os.listdir(SHM) if n.startswith("depot-")]
    except OSError:
        return 0
    removed = 0
    for name in names:
        root = SHM / name / "ahead"
        try:
            loads = os.listdir(root)
        except OSError:
            loads = []
        for load in loads:
            removed += _sweep(root / load)
        for empty in (root, root.parent):
            try:
                empty.rmdir()
            except OSError:  # a load still there, or another Depot's file
                break
    return removed


def _sweep(folder: Path) -> bool:
    """Remove a folder no owner holds once it is old enough not to be a new one;
    whether it did."""
    try:
        if time.time() - folder.stat().st_mtime > LITTER_AGE and not _owned(folder):
            shutil.rmtree(folder, ignore_errors=True)
            return True
    except OSError:
        pass
    return False


_T = TypeVar("_T")


def _wait(look: Callable[[], _T | None], still_coming: Callable[[], bool],
          timeout: float) -> _T | None:
    """``look()`` once it answers, or None when nothing more is coming or in time."""
    deadline = time.monotonic() + timeout
    while True:
        found = look()
        if found is not None:
            return found
        if not still_coming() or time.monotonic() >= deadline:
            return None
        time.sleep(WAIT_POLL)


def find_mod(settings: Settings, module: str, version: str, timeout: float,
             also: Load | None = None) -> Path | None:
    """A go.mod some load on this host verified for module@version, waiting while a
    load that reads it is still loading its graph; None when no load has or will have
    it. ``also``: a load of the caller's own, waited for even before it mentions it."""

    def loads() -> list[Load]:
        found = active_loads(settings)
        if also is not None and also not in found:
            found.append(also)
        return found

    def look() -> Path | None:
        for load in loads():
            hit = load.cached_mod(module, version)
            if hit is not None:
                return hit
        return None

    read: dict[Path, set[Path]] = {}

    def coming() -> bool:
        return any(not load.done and (
            load == also or load.mentions(module, version, read.setdefault(load.folder, set())))
            for load in loads())

    return _wait(look, coming, timeout)


def load_of(settings: Settings, found: Path) -> Load | None:
    """The load whose files hold ``found`` (a path :func:`find_mod` returned)."""
    root = loads_root(settings)
    try:
        name = found.relative_to(root).parts[0]
    except (ValueError, IndexError):
        return None
    return Load(root / name)


def find_entry(settings: Settings, module: str, version: str, timeout: float
               ) -> dict | None:
    """The `go mod download -json` entry of module@version's zip from a load on this
    host, waiting while a load whose build list holds it is still downloading; None
    when no load has or will have it."""
    return _wait(lambda: ready_entry(settings, module, version),
                 _coming(settings, module, version), timeout)


def find_info(settings: Settings, module: str, version: str, timeout: float
              ) -> Path | None:
    """module@version's ``.info`` from a load on this host (:meth:`Load.ready_info`),
    waiting while a load whose build list holds it is still downloading; None when no
    load has or will have it."""
    return _wait(lambda: _in_a_load(settings, lambda load: load.ready_info(module, version)),
                 _coming(settings, module, version), timeout)


def _coming(settings: Settings, module: str, version: str) -> Callable[[], bool]:
    """Whether some load on this host still running has read, or reads, a go.mod that
    requires module@version (so its build list may hold it)."""
    read: dict[Path, set[Path]] = {}

    def coming(load: Load) -> bool:
        return not load.done and (
            load.cached_mod(module, version) is not None
            or load.mentions(module, version, read.setdefault(load.folder, set())))

    return lambda: any(coming(load) for load in active_loads(settings))


def ready_entry(settings: Settings, module: str, version: str) -> dict | None:
    """module@version's entry from a load on this host that has verified its zip, at
    once (:meth:`Load.ready_entry`); None when none has yet."""
    return _in_a_load(settings, lambda load: load.ready_entry(module, version))


def _in_a_load(settings: Settings, look: Callable[[Load], _T | None]) -> _T | None:
    """What ``look`` finds in the first load on this host that has it; None if none."""
    for load in active_loads(settings):
        found = look(load)
        if found is not None:
            return found
    return None


class Loading:
    """A load this process owns: its folder, locked until :meth:`close`."""

    def __init__(self, settings: Settings, name: str) -> None:
        root = loads_root(settings)
        # Made and locked under a hidden name, then renamed: no other process ever
        # sees it unlocked and sweeps it.
        hidden = root / f".{name}"
        try:
            root.mkdir(parents=True, exist_ok=True)
            hidden.mkdir()
        except FileNotFoundError:  # the last load of another process removed the root
            root.mkdir(parents=True, exist_ok=True)
            hidden.mkdir()
        self._fd = os.open(hidden / "owner.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.rename(hidden, root / name)
        self.load = Load(root / name)
        self.settings = settings
        # (module, version) of each zip put in place by this process, as it comes: the
        # owner's judge waits on this rather than scanning the module cache.
        self.placed: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()

    def run(self, module: str, version: str, zips_max: int,
            on_mods: Callable[[dict[tuple[str, str], Path]], None] | None = None,
            checks: zipchecker.Checks | None = None) -> tuple[list[dict], str]:
        """Load the graph of a consumer of module@version and fetch its build list's
        zips: with a checksum database, the graph by the go command and the zips by
        Depot (:meth:`_graph_then_zips`, checked by ``checks``); without one, both by
        one `go mod download -json all`. A graph of more than ``zips_max`` versions is
        only loaded. The entries, and why not all of it when something failed (""
        when nothing did).

        ``on_mods`` is handed the go.mod files the command verified: a few at a time as
        they come without a checksum database, all at the end with one."""
        settings, load = self.settings, self.load
        load.workdir.mkdir()
        env = fetching_env(settings, load.workdir, settings.upstream, load.modcache)
        consumer = write_consumer(load.workdir, module, version,
                                  go_directive(settings, load.workdir), [])
        handed = _Handed(load, on_mods)
        if settings.gosumdb.strip().lower() == "off":
            # No record to check a zip against: the go command fetches and checks them.
            entries, problem, partial = self._download_all(env, consumer, zips_max, handed)
            if partial:
                # Stopped for its size: finish loading the graph (the client walks it
                # too), reusing what is cached, without the zips.
                problem = self._load_graph(env, consumer) or problem
        else:
            entries, problem = self._graph_then_zips(env, consumer, zips_max, handed,
                                                     checks or zipchecker.Checks())
        handed.new_ones()
        (load.folder / "done").touch()
        return entries, problem

    def _graph_then_zips(self, env: dict[str, str], consumer: Path, zips_max: int,
                         handed: _Handed, checks: zipchecker.Checks
                         ) -> tuple[list[dict], str]:
        """The graph by the go command (`go list -m -json all`: every go.mod and .info
        it reads verified and kept), the zips fetched here as it goes and checked
        against the records it verified (app/fetch/verified.py); what that cannot place,
        the go command downloads after all. A build list of more than ``zips_max``
        versions is only loaded. ``checks``: how the zips are checked
        (app/fetch/zipchecker.py)."""
        load = self.load
        checker = zipchecker.Checker(checks)
        prefetch = verified.Prefetch(self.settings, load.modcache, FETCHERS, zips_max,
                                     checker, self._keep_verdict,
                                     lambda *key: self.placed.put(key))
        try:
            members, problem = self._list_graph(env, consumer, prefetch, checker)
            if not members or len(members) > zips_max:
                return [], problem or (f"more than {zips_max} modules: the graph only"
                                       if members else "")
            problems = prefetch.fetch(members)
        finally:
            prefetch.close()
            checker.close()
        left = [f"{m}@{v}" for (m, v), why in zip(members, problems, strict=True) if why]
        if left:
            log.info("load %s: %d of %d zips left to the go command (%s)", load.folder.name,
                     len(left), len(members), next(why for why in problems if why))
            _entries, problem, _partial = self._download_all(env, consumer, None, handed, left)
        entries = [e for key in members if (e := load.ready_entry(*key)) is not None]
        return entries, problem

    def _keep_verdict(self, module: str, version: str, answer: dict) -> None:
        """A verdict the checks gave on a zip (``verdict``, when their module judges:
        app/pipeline/zipjudge.judge_fetched), kept where the web processes look for one
        (:meth:`Load.gate_file`) before the zip is in place."""
        if "verdict" in answer:
            self.load.keep_verdict(module, version, answer["verdict"])

    def _list_graph(self, env: dict[str, str], consumer: Path, prefetch: verified.Prefetch,
                    checker: zipchecker.Checker) -> tuple[list[tuple[str, str]], str]:
        """The build list of the consumer (main module and replaced ones aside), every
        go.mod read offered to ``prefetch`` as it comes (``checker``'s process started
        once there are many); what went wrong ("" when nothing did).

        The go.mod files are handed on (kept as graph files) only once the zips are in
        place: a checksum-verified one is served from the load as it is meanwhile
        (app/goproxy/ahead.py), and keeping each (a store write, database rows) took
        the client's share of the interpreter while it walked the graph."""
        load = self.load
        out, err = load.folder / "graph.json", load.folder / "graph.err"

        def hand_on() -> bool:  # never stops the command
            read = load.verified_mods()
            if len(read) > SMALL_GRAPH:
                checker.start()
            prefetch.offer(read)
            return False

        code, late = self._go(["list", "-m", "-json", "all"],
                              {**env, "GOMAXPROCS": str(GRAPH_READERS)}, consumer, out, err,
                              hand_on)
        if late:
            return [], f"go list took longer than {self.settings.fetch_timeout}s"
        if code != 0:
            return [], err.read_text(errors="replace").strip() or "go list failed"
        try:
            listed = parse_json_stream(out.read_text(errors="replace"))
        except ValueError:
            return [], "go list printed something else than JSON"
        return [(m["Path"], m["Version"]) for m in listed
                if not m.get("Main") and not m.get("Replace") and m.get("Version")], ""

    def _download_all(self, env: dict[str, str], consumer: Path, zips_max: int | None,
                      handed: _Handed, which: list[str] | None = None
                      ) -> tuple[list[dict], str, bool]:
        """`go mod download -json all` (or ``which`` versions): the entries fetched,
        what went wrong, and whether it was stopped because the graph grew past
        ``zips_max`` (None: however big)."""
        out, err = self.load.folder / "download.json", self.load.folder / "download.err"

        def too_big() -> bool:
            read = handed.new_ones()
            return zips_max is not None and read > zips_max

        code, late = self._go(["mod", "download", "-json", *(which or ["all"])], env, consumer,
                              out, err, too_big)
        if late:
            return [], f"go mod download took longer than {self.settings.fetch_timeout}s", False
        if code is None:
            return [], f"more than {zips_max} modules: the graph only", True
        try:
            entries = parse_json_stream(out.read_text(errors="replace"))
        except ValueError:
            entries = []
        good = [e for e in entries if e.get("Zip") and not e.get("Error")]
        if code != 0:
            # With -json, what went wrong with a version is in its entry, not on stderr.
            said = [f"{e.get('Path')}@{e.get('Version')}: {e['Error']}"
                    for e in entries if e.get("Error")]
            why = err.read_text(errors="replace").strip() or "\n".join(said)
            return good, why or "go mod download failed", False
        return good, "", False

    def _go(self, args: list[str], env: dict[str, str], consumer: Path, out: Path, err: Path,
            stop: Callable[[], bool]) -> tuple[int | None, bool]:
        """Run the go command below the client's priority, its output in ``out`` and
        ``err``, asking ``stop`` every POLL while it runs: its exit code (None when
        ``stop`` said yes and it was killed) and whether it ran out of time."""
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen([self.settings.go_bin, *args], cwd=consumer, env=env,
                                    stdout=stdout, stderr=stderr, start_new_session=True)
        _yield_cpu(proc.pid)
        deadline = time.monotonic() + self.settings.fetch_timeout
        while proc.poll() is None:
            late = time.monotonic() > deadline
            if late or stop():
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return None, late
            time.sleep(POLL)
        return proc.returncode, False

    def _load_graph(self, env: dict[str, str], consumer: Path) -> str:
        """`go list -m all` (the graph, every go.mod it reads kept in the cache); what
        went wrong, "" when nothing did."""
        try:
            listed = run_go(self.settings.go_bin, ["list", "-m", "all"], env, consumer,
                            self.settings.fetch_timeout)
        except GoTimeout as exc:
            return str(exc)
        return "" if listed.returncode == 0 else listed.stderr.strip() or "go list failed"

    def close(self) -> None:
        """Let go of the folder and have it removed.

        By an `rm -rf` of its own, waited for off the interpreter's lock: the load's
        module cache holds every zip of the build list unpacked (thousands of files),
        and removing them in Python took a tenth of the web process's CPU during a
        cold walk, beside the client's misses."""
        trash = self.load.folder.with_name(f".gone-{self.load.folder.name}")
        try:
            os.rename(self.load.folder, trash)
        except OSError:
            trash = self.load.folder
        os.close(self._fd)
        try:
            subprocess.run(["rm", "-rf", "--", str(trash)], check=False, timeout=600)
        except (OSError, subprocess.TimeoutExpired):
            shutil.rmtree(trash, ignore_errors=True)
        root = trash.parent
        if root.parent.parent == SHM:
            # In memory, outside the data dir: nothing left once the last load ends.
            for empty in (root, root.parent):
                try:
                    empty.rmdir()
                except OSError:  # another load's, or not empty
                    break


# How much lower than the web processes a load's go command runs (app/cpu.py).
LOAD_NICENESS = BACKGROUND_NICENESS


def _yield_cpu(pid: int) -> None:
    """Let the client walking the graph have the CPU before the load that walks ahead of
    it. Why: on two cores a cold walk has two go commands (the client's and the load's)
    beside the web processes, and the client's own work (checking, hashing, unpacking
    what it gets) was what it waited on; the load mostly waits on the upstream, and
    when the client waits for the load the CPU is the load's anyway (cobra v1.8.1,
    seven alternated pairs: 0.51 s against 0.65 s, 2026-12-05)."""
    lower_process(pid, LOAD_NICENESS)


class _Handed:
    """The go.mod files of a load handed on so far; each call hands on the new ones."""

    def __init__(self, load: Load,
                 on_mods: Callable[[dict[tuple[str, str], Path]], None] | None) -> None:
        self.load, self.on_mods = load, on_mods
        self.seen: set[tuple[str, str]] = set()

    def new_ones(self) -> int:
        """Hand on the go.mod files verified since the last call; how many there are."""
        mods = self.load.verified_mods()
        new = {key: path for key, path in mods.items() if key not in self.seen}
        if new and self.on_mods is not None:
            try:
                self.on_mods(new)
            except Exception:  # the taker's trouble; the load goes on
                log.exception("handing on the go.mod files of %s failed", self.load.folder.name)
        self.seen |= set(new)
        return len(mods)
