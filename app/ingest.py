"""Synchronous ingest: the whole pipeline for one wish, in this process.

Used by `flask --app app ingest`. The stages are the ones the RQ workers run
(app/pipeline/stages/); only the queue is local. A version is published only
after its license gate and a clean-room validation, as everywhere else.

The GOPROXY miss policy ``fetch`` uses :func:`capture_on_miss`: the asked
version is captured here, the rest of its way is handed to the workers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeGuard

from sqlalchemy import update
from sqlalchemy.orm import Session

from app import audit
from app.db import rowcount
from app.fetch.download import Failed, download, resolve
from app.fetch.errors import ChecksumMismatch, FetchError, UpstreamNotFound
from app.locks import flight_lock
from app.models import ModuleVersion, VersionState
from app.pipeline.capture import VOUCHED, Outcome, capture, get_version, recorded_version
from app.pipeline.inline import InlineDispatcher
from app.pipeline.notifications import deliver
from app.pipeline.requests import InvalidRequest, validate_wish, version_status
from app.pipeline.stages import PROCESSABLE, Dispatcher, Pipeline, claim_row
from app.resources import Services
from app.workdirs import work_folder

log = logging.getLogger("depot.pipeline")

__all__ = ["IngestReport", "InvalidRequest", "Outcome", "capture_on_miss", "ingest",
           "is_present"]


@dataclass
class IngestReport:
    module: str
    query: str
    outcomes: list[Outcome]
    upstream_called: bool

    @property
    def target(self) -> Outcome | None:
        """The outcome for the module that was asked for (not its dependencies)."""
        return next((o for o in self.outcomes if o.path == self.module), None)

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.ok for o in self.outcomes)


Progress = Callable[[Outcome], None]


def _published(row: ModuleVersion | None) -> TypeGuard[ModuleVersion]:
    return row is not None and row.state == VersionState.published


def is_present(services: Services, module: str, version: str, deps: bool = False) -> bool:
    """Published with all three files in the store (and, with ``deps``, its build list)."""
    with services.db.session() as session:
        row = get_version(session, module, version)
        if not _published(row):
            return False
        if deps and not all(
            _published(get_version(session, m.path, m.member_version)) for m in row.build_list
        ):
            return False
    return all(services.store.stat(module, version, kind) for kind in ("info", "mod", "zip"))


def _outcome(services: Services, path: str, version: str, last: object = None) -> Outcome:
    with services.db.session() as session:
        row = get_version(session, path, version)
        if row is None:
            reason = last.reason if isinstance(last, Outcome) else ""
            return Outcome(path, version, "not_found", reason)
        state, reason = version_status(row)
        return Outcome(path, version, state, reason)


def _refetch(services: Services, module: str, version: str) -> Outcome:
    """Download a published version again and compare (drift is recorded, bytes kept)."""
    with work_folder(services.work_dir, "refetch-") as workdir:
        # Past the relay's shared files: what the upstream serves now is the question.
        result = download(services.settings, workdir, module, version, shared=False)
        if isinstance(result, Failed):
            if isinstance(result.error, ChecksumMismatch):
                # The upstream now serves other bytes than the checksum database vouches
                # for (a moved tag, or an attack): the go command refused them, people
                # must still hear of it.
                deliver(services, "checksum_mismatch", json.dumps(
                    {"module": module, "version": version, "reason": result.error.reason}))
            return Outcome(module, version, "present", f"upstream now fails: {result.error.reason}")
        outcome = capture(services, result, VersionState.published)
        for fields in outcome.drifts:
            deliver(services, "upstream_drift", json.dumps(fields))
        return outcome


def ingest(
    services: Services,
    module: str,
    query: str = "latest",
    *,
    deps: bool = False,
    refetch: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest ``module@query`` and, with ``deps``, every member of its build list.

    Idempotent: a present version makes no upstream call. ``refetch`` downloads
    again anyway and compares: different bytes are recorded as drift while the
    captured ones stay.
    """
    validate_wish(module, query)

    def done(outcomes: list[Outcome], called: bool) -> IngestReport:
        for o in outcomes:
            if progress:
                progress(o)
        return IngestReport(module, query, outcomes, upstream_called=called)

    version = _resolved(services, module, query)
    if isinstance(version, Outcome):
        return done([version], True)
    with flight_lock(services.lock_dir, services.db.engine, f"ingest:{module}@{version}"):
        if is_present(services, module, version, deps=deps):
            if refetch:
                return done([_refetch(services, module, version)], True)
            return done([Outcome(module, version, "present")], query == "latest")
        # Captured but not yet published (a fetch-mode miss served it): compare too.
        compared = [_refetch(services, module, version)] if refetch and _vouched(
            services, module, version) else []
        dispatcher = InlineDispatcher(services, only=None if deps else {module},
                                      held=frozenset({(module, version)}))
        # The operator asked for it: its build list is tidied, tidy is in its gate.
        pipeline = Pipeline(services, dispatcher, asked=frozenset({(module, version)}))
        with services.db.session() as session:
            row, needs_work = pipeline.ensure_pending(session, module, version)
            state = row.state
        if needs_work:
            dispatcher.enqueue("process", module, version)
        elif state == VersionState.captured:
            dispatcher.enqueue("complete", module, version)
        elif state in (VersionState.staged, VersionState.blocked):
            dispatcher.enqueue("validate", module, version)
        if deps and state == VersionState.published:
            # Published before its dependencies were: bring the missing ones in.
            with services.db.session() as session:
                row = recorded_version(session, module, version)
                for m in row.build_list:
                    _, needs = pipeline.ensure_pending(session, m.path, m.member_version)
                    if needs:
                        dispatcher.enqueue("process", m.path, m.member_version)
        dispatcher.drain(pipeline)
        keys = [(module, version)] + [k for k in dispatcher.touched if k != (module, version)]
        outcomes = [
            _outcome(services, path, ver, dispatcher.outcomes.get((path, ver)))
            for path, ver in keys
        ]
    return done(outcomes + compared, True)


