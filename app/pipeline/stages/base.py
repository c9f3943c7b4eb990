"""What every stage of the pipeline shares: the version states they move between,
claiming a version, ending it with a reason and telling people, and handing work on
to a :class:`Dispatcher` (app/pipeline/stages/__init__.py says how the stages fit).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from app import audit
from app.db import rowcount
from app.fetch.download import module_of_package
from app.models import BuildListMember, Module, ModuleVersion, Request, RequestSource, VersionState
from app.pipeline.capture import get_module, get_version, recorded_version
from app.resources import Services
from app.shorten import cut
from app.workdirs import work_folder

log = logging.getLogger("depot.pipeline")

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


def awaited_versions(session: Session, version_ids: list[int]) -> set[int]:
    """Those of these versions someone waits for: an open request from a person or a
    client (a seed list waits for nothing in particular)."""
    if not version_ids:
        return set()
    return set(session.scalars(select(Request.version_id).where(
        Request.version_id.in_(version_ids), Request.is_open.is_(True),
        Request.source != RequestSource.seed)))


def unsettled_members(session: Session, version_ids: list[int]) -> set[int]:
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


def now() -> datetime:
    return datetime.now(UTC)


def claim_row(session: Session, row: ModuleVersion, sources: tuple, target: VersionState,
              reason: str = "") -> bool:
    """Move a version's row from one of ``sources`` to ``target`` unless someone else did."""
    values = {"state": target, "updated_at": now()}
    if reason:
        values["reason"] = reason
    done = session.execute(
        update(ModuleVersion)
        .where(ModuleVersion.id == row.id, ModuleVersion.state.in_(sources))
        .values(**values)
    )
    return rowcount(done) == 1


class PipelineBase:
    """The state and helpers of a pipeline run that every stage uses."""

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
                if state == VersionState.failed:  # a passing failure; a retry follows
                    audit.add(session, audit.FAILED, f"{module}@{version}",
                              f"failed (to be retried): {reason}")

    def notify(self, kind: str, **fields: str) -> None:
        self.dispatcher.enqueue("notify", kind, json.dumps(fields, sort_keys=True))

    def _close_requests(self, session: Session, row: ModuleVersion) -> None:
        session.execute(
            update(Request).where(Request.version_id == row.id, Request.is_open.is_(True))
            .values(is_open=False, updated_at=now())
        )

    def _finish(self, module: str, version: str, state: VersionState, reason: str) -> None:
        """A final verdict for a version: record it, close its requests, tell people."""
        with self.services.db.session() as session:
            row = get_version(session, module, version)
            if row is None:
                return
            row.state, row.reason = state, reason
            self._close_requests(session, row)
            if state in (VersionState.rejected, VersionState.failed,
                         VersionState.validation_failed):
                audit.add(session, audit.REJECTED if state == VersionState.rejected
                          else audit.FAILED, f"{module}@{version}",
                          f"{state.value}: {reason}")
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
            unsettled = unsettled_members(session, [row.id for row in waiting])
            waiting = [row for row in waiting if row.id not in unsettled]
            asked = awaited_versions(session, [row.id for row in waiting])
        for path, ver, row_id in waiting:
            if row_id in asked:  # someone waits for it: ahead of everything else
                self._ask("validate", path, ver)
            else:
                self.dispatcher.enqueue("validate", path, ver)

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

    def _asked_for(self, target: tuple[str, str]) -> bool:
        """Someone waits for it: its build list was tidied, and tidy is part of its gate."""
        if target in self.asked:
            return True
        with self.services.db.session() as session:
            row = get_version(session, *target)
            return row is not None and bool(awaited_versions(session, [row.id]))
