"""The pipeline's stages: discover → process → (license gate) → validate → publish.

``process`` may stop once the version is captured (a GOPROXY miss answers from
there) and leave its build list to a ``complete`` job.

Each stage is a plain method taking strings, safe to run twice, that moves a
version's state forward only after claiming it with a conditional UPDATE (so
two workers never do the same work) and hands follow-up work to a
:class:`Dispatcher`: RQ queues in production, an in-process loop for the
synchronous `ingest` command and the GOPROXY's ``fetch`` miss policy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app.db import rowcount
from app.fetch import ahead, handoff
from app.fetch.download import Failed, Fetched, download, from_entry, module_of_package, resolve
from app.fetch.errors import ChecksumMismatch, FetchError, UpstreamNotFound
from app.fetch.relay import Relay
from app.licenses import Verdict
from app.models import (
    Artifact,
    ArtifactKind,
    BuildListMember,
    LicenseFile,
    Module,
    ModuleVersion,
    Request,
    RequestSource,
    RequestState,
    Requirement,
    VersionState,
    is_held,
)
from app.pipeline.buildlist import (
    BuildList,
    CleanRoom,
    build_list,
    clean_room,
    downloaded_go_mods,
)
from app.pipeline.capture import (
    Outcome,
    capture,
    capture_graph_mods,
    get_module,
    get_version,
    recorded_version,
    tagged_published,
)
from app.pipeline.gate import license_verdict
from app.pipeline.gocache import build_cache
from app.pipeline.lists import sync_list
from app.pipeline.modcache import validation_cache
from app.resources import Services
from app.shorten import cut
from app.store import StoreError
from app.workdirs import work_folder

log = logging.getLogger("depot.pipeline")

# Seconds a capture waits for a graph load ahead that is fetching its version's zip
# (app/fetch/ahead.py) before downloading it itself.
AHEAD_WAIT = 30.0

# States in which a version's bytes are in the store (the validator's staging view).
STORED = frozenset(
    {
        VersionState.processing,
        VersionState.captured,
        VersionState.staged,
        VersionState.validating,
        VersionState.blocked,
        VersionState.published,
    }
)
# States in which a member no longer holds up its dependents' validation: stored, or
# refused for good (Pipeline._readiness says which of these refuse the dependent).
SETTLED = STORED | {VersionState.validation_failed, VersionState.rejected}
# States a processor may start from: never fetched, or the last try failed.
PROCESSABLE = (VersionState.pending, VersionState.failed)
# A retry after a worker died mid-job finds the version where that worker left it.
ORPHANED = {
    "process": (VersionState.fetching, VersionState.processing),
    "complete": (VersionState.processing,),
    "validate": (VersionState.validating,),
}


def some_of(keys: list[str], shown: int = 8, of: int = 0) -> str:
    """A list of ``module@version`` for a reason people read: the first few, then how
    many more (viper@v1.19.0's status page listed 96 members it waited for). ``of``: how
    many modules its build list has, said with a long list ("needs 278 modules" beside
    a Dependencies tab of 30 direct requirements read as a contradiction)."""
    if len(keys) <= shown:
        return ", ".join(keys)
    counted = (f"{len(keys)} of the {of} modules of its build list" if of > len(keys)
               else f"{len(keys)} modules")
    return (f"{counted}: " + ", ".join(keys[:shown])
            + f" and {len(keys) - shown} more (see its dependencies)")


def _awaited(session: Session, version_ids: list[int]) -> set[int]:
    """Those of these versions someone waits for: an open request from a person or a
    client (a seed list waits for nothing in particular)."""
    if not version_ids:
        return set()
    return set(session.scalars(select(Request.version_id).where(
        Request.version_id.in_(version_ids), Request.is_open.is_(True),
        Request.source != RequestSource.seed)))


def _unsettled_members(session: Session, version_ids: list[int]) -> set[int]:
    """Those of ``version_ids`` with a build-list member still on its way (a row not yet
    stored nor refused; a member without a row counts as refused: Pipeline._forget)."""
    if not version_ids:
        return set()
    member = aliased(ModuleVersion)
    return set(session.scalars(
        select(BuildListMember.version_id).distinct()
        .join(Module, Module.path == BuildListMember.path)
        .join(member, (member.module_id == Module.id)
              & (member.version == BuildListMember.member_version))
        .where(BuildListMember.version_id.in_(version_ids), member.state.not_in(list(SETTLED)))
    ))


class Dispatcher(Protocol):
    """Where a stage sends follow-up work: ``stage`` is discover, process, complete,
    validate, index or notify; the arguments are strings (job-queue friendly). A
    dispatcher may also have ``withdraw(stage, *args)`` (drop queued work another job
    has done meanwhile), ``has_job(stage, *args)`` (is that work queued or running)
    and ``in_lane(bulk)`` (the same dispatcher for bulk or urgent work)."""

    def enqueue(self, stage: str, *args: str) -> None: ...


# A build list with more members to fetch than this is crawled in the bulk lane: the
# small trees of other requests (and what clients ask for) go first.
SMALL_BUILD_LIST = 24


class TransientError(Exception):
    """A stage failed for a reason that may pass (upstream down, timeout); retry it."""


def _now() -> datetime:
    return datetime.now(UTC)


def claim_row(session: Session, row: ModuleVersion, sources: tuple, target: VersionState,
              reason: str = "") -> bool:
    """Move a version's row from one of ``sources`` to ``target`` unless someone else did."""
    values = {"state": target, "updated_at": _now()}
    if reason:
        values["reason"] = reason
    done = session.execute(
        update(ModuleVersion)
        .where(ModuleVersion.id == row.id, ModuleVersion.state.in_(sources))
        .values(**values)
    )
    return rowcount(done) == 1


class Pipeline:
    def __init__(self, services: Services, dispatcher: Dispatcher, reclaim: bool = False,
                 asked: frozenset[tuple[str, str]] = frozenset()) -> None:
        self.services = services
        self.dispatcher = dispatcher
        self.settings = services.settings
        # True when this run retries one whose worker died: its working states are ours.
        self.reclaim = reclaim
        # Versions asked for without a request row (`flask --app app ingest M@V`).
        self.asked = asked

    def _sources(self, stage: str, usual: tuple) -> tuple:
        return usual + ORPHANED[stage] if self.reclaim else usual

    # -- helpers -------------------------------------------------------------------------

    @contextmanager
    def _workdir(self, prefix: str) -> Iterator[Path]:
        with work_folder(self.services.work_dir, prefix) as path:
            yield path

    def _claim(
        self, module: str, version: str, sources: tuple, target: VersionState, reason: str = ""
    ) -> bool:
        """Move a version from one of ``sources`` to ``target`` unless someone else did."""
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            return row is not None and claim_row(session, row, sources, target, reason)

    def _set(self, module: str, version: str, state: VersionState, reason: str = "") -> None:
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            if row is not None:
                row.state, row.reason = state, reason

    def notify(self, kind: str, **fields: str) -> None:
        self.dispatcher.enqueue("notify", kind, json.dumps(fields, sort_keys=True))

    def _close_requests(self, session: Session, row: ModuleVersion) -> None:
        session.execute(
            update(Request).where(Request.version_id == row.id, Request.is_open.is_(True))
            .values(is_open=False, updated_at=_now())
        )

    def _finish(self, module: str, version: str, state: VersionState, reason: str) -> None:
        """A final verdict for a version: record it, close its requests, tell people."""
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            if row is None:
                return
            row.state, row.reason = state, reason
            self._close_requests(session, row)
        if state == VersionState.rejected:
            self.notify("request_rejected", module=module, query=version, reason=reason)
        elif state in (VersionState.failed, VersionState.validation_failed):
            self.notify("request_failed", module=module, query=version, reason=reason)
        if state in SETTLED:
            self._unblock(module, version)  # what waited for it can now say why it cannot be

    def give_up(self, stage: str, module: str, version: str, error: BaseException) -> None:
        """The last attempt of a ``stage`` job raised: its version ends ``failed`` with
        why, so what waits for it ends too. Before, an unexpected error (a go.mod
        requiring one path twice broke the requirements table) left the version
        ``fetching`` and its request open for ever, retries spent. A version already
        settled, or failed with its own reason, is left as it is."""
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            if row is None or row.state in SETTLED or row.state == VersionState.failed:
                return
        what = cut(f"{type(error).__name__}: {error}".splitlines()[0], 300)
        log.error("%s %s@%s: giving up after its last attempt: %s", stage, module, version,
                  what)
        self._finish(module, version, VersionState.failed,
                     f"{stage} failed ({what}); request it again to retry")

    def ensure_pending(self, session: Session, module: str, version: str) -> tuple[
        ModuleVersion, bool
    ]:
        """The version's row, created as pending if new; True when it needs processing."""
        row = get_version(session, module, version)
        if row is None:
            mod = get_module(session, module)
            try:
                with session.begin_nested():  # another process may insert it first
                    row = ModuleVersion(module_id=mod.id, version=version,
                                        state=VersionState.pending)
                    session.add(row)
                return row, True
            except IntegrityError:
                row = recorded_version(session, module, version)
        if row.state == VersionState.failed:
            return row, True
        return row, row.state == VersionState.pending

    # -- discovery -----------------------------------------------------------------------

    def discover(self, request_id: str) -> None:
        """Turn a request's wish into a concrete version and start its processing once."""
        with self.services.db.session() as session:
            req = session.get(Request, int(request_id))
            if req is None or not req.is_open:
                return
            module, query = req.module, req.query
            # Someone (or a client) waits for it: its work goes ahead of others' trees.
            waited_for = req.source != RequestSource.seed
        version = query
        if query == "latest":
            with self._workdir("resolve-") as workdir:
                try:
                    version = resolve(self.settings, workdir, module, query)
                except FetchError as exc:
                    if not exc.permanent:
                        raise TransientError(exc.reason) from exc
                    reason = exc.reason
                    if isinstance(exc, UpstreamNotFound):
                        reason = self._instead(module, query, exc.reason)
                    self._end_request(int(request_id), RequestState.rejected, reason)
                    return
        with self.services.db.session() as session:
            req = session.get_one(Request, int(request_id))
            row, needs_work = self.ensure_pending(session, module, version)
            req.version_id, req.state = row.id, RequestState.resolved
            state = row.state
            settled = state in (VersionState.published, VersionState.rejected,
                                VersionState.validation_failed)
            held = is_held(state, row.redistributable)
            if settled or held:
                req.is_open = False  # nothing more will happen for this wish
        if needs_work:
            self.dispatcher.enqueue("process", module, version)
        if not waited_for:
            return
        if needs_work:
            self._hurry("process", [f"{module}@{version}"])
        elif state == VersionState.blocked:
            # Validated again as asked work, which hurries the few members it lacks
            # (testify@v1.9.0, blocked as another tree's member a minute before it was
            # asked for, then waited 9 minutes for one module).
            self._ask("validate", module, version)
        elif state == VersionState.captured:  # captured by a miss: its build list next
            self._hurry("complete", [f"{module}@{version}"])

    def _end_request(self, request_id: int, state: RequestState, reason: str) -> None:
        with self.services.db.session() as session:
            req = session.get_one(Request, request_id)
            req.state, req.reason, req.is_open = state, reason, False
            module, query = req.module, req.query
        kind = "request_rejected" if state == RequestState.rejected else "request_failed"
        self.notify(kind, module=module, query=query, reason=reason)

    # -- processor -----------------------------------------------------------------------

    def process(self, module: str, version: str, defer: bool = False,
                on_stored: Callable[[], None] | None = None, claimed: bool = False
                ) -> Outcome:
        """Fetch, store, gate and describe one version; enqueue what its build list lacks.

        With ``defer`` it stops once the bytes are stored, checksum-verified and through
        the license gate (``captured``) and queues the rest as a ``complete`` job: a
        GOPROXY miss answers then, with the build list and validation behind it.
        ``on_stored`` is called once the verified bytes are in the store, before the
        license gate: a ``.mod`` miss can be answered then (app/goproxy/early.py).
        ``claimed``: the caller moved the version to ``fetching`` already.
        """
        if not claimed and not self._claim(module, version,
                                           self._sources("process", PROCESSABLE),
                                           VersionState.fetching):
            if self.reclaim:
                self._resume_after_process(module, version)
            return Outcome(module, version, "skipped", "not waiting for processing")
        with self._workdir("process-") as workdir:
            fetched = (self._downloaded_ahead(workdir, module, version)
                       or download(self.settings, workdir, module, version))
            if isinstance(fetched, Failed):
                return self._fetch_failed(module, version, fetched.error)
            try:
                outcome = capture(self.services, fetched, VersionState.processing)
            except StoreError as exc:
                # A full or unreachable store: nothing was kept; try again later.
                reason = f"store: {exc}"
                self._set(module, version, VersionState.failed, reason)
                raise TransientError(reason) from exc
            for fields in outcome.drifts:
                self.notify("upstream_drift", **fields)
            if not outcome.ok:
                handoff.take(self.settings, module, version)
                self._finish(module, version, VersionState.failed, outcome.reason)
                return outcome
            handoff.captured(self.settings, module, version)
            if on_stored is not None:
                on_stored()
            # The names just recorded, unless an earlier capture's rows stand.
            names = fetched.report.licenses if outcome.status == "stored" else None
            self._license_gate(module, version, fetched.zip_path, names,
                               then=VersionState.captured if defer else None)
        if defer:
            self.dispatcher.enqueue("complete", module, version)
            self._unblock(module, version)  # stored is all its dependents' validation needs
            return outcome
        return self._describe_graph(module, version, outcome)

    def _downloaded_ahead(self, workdir: Path, module: str, version: str
                          ) -> Fetched | Failed | None:
        """The version as a graph load ahead of a client downloaded it (one go command
        for a whole build list: app/fetch/ahead.py), waiting while such a load on this
        host is still fetching it; None when none has it."""
        entry = ahead.find_entry(self.settings, module, version, AHEAD_WAIT)
        if entry is None:
            return None
        try:
            return from_entry(self.settings, workdir, entry)
        except OSError:
            return None  # the load ended meanwhile: download it ourselves

    def process_queued(self, module: str, version: str) -> Outcome:
        """A ``process`` job taken from a queue. A version someone waits for (its own open
        request) is processed whole; any other (a member of someone's build list, a seed)
        is only fetched, stored and gated (``captured``: all its dependents' validation
        needs) and its build list is left to a ``complete`` job in the crawl lane.

        Why: each member's own build list queues members of members, and in the urgent
        lane that recursion ran ahead of everything a waiting request still lacked. With 55
        big requests open, the workers ran 200 `complete` and 470 validations of such
        trees before the first job of a waiting request's big build list (corpus run of
        2026-12-04); the request ends when its version is published (models.vouched)."""
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            waited = row is not None and bool(_awaited(session, [row.id]))
        if waited:
            return self.process(module, version)
        lanes = getattr(self.dispatcher, "in_lane", None)
        crawl = Pipeline(self.services, lanes(True), reclaim=self.reclaim) if lanes else self
        return crawl.process(module, version, defer=True)

    def complete(self, module: str, version: str) -> Outcome:
        """The rest of a deferred ``process``: build list, staging, validation queued."""
        if not self._claim(module, version, self._sources("complete", (VersionState.captured,)),
                           VersionState.processing):
            if self.reclaim:  # killed between staging it and queueing its validation?
                self._resume_after_process(module, version)
            return Outcome(module, version, "skipped", "not captured")
        return self._describe_graph(module, version, Outcome(module, version, "stored"))

    def _describe_graph(self, module: str, version: str, outcome: Outcome) -> Outcome:
        """Work out a gated version's build list, stage it and queue its validation.

        A version the license gate holds is staged at once: its tree is of no use to
        anyone (hashicorp/terraform@v1.6.0 cost minutes and 266 crawl jobs that way)."""
        with self.services.db.session() as session:
            held = recorded_version(session, module, version).redistributable is False
        tidy = self._asked_for((module, version))
        try:
            members = BuildList([]) if held else self._build_list(module, version, tidy=tidy)
        except FetchError as exc:
            if not exc.permanent:
                # The bytes are kept: a retry (or the workers' sweep) completes it from here.
                with self.services.db.session() as session:
                    row = recorded_version(session, module, version)
                    row.state = VersionState.captured
                    if row.redistributable:  # a held version keeps the gate's reason
                        row.reason = exc.reason
                raise TransientError(exc.reason) from exc
            self._finish(module, version, VersionState.rejected, f"build list: {exc.reason}")
            return Outcome(module, version, "rejected", exc.reason)
        self._record_build_list(module, version, members, tidied=tidy and not held)
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            row.state = VersionState.staged
            served = bool(row.redistributable)
            row.reason = "" if served else row.reason
            reason = row.reason
            awaited = bool(_awaited(session, [row.id]))
            if not served:
                self._close_requests(session, row)
        if served and awaited:
            self._ask("validate", module, version)
        elif served:
            self.dispatcher.enqueue("validate", module, version)
        else:
            self.notify("request_rejected", module=module, query=version, reason=reason)
        self._unblock(module, version)
        return outcome

    def _resume_after_process(self, module: str, version: str) -> None:
        """A retried process or complete job found its version staged: the dead run may
        have been killed between staging it and queueing what follows, so queue that again
        (validation is queued once per version; a finished one is a no-op)."""
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            if row is None:
                return
            state = row.state
            follow = row.redistributable is True
        if state == VersionState.captured:
            self.dispatcher.enqueue("complete", module, version)
            return
        if state not in (VersionState.staged, VersionState.blocked):
            return
        if follow:
            self.dispatcher.enqueue("validate", module, version)
        self._unblock(module, version)

    def _fetch_failed(self, module: str, version: str, error: FetchError) -> Outcome:
        if isinstance(error, UpstreamNotFound):
            self._forget(module, version, error.reason)
            return Outcome(module, version, "not_found", error.reason)
        if isinstance(error, ChecksumMismatch):
            self.notify("checksum_mismatch", module=module, version=version, reason=error.reason)
        if not error.permanent:
            self._set(module, version, VersionState.failed, error.reason)
            raise TransientError(error.reason)
        self._finish(module, version, VersionState.rejected, error.reason)
        return Outcome(module, version, VersionState.rejected.value, error.reason)

    def _instead(self, path: str, query: str, reason: str) -> str:
        """The reason a wish for ``path@query`` that is no module ends with. When the path
        is a package of a module (github.com/spf13/cobra/doc), that module is requested
        in its place, as `go get` would resolve it, and the reason says so."""
        with self._workdir("package-") as workdir:
            found = module_of_package(self.settings, workdir, path, query)
        if found is None:
            return reason
        module, version = found
        request_id = self._request_for(module, version)
        return (f"{path} is a package in module {module}, not a module: requested "
                f"{module}@{version} instead (request {request_id})")

    def _request_for(self, module: str, version: str) -> int:
        """An open request for module@version: an existing one, else a new one whose
        discovery is queued."""
        for _attempt in range(3):
            with self.services.db.session() as session:
                found = session.scalar(select(Request.id).where(
                    Request.module == module, Request.query == version,
                    Request.is_open.is_(True)))
                if found is not None:
                    return found
            try:
                with self.services.db.session() as session:
                    req = Request(module=module, query=version, source=RequestSource.api)
                    session.add(req)
                    session.flush()
                    new_id = req.id
            except IntegrityError:
                continue  # the same wish was opened a moment ago: take that one
            self.dispatcher.enqueue("discover", str(new_id))
            return new_id
        raise TransientError(f"could not record a request for {module}@{version}")

    def _forget(self, module: str, version: str, reason: str) -> None:
        """No such version upstream: nothing to keep (not even the module's row when
        this was its only version), its requests end as rejected (a person's request
        for a package path names the module requested instead)."""
        ended = []
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            if row is None or row.state not in (VersionState.pending, VersionState.fetching):
                return
            asked = session.scalar(select(Request.id).where(
                Request.version_id == row.id, Request.source != RequestSource.miss).limit(1))
        if asked is not None:
            # A person asked (not the go command probing prefixes): worth an upstream look.
            reason = self._instead(module, version, reason)
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            if row is None or row.state not in (VersionState.pending, VersionState.fetching):
                return
            for req in session.scalars(select(Request).where(Request.version_id == row.id)):
                req.state, req.reason, req.is_open, req.version_id = (
                    RequestState.rejected, reason, False, None)
                ended.append(req.query)
            mod = row.module
            session.delete(row)
            session.flush()
            if not session.scalar(select(ModuleVersion.id)
                                  .where(ModuleVersion.module_id == mod.id).limit(1)):
                # Nothing of it exists upstream either (the go command probes every
                # prefix of a path): no module row, so no page that says "Insight 0".
                session.delete(mod)
        for query in ended:
            self.notify("request_rejected", module=module, query=query, reason=reason)
        self._unblock(module, version)  # what waited for it can now say why it cannot be

    def _license_gate(self, module: str, version: str, zip_path: Path,
                      names: list[str] | None = None,
                      then: VersionState | None = None) -> Verdict:
        """Classify the root license files; fail closed (no or unknown license: held).

        ``names``: the version's license files, when the caller knows them; ``then``: a
        state the version moves to with the verdict (one transaction: a capture a
        client waits for wrote four before, a third of its CPU SQLAlchemy's)."""
        if names is None:
            with self.services.db.session() as session:
                row = recorded_version(session, module, version)
                names = [lf.name for lf in row.license_files]
        verdict = license_verdict(self.settings, zip_path, module, version, names)
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            found = {fl.name: fl.spdx_ids for fl in verdict.licenses}
            for lf in session.scalars(select(LicenseFile).where(LicenseFile.version_id == row.id)):
                lf.spdx_id = ",".join(found.get(lf.name, []))
            row.redistributable = verdict.redistributable
            row.reason = "" if verdict.redistributable else verdict.reason
            if then is not None:
                row.state = then
        return verdict

    def _build_list(self, module: str, version: str, tidy: bool) -> BuildList:
        """The build list, tidied (buildlist.build_list) for a version someone waits for.

        A crawled member gets the `go get` graph: tidying unpacks every zip of the graph
        in the run's module cache, and a corpus slice's `complete` jobs went from 0.7 to
        9.4 s each with it, so gin's tree, 29 members, waited 20 minutes (2026-12-04)."""
        # What Depot holds, then what another go command of the host fetched (the relay),
        # then the upstream.
        local = self.services.store.goproxy_url()
        sources = [local] if local else []
        with self._workdir("buildlist-") as workdir:
            try:
                with Relay(self.settings) as relay:
                    members = build_list(
                        self.settings, workdir, module, version,
                        ",".join([*sources, relay.goproxy()]),
                        self.known_sums(module, version), tidy=tidy)
            except FetchError as exc:
                if "checksum" not in exc.reason.lower():
                    raise
                # A handed-off file the go command refused, perhaps: the upstream decides.
                log.warning("%s@%s: build list failed (%s); again without handed-off files",
                            module, version, exc.reason)
                handoff.clear(self.settings)
                workdir = workdir / "again"  # a module cache of its own
                workdir.mkdir()
                members = build_list(
                    self.settings, workdir, module, version,
                    ",".join([*sources, self.settings.upstream]),
                    self.known_sums(module, version), tidy=tidy)
            # Each member's process job takes its files from here instead of the upstream.
            others = members.without(module)
            handoff.offer(self.settings, workdir / "modcache",
                          self._unstored([*others.selected, *others.also]))
            # The go.mod files read but not selected (an unpruned graph reads every
            # version any member requires): a consumer through Depot alone reads them
            # too. Selected members are fetched whole by their own process jobs.
            selected = set(members.selected) | set(members.also) | {(module, version)}
            read = downloaded_go_mods(workdir)
            added = capture_graph_mods(
                self.services, {k: p for k, p in read.items() if k not in selected})
            if added:
                log.info("%s@%s: kept %d go.mod files graph loading reads", module, version,
                         added)
        return members.without(module)

    def _unstored(self, keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The versions among ``keys`` whose bytes Depot does not hold yet."""
        held = set()
        with self.services.db.session() as session:
            for path, ver, state in session.execute(
                select(Module.path, ModuleVersion.version, ModuleVersion.state)
                .join(ModuleVersion, ModuleVersion.module_id == Module.id)
                .where(Module.path.in_(sorted({p for p, _ in keys})))
            ):
                if state in STORED:
                    held.add((path, ver))
        return [k for k in keys if k not in held]

    def known_sums(self, module: str, version: str) -> list[str]:
        """go.sum lines of the versions Depot holds in module@version's build list.

        Handing these to the toolchain spares checksum-database lookups for bytes
        Depot verified when it captured them.
        """
        lines = []
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            keys = {(module, version)}
            if row is not None:
                keys |= {(m.path, m.member_version) for m in row.build_list}
            for path, ver in sorted(keys):
                held = get_version(session, path, ver)
                if held is None or held.state not in STORED:
                    continue
                for art in held.artifacts:
                    if art.kind == ArtifactKind.zip:
                        lines.append(f"{path} {ver} {art.h1}")
                    elif art.kind == ArtifactKind.mod:
                        lines.append(f"{path} {ver}/go.mod {art.h1}")
        return lines

    def retidy(self, module: str, version: str) -> Outcome:
        """A ``tidy`` job: someone asked for a version published as someone else's
        member, whose build list is the `go get` graph; tidy it and fetch what it adds."""
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            due = (row is not None and row.state == VersionState.published
                   and not row.build_list_tidied)
        if not due:
            return Outcome(module, version, "skipped", "build list tidied, or not published")
        self.tidy_build_list(module, version)
        return Outcome(module, version, "published")

    def tidy_build_list(self, module: str, version: str) -> None:
        """Work out again, tidied, the build list of a version first stored as someone
        else's member (the `go get` graph) and asked for now; members it adds are queued
        and its validation waits for them as for any member. Its consumers' `go mod
        tidy` through Depot alone needs them (viper v1.19.0: gopkg.in/check.v1)."""
        try:
            members = self._build_list(module, version, tidy=True)
        except FetchError as exc:
            if not exc.permanent:
                raise TransientError(exc.reason) from exc
            log.info("%s@%s: build list kept untidied (%s)", module, version, exc.reason)
            with self.services.db.session() as session:  # tried once: not on every go
                recorded_version(session, module, version).build_list_tidied = True
            return
        self._record_build_list(module, version, members, tidied=True)

    def _record_build_list(self, module: str, version: str, members: BuildList,
                           tidied: bool = False) -> None:
        to_process = []
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            row.build_list_tidied = tidied
            session.query(BuildListMember).filter_by(version_id=row.id).delete()
            named = [(p, v, True) for p, v in members.selected]
            named += [(p, v, False) for p, v in members.also]
            for path, ver, selected in named:
                session.add(BuildListMember(version_id=row.id, path=path, member_version=ver,
                                            selected=selected))
                _, needs_work = self.ensure_pending(session, path, ver)
                if needs_work:
                    to_process.append((path, ver))
            awaited = bool(_awaited(session, [row.id]))
        lanes = getattr(self.dispatcher, "in_lane", None)
        for_members = getattr(self.dispatcher, "for_members", None)
        target = self.dispatcher
        if lanes is not None and len(to_process) > SMALL_BUILD_LIST:
            # Someone waits for this version: its members are stored ahead of every
            # deeper crawl, their own trees after. With 70 big requests open at once, 40
            # were still blocked on members after 70 minutes while the workers crawled
            # and validated members of members (corpus run of 2026-12-03).
            target = for_members() if awaited and for_members is not None else lanes(True)
        for path, ver in to_process:
            target.enqueue("process", path, ver)

    def _unblock(self, module: str, version: str) -> None:
        """Versions whose validation waited for this one get another go."""
        with self.services.db.session() as session:
            waiting = session.execute(
                select(Module.path, ModuleVersion.version, ModuleVersion.id)
                .join(ModuleVersion, ModuleVersion.module_id == Module.id)
                .join(BuildListMember, BuildListMember.version_id == ModuleVersion.id)
                .where(
                    ModuleVersion.state == VersionState.blocked,
                    BuildListMember.path == module,
                    BuildListMember.member_version == version,
                )
            ).all()
            # Only those with nothing else to wait for: validating a big tree's root on
            # every arrival cost 2,276 validate jobs against 656 fetches in a corpus
            # run, 80 % of all worker time. One that waits on a member nothing moves is
            # the workers' sweep's (requests.redrive_stalled).
            unsettled = _unsettled_members(session, [row.id for row in waiting])
            waiting = [row for row in waiting if row.id not in unsettled]
            asked = _awaited(session, [row.id for row in waiting])
        for path, ver, row_id in waiting:
            if row_id in asked:  # someone waits for it: ahead of everything else
                self._ask("validate", path, ver)
            else:
                self.dispatcher.enqueue("validate", path, ver)

    # -- validator -----------------------------------------------------------------------

    def validate(self, module: str, version: str) -> Outcome:
        """Build a clean-room consumer through Depot alone; promote on success.

        The version is validated together with up to ``validate_batch - 1`` other
        versions that are ready and whose build lists agree with its own (one go
        command start and one compile for all of them); when the batch fails, each
        member is validated alone, so a verdict is always about one version.
        """
        ready = self._sources("validate", (VersionState.staged, VersionState.blocked))
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            state = None if row is None else row.state
        if state not in ready:
            if self.reclaim:
                self._resume_after_validate(module, version, state)
            return Outcome(module, version, "skipped", "not waiting for validation")
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            if row.redistributable is False:
                return Outcome(module, version, "skipped", row.reason)
            untidied = not row.build_list_tidied
        if untidied and self._asked_for((module, version)):
            self.tidy_build_list(module, version)
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            waiting, refused = self._readiness(session, row)
            asked = bool(waiting) and bool(_awaited(session, [row.id]))
            members = len(row.build_list)
        if refused:
            reason = "dependency refused: " + "; ".join(refused)
            self._finish(module, version, VersionState.validation_failed, reason)
            return Outcome(module, version, "validation_failed", reason)
        gave_up = self._stalled(waiting)
        if gave_up:
            # Transient, so not final for the version: a new request tries them again.
            reason = ("dependency failed: " + "; ".join(gave_up)
                      + "; request it again to retry")
            self._finish(module, version, VersionState.failed, reason)
            return Outcome(module, version, "failed", reason)
        if waiting:
            self._set(module, version, VersionState.blocked,
                      "blocked: needs " + some_of(waiting, of=members))
            if asked and len(waiting) <= SMALL_BUILD_LIST:
                self._hurry("process", waiting)
            return Outcome(module, version, "blocked", "needs " + ", ".join(waiting))
        if not self._claim(module, version, ready, VersionState.validating):
            return Outcome(module, version, "skipped", "validated elsewhere")
        batch = [(module, version)]
        if self.reclaim:
            batch += self._orphaned_companions(module, version)
        batch += self._companions(module, version, self.settings.validate_batch - len(batch))
        outcomes = self._validate_together(batch)
        return outcomes[(module, version)]

    def _resume_after_validate(self, module: str, version: str,
                               state: VersionState | None) -> None:
        """A retried validate job whose own version is settled: the dead run may have
        been killed after publishing it and before writing its @v/list, or before it
        concluded the companions it had claimed into its batch; finish both."""
        if state == VersionState.published:
            sync_list(self.services, module)
        orphans = self._orphaned_companions(module, version)
        if orphans:
            log.info("taking back %d companions of a dead batch of %s@%s", len(orphans),
                     module, version)
            self._validate_together(orphans)

    def _readiness(self, session: Session, row: ModuleVersion) -> tuple[list[str], list[str]]:
        """(build-list members still missing, members refused) of a version.

        Refused means no consumer can have the member from anywhere (not found upstream,
        a checksum mismatch, broken zip rules). A member Depot holds but does not serve
        (not redistributable, or its own validation failed) does not keep the version
        out: its files are in the store for the clean room, and the version is
        published with a mark naming what its consumers get elsewhere (requests.status).
        """
        waiting, refused = [], []
        for member in row.build_list:
            path, ver = member.path, member.member_version
            dep = get_version(session, path, ver)
            if dep is None:
                # Every member got a row when the build list was recorded: a missing one
                # was forgotten because the upstream does not have it (_forget).
                refused.append(f"{path}@{ver} (the upstream does not have it or withholds it)")
            elif dep.state == VersionState.rejected:
                refused.append(f"{path}@{ver} ({dep.reason})")
            elif dep.state not in STORED and dep.state != VersionState.validation_failed:
                waiting.append(f"{path}@{ver}")
        return waiting, refused

    def _ask(self, stage: str, module: str, version: str) -> None:
        """Queue work someone waits for, in the urgent lane and then ahead of the rest."""
        lanes = getattr(self.dispatcher, "in_lane", None)
        (lanes(False) if lanes is not None else self.dispatcher).enqueue(stage, module, version)
        self._hurry(stage, [f"{module}@{version}"])

    def _hurry(self, stage: str, keys: list[str]) -> None:
        """Someone waits for these (``module@version``): their waiting ``stage`` jobs go
        to the ``asked`` queue, ahead of every other stage's. Shortest first: in a corpus
        run testify@v1.9.0, lacking one module, waited behind 700 jobs of other requests'
        trees."""
        hurry = getattr(self.dispatcher, "hurry", None)
        if hurry is None:
            return
        for key in keys:
            path, _, ver = key.rpartition("@")
            hurry(stage, path, ver)

    def _stalled(self, waiting: list[str]) -> list[str]:
        """Members this version waits for that nothing is moving: a pending one with no
        job gets its processing queued (a blocked version queues what it lacks itself);
        a failed one whose retries ran out is returned, with its reason. Without a queue
        that can tell (the in-process one), nothing is stalled."""
        has_job = getattr(self.dispatcher, "has_job", None)
        if has_job is None:
            return []
        gave_up = []
        with self.services.db.session() as session:
            for key in waiting:
                path, _, ver = key.rpartition("@")
                dep = get_version(session, path, ver)
                if dep is None or dep.state not in PROCESSABLE or has_job("process", path, ver):
                    continue
                if dep.state == VersionState.pending:
                    self.dispatcher.enqueue("process", path, ver)
                else:
                    gave_up.append(f"{key} ({dep.reason or 'failed'})")
        return gave_up

    @staticmethod
    def _batch_mark(module: str, version: str) -> str:
        # The reason a companion carries while it is validated in someone else's batch,
        # so a retry of that batch's job can take it back if the worker died.
        return f"validating with {module}@{version}"

    def _companions(self, module: str, version: str, limit: int) -> list[tuple[str, str]]:
        """Claim up to ``limit`` ready versions whose build lists agree with this one's.

        A version someone waits for (an open request from a person or a client, not a
        seed list) takes companions from its own build list only: a small request's
        validation must not carry a crawl's versions along."""
        if limit <= 0:
            return []
        picked: list[tuple[str, str]] = []
        with self.services.db.session() as session:
            owner = recorded_version(session, module, version)
            selected = {m.path: m.member_version for m in owner.selected_members}
            selected[module] = version
            query = (
                select(ModuleVersion)
                .where(ModuleVersion.state.in_((VersionState.staged, VersionState.blocked)),
                       ModuleVersion.redistributable.is_(True), ModuleVersion.id != owner.id)
            )
            awaited = session.scalar(select(Request.id).where(
                Request.version_id == owner.id, Request.is_open.is_(True),
                Request.source != RequestSource.seed).limit(1))
            if awaited is not None:
                query = query.join(Module).where(Module.path.in_(
                    [m.path for m in owner.build_list]))
            candidates = session.scalars(
                query.order_by(ModuleVersion.id).limit(limit * 4)).all()
            for cand in candidates:
                if len(picked) >= limit:
                    break
                closure = {m.path: m.member_version for m in cand.selected_members}
                closure[cand.module.path] = cand.version
                if any(selected.get(p, v) != v for p, v in closure.items()):
                    continue  # one consumer cannot select two versions of a module
                waiting, refused = self._readiness(session, cand)
                if waiting or refused:
                    continue  # its own job will say why
                selected.update(closure)
                picked.append((cand.module.path, cand.version))
        mark = self._batch_mark(module, version)
        claimed = [
            (path, ver) for path, ver in picked
            if self._claim(path, ver, (VersionState.staged, VersionState.blocked),
                           VersionState.validating, reason=mark)
        ]
        withdraw = getattr(self.dispatcher, "withdraw", None)
        if withdraw:
            for path, ver in claimed:
                withdraw("validate", path, ver)  # spare a worker the job that would find it done
        return claimed

    def _orphaned_companions(self, module: str, version: str) -> list[tuple[str, str]]:
        """Versions a dead run of this job had taken into its batch."""
        with self.services.db.session() as session:
            return [
                (path, ver) for path, ver in session.execute(
                    select(Module.path, ModuleVersion.version)
                    .join(ModuleVersion, ModuleVersion.module_id == Module.id)
                    .where(ModuleVersion.state == VersionState.validating,
                           ModuleVersion.reason == self._batch_mark(module, version))
                ).all()
            ]

    def _validate_together(self, batch: list[tuple[str, str]]) -> dict[tuple[str, str], Outcome]:
        """Validate claimed versions in one consumer; alone, each, if that fails."""
        result = self._clean_room(batch)
        if len(batch) > 1:
            expected = self._expected_selection(batch)
            problem = (result.reason or result.note or self._compare_hashes(result.hashes)
                       or ("" if set(result.hashes) == expected
                           else "the batch selected other versions than its members alone"))
            if problem:
                log.info("batch of %d: %s; validating each alone", len(batch),
                         problem.splitlines()[0][:200])
                return {target: self._conclude(target, self._clean_room([target]))
                        for target in batch}
            # Every hash of the batch was compared above.
            return {target: self._conclude(target, result, compared=True) for target in batch}
        return {target: self._conclude(target, result) for target in batch}

    def _clean_room(self, targets: list[tuple[str, str]]) -> CleanRoom:
        staging = self.services.store.goproxy_url()
        if staging is None:  # every store the services open has one (S3's: its cache_dir)
            raise StoreError("the store has no GOPROXY URL for the go command")
        gocache = build_cache(self.settings)
        with self._workdir("validate-") as workdir, validation_cache(self.settings) as cache:
            return clean_room(self.settings, workdir, gocache, staging, targets, cache,
                              tidy_gate=self._asked_for(targets[0]))

    def _asked_for(self, target: tuple[str, str]) -> bool:
        """Someone waits for it: its build list was tidied, and tidy is part of its gate."""
        if target in self.asked:
            return True
        with self.services.db.session() as session:
            row = get_version(session, *target)
            return row is not None and bool(_awaited(session, [row.id]))

    def _expected_selection(self, batch: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """What a consumer of the batch should select: its members and their build lists."""
        expected = set(batch)
        with self.services.db.session() as session:
            for path, ver in batch:
                row = recorded_version(session, path, ver)
                expected |= {(m.path, m.member_version) for m in row.selected_members}
        return expected

    def _conclude(
        self, target: tuple[str, str], result: CleanRoom, compared: bool = False
    ) -> Outcome:
        module, version = target
        reason = result.reason or ("" if compared else self._compare_hashes(result.hashes))
        if reason:
            self._finish(module, version, VersionState.validation_failed, reason)
            return Outcome(module, version, "validation_failed", reason)
        self.promote(module, version, note=result.note)
        return Outcome(module, version, "published")

    def _compare_hashes(self, hashes: dict[tuple[str, str], tuple[str, str]]) -> str:
        """Every hash the fresh cache computed must equal what Depot stored."""
        stored: dict[tuple[str, str], dict[ArtifactKind, str]] = {}
        with self.services.db.session() as session:
            rows = session.execute(
                select(Module.path, ModuleVersion.version, Artifact.kind, Artifact.h1)
                .join(ModuleVersion, ModuleVersion.module_id == Module.id)
                .join(Artifact, Artifact.version_id == ModuleVersion.id)
                .where(Module.path.in_(sorted({path for path, _ in hashes})))
            ).all()
        for path, ver, kind, h1 in rows:
            stored.setdefault((path, ver), {})[kind] = h1
        for (path, ver), (zip_h1, mod_h1) in sorted(hashes.items()):
            held = stored.get((path, ver), {})
            if held.get(ArtifactKind.zip) != zip_h1:
                return (f"hash mismatch for {path}@{ver}: Depot stored "
                        f"{held.get(ArtifactKind.zip)}, the clean room computed {zip_h1}")
            if mod_h1 and held.get(ArtifactKind.mod) != mod_h1:
                return (f"go.mod hash mismatch for {path}@{ver}: Depot stored "
                        f"{held.get(ArtifactKind.mod)}, the clean room computed {mod_h1}")
        return ""

    def promote(self, module: str, version: str, note: str = "") -> None:
        """Publish atomically: list, @latest, portal and index see it from now on."""
        with self.services.db.session() as session:
            row = recorded_version(session, module, version)
            row.state, row.reason, row.published_at = VersionState.published, "", _now()
            row.validation_note = note
            self._close_requests(session, row)
            # Its search document changes, and so do the used-by counts of what it requires.
            required = session.scalars(
                select(Requirement.path).where(Requirement.version_id == row.id,
                                               Requirement.indirect.is_(False))
            ).all()
        self.services.store.set_list(module, tagged_published(self.services, module))
        self.dispatcher.enqueue("index", module, *sorted(set(required) - {module}))
        # Its README rendered once, here off every request's path (app/catalog/prepared).
        self.dispatcher.enqueue("render", module, version)
        self.notify("version_published", module=module, version=version)
        log.info("published %s@%s", module, version)

    # -- dispatch ------------------------------------------------------------------------

    def run(self, stage: str, *args: str) -> object:
        """Run one stage by name (what a job or the in-process loop calls)."""
        handlers: dict[str, Callable[..., object]] = {
            "discover": self.discover, "process": self.process, "complete": self.complete,
            "validate": self.validate, "tidy": self.retidy}
        handler = handlers.get(stage)
        if handler is None:
            raise ValueError(f"unknown stage {stage!r}")
        return handler(*args)
