"""A graph load's zips fetched by Depot itself, each checked against the checksum
database's record that the load's go command verified.

Why: `go mod download all` unpacks every zip it fetches into its module cache, and a
load only ever serves the zip. On two cores that unpacking was CPU taken from the
client walking beside it (a cold gin v1.10.0 walk: the load's go command used 2.0 s
of CPU, the client 2.1 s, and the walk took 3.1 s where the upstream alone took 1.3).
Loading the graph alone (`go list -m all`) checks every go.mod against the checksum
database, and the go command keeps each lookup record it has verified (its sumdb
client writes the record to the cache only after checking it against the signed
tree). That record holds the zip's ``h1:`` too: a zip whose content hashes to it is
the zip the database vouches for, wherever its bytes came from. Fetching and hashing
gin's 30 zips this way costs 0.7 s of CPU.

A zip is put in the load's module cache the way the go command puts one there (its
hash first, then the zip by a rename), so a load's readers see no difference.
Nothing is trusted for having been placed: a capture hashes the zip again
(app/fetch/download.describe).
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from uuid import uuid4

from app.config import Settings
from app.fetch.upstream import UpstreamUnavailable, connect, fetch_file
from app.fetch.zipchecker import check_rules_and_hash
from app.gomod import versions, zipcheck
from app.gomod.errors import GoModError
from app.gomod.paths import escape_path, escape_version

log = logging.getLogger("depot.fetch")

# A .info is a few hundred bytes; the go command refuses one past a megabyte.
INFO_MAX = 1 << 20


def vouched_h1(modcache: Path, module: str, version: str) -> str | None:
    """The zip's ``h1:`` from the checksum database's record of module@version that a
    go command using ``modcache`` has verified; None when it verified none (the
    database is off, the path is exempt, or the go.mod was never looked up)."""
    try:
        name = f"{escape_path(module)}@{escape_version(version)}"
    except GoModError:
        return None
    databases = modcache / "cache" / "download" / "sumdb"
    try:
        names = sorted(os.listdir(databases))
    except OSError:
        return None
    for database in names:
        try:
            record = (databases / database / "lookup" / name).read_bytes()
        except OSError:
            continue
        for line in record.decode("utf-8", "replace").split("\n\n", 1)[0].splitlines():
            fields = line.split()
            if (len(fields) == 3 and fields[0] == module and fields[1] == version
                    and fields[2].startswith("h1:")):
                return fields[2]
    return None


def fetch_verified(settings: Settings, modcache: Path, module: str, version: str,
                   check: Callable[[dict], dict] = check_rules_and_hash,
                   keep: Callable[[dict], None] | None = None) -> str:
    """Fetch module@version's zip (and its .info, when the go command has not) into
    ``modcache`` from the upstream, and keep it only when it follows the module-zip
    rules and hashes to what the checksum database vouches for. "" when it is in
    place, else why not (the caller leaves the version to the go command).

    ``check`` answers both for a request (``path``, ``module``, ``version``, ``info``):
    an ``h1``, or an ``error`` with the rule broken; ``keep`` is handed a good answer
    before the zip is put in place (what else the check found out is then there when
    anyone sees the zip)."""
    expected = vouched_h1(modcache, module, version)
    if expected is None:
        return "no verified checksum-database record"
    try:
        stem = (modcache / "cache" / "download" / escape_path(module) / "@v"
                / escape_version(version))
    except GoModError as exc:
        return str(exc)
    zip_path, info_path = stem.with_name(stem.name + ".zip"), stem.with_name(stem.name + ".info")
    if zip_path.is_file():
        return ""
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)  # the go command made it, as a rule
    except OSError as exc:
        return f"no folder for the zip: {exc}"
    if not info_path.is_file():
        problem = _fetch_into(settings, module, version, "info", info_path, INFO_MAX)
        if problem:
            return problem

    def accepted(partial: Path) -> str:
        try:
            answer = check({"path": str(partial), "module": module, "version": version,
                            "info": str(info_path)})
        except GoModError as exc:
            answer = {"error": str(exc)}
        if "error" in answer or "h1" not in answer:
            return f"the zip breaks the module-zip rules: {answer.get('error', 'no hash')}"
        if answer["h1"] != expected:
            log.warning("%s@%s: the upstream's zip hashes to %s, the checksum database "
                        "says %s: left to the go command", module, version, answer["h1"],
                        expected)
            return f"checksum mismatch: downloaded {answer['h1']}, checksum database {expected}"
        if keep is not None:
            keep(answer)
        ziphash = stem.with_name(f"{stem.name}.ziphash.{uuid4().hex}.partial")
        ziphash.write_text(answer["h1"])
        os.replace(ziphash, stem.with_name(stem.name + ".ziphash"))
        return ""

    return _fetch_into(settings, module, version, "zip", zip_path, zipcheck.MAX_ZIP_SIZE,
                       accepted)


def _fetch_into(settings: Settings, module: str, version: str, kind: str, dest: Path,
                limit: int, accept: Callable[[Path], str] | None = None) -> str:
    """One upstream file put in place whole (a rename), once ``accept`` has nothing
    against it; "" when it is in place, else why not."""
    partial = dest.with_name(f"{dest.name}.{uuid4().hex}.partial")
    try:
        if not fetch_file(settings, module, version, kind, partial, limit):
            return f"the upstream has no such .{kind} (or one too large)"
        problem = "" if accept is None else accept(partial)
        if problem:
            return problem
        os.replace(partial, dest)
        return ""
    except (OSError, UpstreamUnavailable) as exc:
        return f"fetching the .{kind} failed: {exc}"
    finally:
        partial.unlink(missing_ok=True)


class Prefetch:
    """The zips of a graph being loaded, fetched by ``workers`` threads as its go.mod
    files come, before the build list is known; ``placed`` is told of each one in place.

    Why: the load's go command reads the graph at the pace the client does (both
    wait on the upstream a level at a time), so zips fetched only once it ended were
    still being fetched and hashed when the client asked for them (a cold gin v1.10.0
    walk: its 25 MB zip waited 0.7 s). A go.mod whose version is the highest of its
    path read so far is most likely the one selected: its zip is fetched at once. A
    guess that a later go.mod proves wrong costs one zip fetched for nothing (graphs
    a go 1.17+ consumer loads rarely read two versions of one path)."""

    def __init__(self, settings: Settings, modcache: Path, workers: int, most: int,
                 check: Callable[[dict], dict],
                 keep: Callable[[str, str, dict], None] | None = None,
                 placed: Callable[[str, str], None] | None = None) -> None:
        self.settings, self.modcache, self.most = settings, modcache, most
        self._check, self._keep, self._placed = check, keep, placed
        self._asked: dict[tuple[str, str], Future[str]] = {}
        self._highest: dict[str, str] = {}
        self._offered: set[tuple[str, str]] = set()
        # Waiting to be fetched, first in path order: the order the client's go command
        # asks for zips in (its build list's), so that the one it waits for comes first.
        self._pending: list[tuple[str, str]] = []
        self._changed = threading.Condition()
        self._closing = False
        self._workers = [threading.Thread(target=self._work, name=f"ahead-zip-{n}",
                                          daemon=True) for n in range(workers)]
        for worker in self._workers:
            worker.start()

    def offer(self, read: Iterable[tuple[str, str]]) -> None:
        """Versions whose go.mod the go command has verified: fetch those that lead."""
        for module, version in read:
            if (module, version) in self._offered or len(self._asked) >= self.most:
                continue
            if vouched_h1(self.modcache, module, version) is None:
                continue  # offered again next time: its record may come with it
            self._offered.add((module, version))
            best = self._highest.get(module)
            if best is None or versions.compare(version, best) > 0:
                self._highest[module] = version
                self._ask(module, version)

    def _ask(self, module: str, version: str) -> Future[str]:
        key = (module, version)
        with self._changed:
            if key not in self._asked:
                self._asked[key] = Future()
                heapq.heappush(self._pending, key)
                self._changed.notify()
            return self._asked[key]

    def _work(self) -> None:
        connect(self.settings)  # while the graph loads, before the first zip comes
        while True:
            with self._changed:
                while not self._pending and not self._closing:
                    self._changed.wait()
                if not self._pending:
                    return
                module, version = heapq.heappop(self._pending)
                done = self._asked[(module, version)]
            if not done.set_running_or_notify_cancel():
                continue
            try:
                problem = fetch_verified(self.settings, self.modcache, module, version,
                                         self._check, self._keeper(module, version))
                if not problem and self._placed is not None:
                    self._placed(module, version)
                done.set_result(problem)
            except Exception as exc:
                done.set_exception(exc)

    def _keeper(self, module: str, version: str) -> Callable[[dict], None] | None:
        keep = self._keep
        return None if keep is None else lambda answer: keep(module, version, answer)

    def fetch(self, members: list[tuple[str, str]]) -> list[str]:
        """Every member's zip, those not fetched yet now: why each is not in place ("" for
        each that is)."""
        asked = [self._ask(*key) for key in members]
        problems = []
        for done in asked:
            try:
                problems.append(done.result())
            except Exception as exc:  # any trouble: the go command gets the version
                log.exception("fetching a zip of a load failed")
                problems.append(f"fetching the zip failed: {exc}")
        return problems

    def close(self) -> None:
        """Wait for what runs (it writes into the load's folder) and drop the rest."""
        with self._changed:
            self._closing = True
            dropped = [self._asked[key] for key in self._pending]
            self._pending.clear()
            self._changed.notify_all()
        for done in dropped:
            done.cancel()
        for worker in self._workers:
            worker.join()