def _vouched(services: Services, module: str, version: str) -> bool:
    with services.db.session() as session:
        row = get_version(session, module, version)
        return row is not None and row.state in VOUCHED


def _resolved(services: Services, module: str, query: str) -> str | Outcome:
    """The version ``query`` names upstream (itself unless "latest"), or why none."""
    if query != "latest":
        return query
    with work_folder(services.work_dir, "resolve-") as workdir:
        try:
            return resolve(services.settings, workdir, module, query)
        except FetchError as exc:
            status = "not_found" if isinstance(exc, UpstreamNotFound) else "failed"
            return Outcome(module, query, status, exc.reason)


def capture_on_miss(services: Services, module: str, query: str, follow: Dispatcher,
                    on_stored: Callable[[], None] | None = None,
                    lock_timeout: float = 900.0) -> Outcome:
    """What a GOPROXY miss waits for: the asked version captured (downloaded and
    checksum-verified by the go command, stored, through the license gate).

    Its build list, dependencies and validation go to ``follow`` (the workers'
    queues), so a client waits about one upstream download, not a whole pipeline.
    Single flight per version across processes, like :func:`ingest` (LockTimeout
    when another holds it longer than ``lock_timeout``). ``on_stored``: see
    :meth:`Pipeline.process`.
    """
    validate_wish(module, query)
    version = _resolved(services, module, query)
    if isinstance(version, Outcome):
        return version
    with flight_lock(services.lock_dir, services.db.engine, f"ingest:{module}@{version}",
                     lock_timeout):
        pipeline = Pipeline(services, follow)
        with services.db.session() as session:
            row, needs_work = pipeline.ensure_pending(session, module, version)
            if not needs_work and row.state in LEFT_BY_A_CAPTURE:
                needs_work = _take_over(session, follow, row, module, version)
            # Claimed here, in the same transaction, rather than by process's own.
            claimed = needs_work and claim_row(session, row, PROCESSABLE,
                                               VersionState.fetching)
            if claimed:
                audit.add(session, audit.CAPTURED, f"{module}@{version}",
                          f"a GOPROXY miss for {module}@{query}")
        last = (pipeline.process(module, version, defer=True, on_stored=on_stored,
                                 claimed=claimed)
                if needs_work else None)
        return _outcome(services, module, version, last)


# States a capture leaves a version in while it runs (Pipeline.process).
LEFT_BY_A_CAPTURE = (VersionState.fetching, VersionState.processing)


def _take_over(session: Session, follow: Dispatcher, row: ModuleVersion, module: str,
               version: str) -> bool:
    """Start a version over that a killed capture left half done; whether it was.

    Under the version's flight lock no other GOPROXY miss captures it, so a working
    state with no pipeline job of its own behind it was left by a web process killed
    mid-capture (the ahead loader captures whole build lists there). Without this the
    version waited for the workers' sweep, twenty minutes, each miss a 404 after two.
    """
    has_job = getattr(follow, "has_job", None)
    if has_job is None or any(has_job(stage, module, version)
                              for stage in ("process", "complete")):
        return False
    left = row.state
    done = session.execute(
        update(ModuleVersion)
        .where(ModuleVersion.id == row.id, ModuleVersion.state == left)
        .values(state=VersionState.pending))
    if rowcount(done):
        log.warning("%s@%s: left %s by a killed capture; taken over by this miss", module,
                    version, left.value)
    return bool(rowcount(done))
