"""Requests: a wish for ``module@query`` from a person, a GOPROXY miss or a seed list.

The same wish is one open row (a partial unique index) while it is worked on,
so pressing the button twice, or a thousand clients missing the same module,
enqueue the work once. Its status is read from the version it resolved to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, NotRequired, TypedDict

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app import audit
from app.db import rowcount
from app.gomod import paths, versions
from app.gomod.errors import GoModError
from app.jsonschema import Time
from app.models import (
    BuildListMember,
    Module,
    ModuleVersion,
    Request,
    RequestSource,
    RequestState,
    VersionState,
    is_held,
)
from app.pipeline.capture import get_version
from app.pipeline.stages import Dispatcher, Pipeline
from app.resources import Services
from app.shorten import quoted

log = logging.getLogger(__name__)


class InvalidRequest(ValueError):
    """The module path or version query cannot be valid; nothing was attempted."""


# The columns a wish is kept in (app/models: String(512), String(255)).
MAX_MODULE_PATH = 512
MAX_QUERY = 255


def validate_wish(module: str, query: str) -> None:
    """Refuse what can never be fetched, before anything is recorded or enqueued."""
    if len(module) > MAX_MODULE_PATH:
        raise InvalidRequest(f"module path {quoted(module)} is too long "
                             f"(at most {MAX_MODULE_PATH} characters)")
    if len(query) > MAX_QUERY:
        raise InvalidRequest(f"version {quoted(query)} is too long "
                             f"(at most {MAX_QUERY} characters)")
    try:
        paths.check_module_path(module)
        if query != "latest" and versions.is_canonical(query):
            versions.check_path_version(module, query)
    except GoModError as exc:
        raise InvalidRequest(str(exc)) from exc
    if query != "latest" and not versions.is_canonical(query):
        raise InvalidRequest(f"{quoted(query)} is not a canonical version "
                             "(use vX.Y.Z or latest)")


@dataclass
class Submitted:
    request_id: int
    created: bool  # False: an open request for the same wish already existed


def submit(
    services: Services, dispatcher: Dispatcher, module: str, query: str, source: RequestSource
) -> Submitted:
    """Record the wish once and start discovery; an identical open wish is reused."""
    validate_wish(module, query)
    for _attempt in range(3):
        with services.db.session() as session:
            existing = session.scalar(
                select(Request).where(
                    Request.module == module, Request.query == query, Request.is_open.is_(True)
                )
            )
            if existing is not None:
                retry = existing.version is not None and existing.version.state in (
                    VersionState.failed,
                )
                found = existing.id
                stalled = ((found, module, None) if existing.version is None else
                           (found, module, existing.version.version)
                           if existing.version.state == VersionState.pending else None)
            else:
                found = None
        if found is not None:
            if retry:  # the last attempt failed for a passing reason: try once more
                dispatcher.enqueue("discover", str(found))
            elif stalled is not None:  # its recorder may have died before queueing it
                _requeue_lost(dispatcher, *stalled)
            if source != RequestSource.seed:  # a seed load is its command's one event
                audit.record(services.db, audit.REQUESTED, f"{module}@{query}",
                             f"request #{found} ({source.value}), joined while it was open")
            return Submitted(found, created=False)
        try:
            with services.db.session() as session:
                req = Request(module=module, query=query, source=source)
                held = get_version(session, module, query) if query != "latest" else None
                retidy = False
                if held is not None and held.state == VersionState.published:
                    # Answered from the database, no upstream call; a version published
                    # as someone else's member gets its build list tidied now, as an
                    # asked version's is (Pipeline.retidy).
                    req.version_id, req.state, req.is_open = held.id, RequestState.resolved, False
                    retidy = not held.build_list_tidied
                session.add(req)
                session.flush()
                new_id, is_open = req.id, req.is_open
                if source != RequestSource.seed:
                    audit.add(session, audit.REQUESTED, f"{module}@{query}",
                              f"request #{new_id} ({source.value})"
                              + ("" if is_open else ", published already"))
        except IntegrityError:
            continue  # someone opened the same wish a moment ago: use theirs
        if retidy:
            dispatcher.enqueue("tidy", module, query)
        if is_open:
            if query == "latest":
                dispatcher.enqueue("discover", str(new_id))  # the upstream decides: a job
            else:
                # A concrete version needs no upstream call to discover: do it now,
                # sparing a job per wish.
                Pipeline(services, dispatcher).discover(str(new_id))
        return Submitted(new_id, created=True)
    raise RuntimeError("could not record the request")


def redrive_stalled(services: Services, dispatcher: Dispatcher, older_than: timedelta,
                    limit: int = 500) -> int:
    """Queue again the work of open wishes that went nowhere; how many were queued.

    A request is recorded before its work is queued, so a process killed in
    between (the web server, a discover job, the seed command) leaves an open
    request with no job: unresolved (its discovery lost), or resolved to a
    version still pending (its processing lost). Workers call this in their
    maintenance. Work whose job is queued, running or waiting for a retry is
    left alone (the dispatcher's ``has_job``), so a deep queue costs a look-up.
    """
    cutoff = datetime.now(UTC) - older_than
    with services.db.session() as session:
        rows = session.execute(
            select(Request.id, Request.module, ModuleVersion.version)
            .outerjoin(ModuleVersion, ModuleVersion.id == Request.version_id)
            .where(Request.is_open.is_(True), Request.created_at < cutoff,
                   or_(Request.version_id.is_(None),
                       ModuleVersion.state == VersionState.pending))
            .order_by(Request.id)
            .limit(limit)
        ).all()
    lost = sum(_requeue_lost(dispatcher, *row) for row in rows)
    lost += _reset_abandoned(services, dispatcher, limit)
    return lost + _redrive_versions(services, dispatcher, cutoff, limit)


# Where a version left in a working state goes back to, and the stage that takes it from
# there. `processing` starts over from `pending`: its files may be stored while its
# license gate never ran, and capturing the same bytes again changes nothing.
_START_OF = {VersionState.fetching: VersionState.pending,
             VersionState.processing: VersionState.pending,
             VersionState.validating: VersionState.staged}
_STAGE_FROM = {VersionState.pending: "process", VersionState.staged: "validate"}


def _reset_abandoned(services: Services, dispatcher: Dispatcher, limit: int) -> int:
    """Put back versions a killed run left in a working state and queue their stage;
    how many.

    RQ retries a job whose worker died, and the retry takes the version over; a worker
    killed on the job's last attempt leaves it `fetching`, `processing` or `validating`
    with no run behind it, and its request open for good. Nothing holds a working state
    longer than a job may run (``Settings.job_timeout``; a GOPROXY miss's capture is
    bounded by the fetch timeout), so older than that, with no job of its stage, the
    version goes back to where its stage starts and that stage is queued.
    """
    has_job = getattr(dispatcher, "has_job", None)
    if has_job is None:
        return 0
    cutoff = datetime.now(UTC) - timedelta(seconds=services.settings.job_timeout)
    working = list(_START_OF)
    work = []
    with services.db.session() as session:
        rows = session.execute(
            select(ModuleVersion.id, Module.path, ModuleVersion.version, ModuleVersion.state)
            .join(Module, Module.id == ModuleVersion.module_id)
            .where(ModuleVersion.state.in_(working), ModuleVersion.updated_at < cutoff)
            .order_by(ModuleVersion.id)
            .limit(limit)
        ).all()
        for version_id, path, version, state in rows:
            if any(has_job(stage, path, version) for stage in ("process", "complete",
                                                               "validate")):
                continue  # a retry is due: it takes the version over itself
            back = _START_OF[state]
            done = session.execute(
                update(ModuleVersion)
                .where(ModuleVersion.id == version_id, ModuleVersion.state == state,
                       ModuleVersion.updated_at < cutoff)
                .values(state=back, updated_at=datetime.now(UTC)))
            if rowcount(done):
                log.warning("%s@%s: left %s by a killed run; back to %s", path, version,
                            state.value, back.value)
                work.append((_STAGE_FROM[back], path, version))
    for stage, path, version in work:  # once the states are committed
        dispatcher.enqueue(stage, path, version)
    return len(work)


def _redrive_versions(services: Services, dispatcher: Dispatcher, cutoff: datetime,
                      limit: int) -> int:
    """Queue again the next step of versions whose job is gone, so no version (and no
    request waiting on it) stays where it is forever: a pending one whose processing was
    never queued or was lost, one captured by a GOPROXY miss while the queue was away,
    a staged one whose validation was never queued (its `complete` job killed on its
    last attempt between the two), and the blocked dependents of a member whose
    processing ran out of retries (their validation then ends them with that member's
    reason)."""
    has_job = getattr(dispatcher, "has_job", None)
    if has_job is None:
        return 0
    next_work = {VersionState.pending: "process", VersionState.captured: "complete",
                 VersionState.staged: "validate"}
    member = aliased(ModuleVersion)
    member_module = aliased(Module)
    with services.db.session() as session:
        work = [(next_work[state], path, version) for path, version, state in session.execute(
            select(Module.path, ModuleVersion.version, ModuleVersion.state)
            .join(ModuleVersion, ModuleVersion.module_id == Module.id)
            .where(ModuleVersion.state.in_(list(next_work)),
                   # a staged version the license gate holds stays where it is
                   or_(ModuleVersion.state != VersionState.staged,
                       ModuleVersion.redistributable.is_(True)),
                   ModuleVersion.updated_at < cutoff)
            .order_by(ModuleVersion.id)
            .limit(limit)
        ).all()]
        failed_members = session.execute(
            select(Module.path, ModuleVersion.version, member_module.path, member.version)
            .join(ModuleVersion, ModuleVersion.module_id == Module.id)
            .join(BuildListMember, BuildListMember.version_id == ModuleVersion.id)
            .join(member_module, member_module.path == BuildListMember.path)
            .join(member, (member.module_id == member_module.id)
                  & (member.version == BuildListMember.member_version))
            .where(ModuleVersion.state == VersionState.blocked,
                   member.state == VersionState.failed, member.updated_at < cutoff)
            .limit(limit)
        ).all()
    for path, version, dep_path, dep_version in failed_members:
        if not has_job("process", dep_path, dep_version):  # else a retry is due
            work.append(("validate", path, version))
    queued = 0
    for item in dict.fromkeys(work):
        if not has_job(*item):
            dispatcher.enqueue(*item)
            queued += 1
    return queued


def _requeue_lost(dispatcher: Dispatcher, request_id: int, module: str, version: str | None
                  ) -> bool:
    """Queue an open request's next work unless its job exists; True if queued.

    Unresolved: its discovery; resolved to a pending version: its processing.
    Without a dispatcher that can tell (``has_job``), nothing is queued.
    """
    has_job = getattr(dispatcher, "has_job", None)
    work = ("discover", str(request_id)) if version is None else ("process", module, version)
    if has_job is None or has_job(*work):
        return False
    dispatcher.enqueue(*work)
    return True


@dataclass
class Batch:
    """What a list of wishes came to."""

    created: int = 0
    reused: int = 0
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # module, query, why


# Wishes looked up in the database at once by submit_many.
CHUNK = 500


def submit_many(
    services: Services,
    dispatcher: Dispatcher,
    wishes: list[tuple[str, str]],
    source: RequestSource,
    progress: Callable[[int], None] | None = None,
) -> Batch:
    """Submit a list of wishes (a seed list); what is published already is answered in bulk.

    A second load of the same list ("load 10K modules… twice") then costs one
    query and one insert per few hundred wishes instead of two transactions each.
    """
    batch = Batch()
    for start in range(0, len(wishes), CHUNK):
        chunk = wishes[start:start + CHUNK]
        valid = []
        for module, query in chunk:
            try:
                validate_wish(module, query)
            except InvalidRequest as exc:
                batch.refused.append((module, query, str(exc)))
            else:
                valid.append((module, query))
        held = _published_ids(services, [w for w in valid if w[1] != "latest"])
        with services.db.session() as session:
            session.add_all(
                Request(module=module, query=query, source=source, version_id=held[(module, query)],
                        state=RequestState.resolved, is_open=False)
                for module, query in valid if (module, query) in held
            )
        batch.created += sum(1 for w in valid if w in held)
        for module, query in valid:
            if (module, query) in held:
                continue
            try:
                done = submit(services, dispatcher, module, query, source)
            except InvalidRequest as exc:
                batch.refused.append((module, query, str(exc)))
                continue
            batch.created += done.created
            batch.reused += not done.created
        if progress:
            progress(len(chunk))
    return batch


def _published_ids(services: Services, wishes: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Version ids of the wishes that are published already."""
    if not wishes:
        return {}
    wanted = set(wishes)
    with services.db.session() as session:
        rows = session.execute(
            select(Module.path, ModuleVersion.version, ModuleVersion.id)
            .join(ModuleVersion, ModuleVersion.module_id == Module.id)
            .where(Module.path.in_(sorted({m for m, _ in wishes})),
                   ModuleVersion.state == VersionState.published)
        ).all()
    return {(path, ver): vid for path, ver, vid in rows if (path, ver) in wanted}


# What a person sees: the version's pipeline state, in the words of the API.
Status = Literal["queued", "fetching", "processing", "validating", "published", "rejected",
                 "failed"]
# The steps a refused or failed request can have ended at (the status page's).
Step = Literal["queued", "fetching", "processing", "validating"]

_STATUS: dict[VersionState, Status] = {
    VersionState.pending: "queued",
    VersionState.fetching: "fetching",
    VersionState.processing: "processing",
    VersionState.captured: "processing",
    VersionState.staged: "validating",
    VersionState.validating: "validating",
    VersionState.blocked: "validating",
    VersionState.published: "published",
    VersionState.rejected: "rejected",
    VersionState.failed: "failed",
    VersionState.validation_failed: "failed",
}
# A request whose version is not known yet speaks for itself.
_REQUEST_STATUS: dict[RequestState, Status] = {
    RequestState.queued: "queued",
    RequestState.resolved: "queued",
    RequestState.rejected: "rejected",
    RequestState.failed: "failed",
}


class UnservedJSON(TypedDict):
    # A build-list member Depot holds but does not serve, and why (the API's Unserved).
    module: str
    version: str
    reason: str


class RequestDependencyJSON(TypedDict):
    # A member of the request's build list, as the status shows it.
    module: str
    version: str
    state: Status
    reason: str


class RequestStatusJSON(TypedDict):
    # What GET /api/v1/requests/<id> answers (the API's Request): the shape is the
    # OpenAPI document's too, so it lives with the function that fills it.
    id: int
    module: str
    query: str
    source: str
    version: str | None
    state: Status
    reason: str
    stopped_at: NotRequired[Annotated[Step, (
        "for a rejected or failed request, the step it ended at: queued (resolving the "
        "query upstream), fetching (the download and its checks), processing (the license "
        "gate or the build list), validating (the clean-room consumer)")]]
    created_at: Time
    updated_at: Annotated[Time, "when the request, its version or a member of its build "
                                "list last changed"]
    dependencies: list[RequestDependencyJSON]
    unserved: NotRequired[Annotated[list[UnservedJSON], (
        "members of the build list Depot holds but does not serve (not redistributable, "
        "refused, or failed), each with why; a published version with any says so in its "
        "reason")]]


def version_status(row: ModuleVersion) -> tuple[Status, str]:
    """(status, reason) of a version in the request API's vocabulary."""
    if is_held(row.state, row.redistributable):
        return "rejected", row.reason
    return _STATUS[row.state], row.reason


def stopped_at(row: ModuleVersion | None, query: str) -> Step:
    """The step (of the status page's queued, fetching, processing, validating) at which
    a refused or failed request ended, from what its version holds: no version is the
    upstream's answer to `latest`, or to the download of a version it does not have
    (such a row is forgotten); nothing stored is the download; a license verdict against
    it is the gate; a failed clean room is validation."""
    if row is None:
        return "queued" if query == "latest" else "fetching"
    if row.state == VersionState.validation_failed or row.reason.startswith("dependency"):
        return "validating"
    if not row.artifacts:
        return "fetching"
    return "processing"  # the license gate, or the build list


def status(services: Services, request_id: int, depot_url: str = "",
           ) -> RequestStatusJSON | None:
    """The request's state and the dependency versions it pulled in; ``depot_url`` (this
    server as the asker reaches it) goes into the GOPROXY advice of a final reason."""
    with services.db.session() as session:
        req = session.get(Request, request_id)
        if req is None:
            return None
        row = req.version
        if row is None:
            state, reason = _REQUEST_STATUS[req.state], req.reason
        else:
            state, reason = version_status(row)
        body: RequestStatusJSON = {
            "id": req.id,
            "module": req.module,
            "query": req.query,
            "source": req.source.value,
            "version": None if row is None else row.version,
            "state": state,
            "reason": reason,
            "created_at": req.created_at.isoformat(),
            "updated_at": req.updated_at.isoformat(),
            "dependencies": [],
        }
        if state in UNSERVED:
            body["stopped_at"] = stopped_at(row, req.query)
        if row is None:
            return body
        # When anything it waits on last moved: the request's own row changes only when
        # it ends, so a client polling an hour-long tree saw the time it was made.
        moved = [req.updated_at, row.updated_at]
        for member in sorted(row.build_list, key=lambda m: m.path):
            dep = get_version(session, member.path, member.member_version)
            dep_state: Status = "queued"
            dep_reason = ""
            if dep is not None:
                moved.append(dep.updated_at)
                dep_state, dep_reason = version_status(dep)
            body["dependencies"].append(
                {"module": member.path, "version": member.member_version,
                 "state": dep_state, "reason": dep_reason}
            )
        body["updated_at"] = max(t for t in moved if t is not None).isoformat()
        unserved = [d for d in body["dependencies"] if d["state"] in UNSERVED]
        body["unserved"] = [{"module": d["module"], "version": d["version"],
                             "reason": d["reason"]} for d in unserved]
        # Published is final: its stored members are served with it (app/models.vouched)
        # while their own validations go on; the hey request said "published; waiting for
        # dependencies" for hours before. A mark names the members consumers must get
        # elsewhere.
        if state == "published" and unserved:
            body["reason"] = unserved_mark(unserved, depot_url)
        return body


# A dependency in one of these states is settled and not served by Depot.
UNSERVED = ("rejected", "failed")


def unserved_mark(unserved: list[RequestDependencyJSON], depot_url: str = "") -> str:
    """What a published version whose build list Depot does not serve whole says."""
    count = len(unserved)
    listed = "; ".join(f"{d['module']}@{d['version']} — {d['reason'] or d['state']}"
                       for d in unserved)
    return (f"{count} module{'s' if count != 1 else ''} of its build list "
            f"{'are' if count != 1 else 'is'} not served here: {listed}; use "
            f"GOPROXY={depot_url or '<this Depot>'},direct so that the go command fetches "
            f"{'them' if count != 1 else 'it'} from the origin")
