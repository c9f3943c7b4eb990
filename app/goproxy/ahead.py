"""Cold ``.mod`` misses answered from a graph loaded ahead of the client.

The first cold ``.mod`` miss of a walk starts one load of its version's graph and
build-list zips (app/fetch/ahead.py) in a thread of this process and is answered
with the go.mod that load verified; the client's next levels find theirs in the same
load (any web process of the host looks), so a walk costs about one go command
instead of one capture per version. The client's ``.info`` and ``.zip`` misses are
answered from the same load (a zip once judged by the capture's own checks:
app/pipeline/gate.py), and the thread captures every version of the build list from
the zips the load fetched (the usual capture: stored, described, through the license
gate) once the client's walk pauses, so the captures' CPU is not taken from it.

A go.mod answered this way is kept first as a graph file (app/models.GraphMod), so
it is served the same bytes from the store ever after, whatever becomes of the
version's own capture.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from uuid import uuid4

from flask import Flask

from app.cpu import lower_this_thread
from app.fetch import ahead, verified
from app.fetch.download import go_directive
from app.fetch.errors import InvalidModule
from app.fetch.info import info_time
from app.fetch.zipchecker import Checks
from app.goproxy.behind import Behind
from app.goproxy.published import ServedFile
from app.ingest import capture_on_miss
from app.locks import LockTimeout
from app.models import UNCAPTURED
from app.pipeline import zipjudge
from app.pipeline.capture import capture_graph_mods
from app.pipeline.gate import Servable, judge_ahead
from app.pipeline.stages import Pipeline
from app.resources import Services

log = logging.getLogger("depot.goproxy")

# Seconds a miss waits for a load's graph (its own, or one that reads its go.mod).
WAIT = 20.0
# Loads one process runs at once; a cold miss beyond them is a capture of its own.
MOST_LOADS = 2
# A load's versions are captured once no client has walked a graph through this host
# for QUIET seconds after it was served every zip of the load (QUIET_UNFINISHED when
# not), or LONGEST seconds after the load's go command ended in any case (why these:
# docs/pipeline.md, "loads ahead").
QUIET = 1.0
QUIET_UNFINISHED = 4.0
LONGEST = 10.0
# How often the owner of a load scans its module cache for zips to judge that the go
# command put there (those Depot fetches itself are handed to the judge as they come).
# A scan is a few hundred stats: at ahead.POLL they took 0.23 s of CPU in a cold gin
# v1.10.0 walk, beside a client using both cores.
JUDGE_POLL = 0.1


def _drained(placed: queue.SimpleQueue[tuple[str, str]], wait: float
             ) -> list[tuple[str, str]]:
    """What ``placed`` holds, waiting up to ``wait`` seconds for a first one."""
    found = []
    try:
        found.append(placed.get(timeout=wait) if wait > 0 else placed.get_nowait())
        while True:
            found.append(placed.get_nowait())
    except queue.Empty:
        return found


def _verdict(kept: Path) -> Servable | None:
    """A judgement kept beside a load, None when there is none (yet)."""
    try:
        return Servable(**json.loads(kept.read_bytes()))
    except (OSError, ValueError, TypeError):
        return None


def walk_over(paused: float, all_zips_served: Callable[[], bool],
              load_ended_ago: float | None) -> bool:
    """Whether a load's captures may start: the client's walk paused once it had every
    zip the load verified, or paused long (a build asks for the zips of its packages
    only), or the load ended long enough ago."""
    if paused >= QUIET_UNFINISHED or (paused >= QUIET and all_zips_served()):
        return True
    return load_ended_ago is not None and load_ended_ago >= LONGEST


class AheadLoads:
    """The graph loads this process runs for cold ``.mod`` misses."""

    def __init__(self, app: Flask, services: Services) -> None:
        self._app = app
        self._services = services
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], ahead.Load] = {}
        self._helping: set[ahead.Load] = set()
        self._helped: set[str] = set()
        self._looked = 0.0
        self._names = count(1)
        if services.settings.on_miss == "fetch" and services.settings.miss_ahead > 0:
            try:  # asked once per process; not in the first miss a client waits for
                go_directive(services.settings, services.work_dir)
            except Exception:  # a missing toolchain says so at the miss
                pass

    def mod(self, module: str, version: str) -> ServedFile | None:
        """module@version's go.mod from a load of this host (started for it when none
        reads it), kept in the store first; None when no load gets it (the caller
        then captures the version itself, which says why)."""
        settings = self._services.settings
        if settings.miss_ahead <= 0:
            return None
        ahead.note_walk(settings)
        found = ahead.find_mod(settings, module, version, WAIT)
        if found is None:
            load = self._start(module, version)
            if load is None:
                return None
            found = ahead.find_mod(settings, module, version, WAIT, also=load)
        if found is None:
            return None
        load = ahead.load_of(settings, found)
        self._help(load)
        if load is not None and verified.vouched_h1(load.modcache, module, version):
            return self._as_verified(found)
        return self._keep(module, version, found)

    @staticmethod
    def _as_verified(found: Path) -> ServedFile | None:
        """A go.mod the load's go command checked against the checksum database (it
        holds the database's record of the version), served as it is; the load keeps it
        as a graph file once its zips are in (:meth:`_keep_mods`).

        Why not keep it first: keeping it in the client's miss (a store write and two
        database sessions) took 5-12 ms of each cold go.mod, the median (up to 96 ms),
        where the upstream answered in 1-2; a cold gin v1.10.0 walk spent 0.3-0.5 s of
        its go.mod level there. The bytes cannot differ later: any copy Depot ever
        stores of this go.mod is checked against the same record of the database, whose
        hash covers every byte."""
        try:
            body = found.read_bytes()
        except OSError:  # the load ended meanwhile: the caller captures
            return None
        return ServedFile(hashlib.sha256(body).hexdigest(), len(body), body, None)

    def _start(self, module: str, version: str) -> ahead.Load | None:
        key = (module, version)
        with self._lock:
            if key in self._running:
                return self._running[key]
            if len(self._running) >= MOST_LOADS:
                return None
            try:
                loading = ahead.Loading(self._services.settings,
                                        f"{os.getpid()}-{next(self._names)}-{uuid4().hex[:8]}")
            except OSError:  # a full or read-only data dir: the miss captures itself
                log.exception("no graph load ahead for %s@%s", module, version)
                return None
            self._running[key] = loading.load
        threading.Thread(target=self._run, args=(key, loading),
                         name=f"ahead {module}@{version}", daemon=True).start()
        return loading.load

    def _run(self, key: tuple[str, str], loading: ahead.Loading) -> None:
        loader = threading.Thread(target=self._load, args=(key, loading),
                                  name=f"load {key[0]}@{key[1]}", daemon=True)
        loader.start()
        # A helper in another web process captures from the front, in path order,
        # while a thread of this one starts from the other end, below the client's
        # priority; this one judges every zip as it comes, at the client's: its
        # ``.zip`` misses wait for that.
        capturer = threading.Thread(target=self._capture_behind,
                                    args=(key, loading.load, loader.is_alive),
                                    name=f"capture {key[0]}@{key[1]}", daemon=True)
        capturer.start()
        try:
            self._judge_all(loading.load, running=loader.is_alive, placed=loading.placed)
        except Exception:  # an optimisation: the misses judge for themselves
            log.exception("judging the build list of %s@%s ahead failed", *key)
        finally:
            capturer.join()
            loader.join()
            with self._lock:
                self._running.pop(key, None)
            loading.close()

    def _capture_behind(self, key: tuple[str, str], load: ahead.Load,
                        running: Callable[[], bool]) -> None:
        lower_this_thread()
        try:
            self._capture(load, reverse=True, running=running)
        except Exception:  # an optimisation: the misses capture for themselves
            log.exception("capturing the build list of %s@%s ahead failed", *key)

    def _judge_all(self, load: ahead.Load, running: Callable[[], bool],
                   placed: queue.SimpleQueue[tuple[str, str]]) -> None:
        """Judge each zip the load verifies as it comes (:meth:`zip` answers from that),
        its version recorded as pending, until the load ends. The zips this process puts
        in place come through ``placed`` at once; the module cache is scanned besides
        (for those the go command fetched) every JUDGE_POLL seconds."""
        judged: set[tuple[str, str]] = set()
        with self._app.app_context():
            while load.folder.exists():
                more = running()  # asked before looking: a last look follows the end
                fresh = sorted(load.verified_zips() - judged)
                if not fresh and not more:
                    return
                while fresh:
                    self._judge(load, fresh)
                    judged.update(fresh)
                    fresh = sorted(set(_drained(placed, 0.0)) - judged)
                fresh = sorted(set(_drained(placed, JUDGE_POLL)) - judged)
                if fresh:
                    self._judge(load, fresh)
                    judged.update(fresh)

    def _load(self, key: tuple[str, str], loading: ahead.Loading) -> None:
        try:
            settings = self._services.settings
            _entries, problem = loading.run(
                *key, zips_max=settings.miss_ahead, on_mods=self._keep_mods,
                checks=Checks(zipjudge.__name__, zipjudge.judge_fetched,
                              {"license_allow": settings.license_allow}))
            if problem:
                log.info("%s@%s: graph loaded ahead in part: %s", *key,
                         problem.splitlines()[-1][:300])
        except Exception:
            log.exception("loading the graph of %s@%s ahead failed", *key)

    def _capture(self, load: ahead.Load, reverse: bool, running: Callable[[], bool]) -> int:
        """Capture a load's versions once its go command has verified their zips, in
        path order (or its reverse), until ``running`` says no more are coming; a version
        another thread or process is capturing is left to it. How many this thread went
        through (captured, or found captured).

        Why captures wait for the client's walk to pause (QUIET, LONGEST): the client
        is answered from the load's verified files meanwhile (:meth:`mod`, :meth:`info`,
        :meth:`zip`), and the captures' CPU (zip checks, license scans, store and
        database writes: 25-40 ms each) took the client's share of the two cores, and
        each of the client's zips waited for one (a cold cobra v1.8.1 walk, ten
        alternated pairs: median 0.76 s with them as the zips came, 0.68 s with them
        after the walk, docs/bench.md)."""
        taken = 0
        tried: set[tuple[str, str]] = set()
        ended: float | None = None
        with self._app.app_context():
            while load.folder.exists():
                more = running()  # asked before looking: a last look follows the end
                if not more and ended is None:
                    ended = time.monotonic()
                # Whether captures may start is asked before the load's files are looked
                # at: a scan is a few hundred stats, and a walk lasts seconds.
                may = self._may_capture(load, ended)
                if not may and more:
                    time.sleep(ahead.POLL)
                    continue
                verified = load.verified_zips()
                ready = sorted((key for key in verified if key not in tried), reverse=reverse)
                if not ready or not may:
                    if not ready and not more:
                        break
                    time.sleep(ahead.POLL)
                    continue
                module, version = ready[0]
                tried.add((module, version))
                try:
                    capture_on_miss(self._services, module, version, Behind(),
                                    lock_timeout=0.0)
                    taken += 1
                except LockTimeout:
                    continue
                except Exception:  # one member's trouble is its own misses' to tell
                    log.exception("capturing %s@%s ahead failed", module, version)
        return taken

    def _may_capture(self, load: ahead.Load, ended: float | None) -> bool:
        return walk_over(ahead.walk_paused_for(self._services.settings),
                         load.all_zips_served,
                         None if ended is None else time.monotonic() - ended)

    def _judge(self, load: ahead.Load, keys: list[tuple[str, str]]) -> None:
        """Record the versions of the zips just verified as pending, and judge those no
        capture has gated yet (kept beside the load for every web process). Why pending:
        a process killed before their captures leaves them to the workers' sweep, never
        served and forgotten (a zip is served only once its version is recorded:
        :meth:`zip` records it itself when this thread has not come to it yet)."""
        with self._services.db.session() as session:
            pipeline = Pipeline(self._services, Behind())
            uncaptured = [key for key in keys
                          if pipeline.ensure_pending(session, *key)[0].state in UNCAPTURED]
        for key in keys:
            load.note_recorded(*key)
        for module, version in uncaptured:
            entry = load.ready_entry(module, version)
            if entry is not None:
                self._judged(load, entry)

    def _judged(self, load: ahead.Load, entry: dict) -> Servable:
        """Whether a zip the load verified may be served before its capture, judged once
        per host (app/pipeline/gate.judge_ahead).

        Under a lock per zip that every process of the host takes: a client's ``.zip``
        miss that comes while the owner's thread judges that zip waits for its verdict
        rather than judging it again beside it (on two cores, beside the client)."""
        kept = load.gate_file(entry["Path"], entry["Version"])
        found = _verdict(kept)
        if found is not None:
            return found
        try:
            kept.parent.mkdir(exist_ok=True)
            lock = os.open(kept.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # the load ended meanwhile: judged here, for this answer
            return judge_ahead(self._services.settings, entry)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released by the OS if its holder dies
            found = _verdict(kept)
            if found is not None:
                return found
            judged = judge_ahead(self._services.settings, entry)
            try:
                load.keep_verdict(entry["Path"], entry["Version"], asdict(judged))
            except OSError:  # the load ended meanwhile; the verdict stands for this answer
                pass
            return judged
        finally:
            os.close(lock)

    def zip(self, module: str, version: str) -> ServedFile | None:
        """module@version's zip as a load of this host verified it, opened for one
        answer, once judged servable: the module-zip rules and the license gate let it
        through, exactly as its capture will on these bytes. None when no load has it
        or the judgement says no: the miss then waits for the capture, which refuses
        it with the reason, or serves it.

        Why not wait for the capture: see :meth:`_capture`; a zip was the last file a
        cold walk waited for (cobra v1.8.1: 50 ms for each of three captures)."""
        settings = self._services.settings
        if settings.miss_ahead <= 0:
            return None
        ahead.note_walk(settings)
        entry = ahead.find_entry(settings, module, version, WAIT)
        load = None if entry is None else ahead.load_of(settings, Path(entry["Zip"]))
        if entry is None or load is None:
            return None
        judged = self._judged(load, entry)
        if not judged.served:
            return None
        if not load.recorded(module, version):  # the owner's judge has not come to it yet
            self._judge(load, [(module, version)])
        try:
            opened = open(entry["Zip"], "rb")  # closed with the answer
        except OSError:  # the load ended meanwhile: its capture has the version
            return None
        load.note_served(module, version)
        return ServedFile(judged.sha256, judged.size, None, None, opened=opened)

    def help_running(self) -> None:
        """Help every load of another process running now: this one just served a go.mod
        some load kept ahead of the client (a walk is on), and that walk's next misses
        are hits, which never ask for a load's file (looked at most every 20 ms)."""
        ahead.note_walk(self._services.settings)
        now = time.monotonic()
        with self._lock:
            if now - self._looked < 0.02 or self._services.settings.miss_ahead <= 0:
                return
            self._looked = now
        for load in ahead.active_loads(self._services.settings):
            self._help(load)

    def _help(self, load: ahead.Load | None) -> None:
        """Capture, from the front, the build list of another process's load (once).

        Why: the owner captures from the back in one thread, under its process's GIL,
        while the other web process sat idle; the client then waited for captures one
        core did after the other (a cold cobra v1.8.1 walk: 0.19 s of its 0.5 s)."""
        with self._lock:
            if (load is None or load in self._running.values() or load in self._helping
                    or load.folder.name in self._helped or len(self._helping) >= MOST_LOADS):
                return
            self._helping.add(load)
            if len(self._helped) > 256:  # names are unique: old ones never come back
                self._helped.clear()
            self._helped.add(load.folder.name)  # once: its next go.mod hits ask again
        threading.Thread(target=self._help_run, args=(load,), name=f"help {load.folder.name}",
                         daemon=True).start()

    def _help_run(self, load: ahead.Load) -> None:
        lower_this_thread()
        try:
            log.info("helping the load %s capture its build list", load.folder.name)
            taken = self._capture(load, reverse=False, running=load.running)
            log.info("went through %d versions of the load %s", taken, load.folder.name)
        except Exception:  # an optimisation, as the owner's
            log.exception("helping with the load %s failed", load.folder.name)
        finally:
            with self._lock:
                self._helping.discard(load)

    def _keep_mods(self, mods: dict[tuple[str, str], Path]) -> None:
        """Keep the go.mod files the load verified as graph files (as they come without
        a checksum database; with one, once the zips are in: :meth:`_as_verified`), so
        the client's next level is a hit. Why: keeping each one in the client's own miss (a
        store write and two database sessions, 8-38 ms beside the other threads) was
        most of each level of a cold walk."""
        capture_graph_mods(self._services, mods)

    def info(self, module: str, version: str) -> ServedFile | None:
        """module@version's ``.info`` as a load of this host fetched it for its build
        list, waiting while a load that will is still running; None when no load has it.
        The capture stores these same bytes (its fetch/download.describe reads the
        load's files), so the client gets what Depot serves ever after. A ``.info`` is
        metadata, as a go.mod is, answered before the license gate as a go.mod is; the
        zip it describes still has to be verified and judged (:meth:`zip`).

        Why not wait for the zip or the capture: a cold walk asks for every ``.info``
        before its first ``.zip``; each waited for its version's capture (cobra v1.8.1:
        50-130 ms, a third of the walk), then for the load's download of the zip (up
        to 110 ms when the upstream was slow), while the client could have been asking
        for the zips, which the load fetches meanwhile.

        A ``.info`` its capture will refuse (a Time far past now: fetch/download.info_time)
        is not answered: its miss waits for the capture, which says why (410)."""
        settings = self._services.settings
        if settings.miss_ahead <= 0:
            return None
        ahead.note_walk(settings)
        found = ahead.find_info(settings, module, version, WAIT)
        if found is None:
            return None
        try:
            body = found.read_bytes()
        except OSError:  # the load ended meanwhile: its capture has the version
            return None
        try:
            info_time(module, version, body, datetime.now(UTC))
        except InvalidModule:
            return None
        return ServedFile(hashlib.sha256(body).hexdigest(), len(body), body, None)

    def _keep(self, module: str, version: str, found: Path) -> ServedFile | None:
        """Keep the verified go.mod as a graph file and serve what the store holds."""
        store = self._services.store
        try:
            capture_graph_mods(self._services, {(module, version): found})
            body = store.read_bytes(module, version, "mod")
            path = store.local_path(module, version, "mod")
        except Exception:  # any store trouble: the caller captures
            log.exception("keeping the go.mod of %s@%s failed", module, version)
            return None
        return ServedFile(hashlib.sha256(body).hexdigest(), len(body), body, path)
