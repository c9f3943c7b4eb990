"""Synchronous ingest: fetch with the real toolchain, store immutably, record.

Used by `flask --app app ingest` and by the GOPROXY miss policy ``fetch``; the
pipeline jobs will call the same steps. Store first, database last: a version
is served only once its row says ``published``, so a crash in between leaves
files nobody serves, and the next ingest finds the same bytes and goes on.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.fetch.download import Failed, Fetched, download, resolve
from app.fetch.errors import FetchError, UpstreamNotFound
from app.gomod import paths, versions
from app.gomod.errors import GoModError
from app.locks import key_lock
from app.models import (
    Artifact,
    ArtifactKind,
    Drift,
    LicenseFile,
    Module,
    ModuleVersion,
    Requirement,
    Retraction,
    VersionState,
)
from app.services import Services
from app.store import ImmutableConflict, PutResult


class InvalidRequest(ValueError):
    """The module path or version query cannot be valid; nothing was attempted."""


@dataclass
class Outcome:
    """What happened to one module version."""

    path: str
    version: str
    status: str  # stored | present | drift | rejected | failed | not_found
    reason: str = ""
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("stored", "present", "drift")


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


def validate_request(module: str, query: str) -> None:
    """Refuse what can never be fetched, before any lock or toolchain run."""
    try:
        paths.check_module_path(module)
        if query != "latest" and versions.is_canonical(query):
            versions.check_path_version(module, query)
    except GoModError as exc:
        raise InvalidRequest(str(exc)) from exc
    if query != "latest" and not versions.is_canonical(query):
        raise InvalidRequest(f"{query!r} is not a canonical version (use vX.Y.Z or latest)")


def published_version(session: Session, module: str, version: str) -> ModuleVersion | None:
    return session.scalar(
        select(ModuleVersion)
        .join(Module)
        .where(
            Module.path == module,
            ModuleVersion.version == version,
            ModuleVersion.state == VersionState.published,
        )
    )


def is_present(services: Services, module: str, version: str) -> bool:
    """Published in the database and all three files in the store."""
    with services.db.session() as session:
        if published_version(session, module, version) is None:
            return False
    return all(services.store.stat(module, version, kind) for kind in ("info", "mod", "zip"))


def known_sums(services: Services, module: str, version: str) -> list[str]:
    """go.sum lines of every published version reachable from module@version.

    Handing these to the toolchain spares checksum-database lookups for bytes
    Depot verified when it captured them.
    """
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    todo = [(module, version)]
    with services.db.session() as session:
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            row = published_version(session, *key)
            if row is None:
                continue
            for art in row.artifacts:
                if art.kind == ArtifactKind.zip:
                    lines.append(f"{key[0]} {key[1]} {art.h1}")
                elif art.kind == ArtifactKind.mod:
                    lines.append(f"{key[0]} {key[1]}/go.mod {art.h1}")
            todo.extend((r.path, r.required_version) for r in row.requirements)
    return sorted(lines)


def ingest(
    services: Services,
    module: str,
    query: str = "latest",
    *,
    deps: bool = False,
    refetch: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest ``module@query`` (and with ``deps`` its whole build list).

    Idempotent: a present version without ``deps`` makes no upstream call.
    ``refetch`` downloads again anyway and compares: different bytes are
    recorded as drift while the captured ones stay.
    """
    validate_request(module, query)
    if query == "latest" and deps:
        # Resolve first: the build list is then read Depot-first, which must not
        # let Depot's own (older) list decide what "latest" is.
        workdir = Path(tempfile.mkdtemp(prefix="resolve-", dir=services.work_dir))
        try:
            query = resolve(services.settings, workdir, module, query)
        except FetchError as exc:
            outcome = Outcome(module, query, "not_found" if isinstance(
                exc, UpstreamNotFound) else "failed", exc.reason)
            if progress:
                progress(outcome)
            return IngestReport(module, "latest", [outcome], upstream_called=True)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    with key_lock(services.lock_dir, f"ingest:{module}@{query}:{deps}"):
        present = query != "latest" and is_present(services, module, query)
        if present and not deps and not refetch:
            outcome = Outcome(module, query, "present")
            if progress:
                progress(outcome)
            return IngestReport(module, query, [outcome], upstream_called=False)
        goproxy = services.settings.upstream
        sums: list[str] = []
        local = services.store.goproxy_url()
        if deps and local and not refetch:
            # Modules Depot holds are read from its own tree; only the rest go upstream.
            goproxy = f"{local},{goproxy}"
            if present:
                sums = known_sums(services, module, query)
        workdir = Path(tempfile.mkdtemp(prefix="ingest-", dir=services.work_dir))
        try:
            results = download(
                services.settings, workdir, module, query, deps=deps, goproxy=goproxy,
                known_sums=sums,
            )
            outcomes = []
            for result in results:
                outcome = record(services, result)
                outcomes.append(outcome)
                if progress:
                    progress(outcome)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return IngestReport(module, query, outcomes, upstream_called=True)


def _put_all(
    services: Services, f: Fetched
) -> tuple[dict[str, PutResult], list[ImmutableConflict]]:
    """Store zip, mod and info; identical bytes are a no-op, different ones a conflict."""
    stored: dict[str, PutResult] = {}
    conflicts: list[ImmutableConflict] = []
    for kind, src in (("zip", f.zip_path), ("mod", f.mod_path), ("info", f.info_path)):
        try:
            stored[kind] = services.store.put_file(f.path, f.version, kind, src)
        except ImmutableConflict as exc:
            conflicts.append(exc)
    return stored, conflicts


def _kind_of(conflict: ImmutableConflict) -> ArtifactKind:
    return ArtifactKind(conflict.key.rsplit(".", 1)[1])


def record(services: Services, result: Fetched | Failed) -> Outcome:
    """Store one fetched version and write its rows; or record why it failed."""
    for attempt in range(3):
        try:
            if isinstance(result, Failed):
                return _record_failure(services, result)
            return _record_fetched(services, result)
        except IntegrityError:
            # Another process recorded the same version first; look again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _get_module(session: Session, path: str) -> Module:
    module = session.scalar(select(Module).where(Module.path == path))
    if module is None:
        module = Module(path=path)
        session.add(module)
        session.flush()
    return module


def _get_version(session: Session, module: Module, version: str) -> ModuleVersion | None:
    return session.scalar(
        select(ModuleVersion).where(
            ModuleVersion.module_id == module.id, ModuleVersion.version == version
        )
    )


def _record_fetched(services: Services, f: Fetched) -> Outcome:
    stored, conflicts = _put_all(services, f)
    with services.db.session() as session:
        for c in conflicts:
            session.add(
                Drift(
                    module_path=f.path,
                    version=f.version,
                    kind=_kind_of(c),
                    stored_sha256=c.stored_sha256,
                    upstream_sha256=c.offered_sha256,
                )
            )
        module = _get_module(session, f.path)
        row = _get_version(session, module, f.version)
        if row is not None and row.state == VersionState.published:
            status = "drift" if conflicts else "present"
            reason = "; ".join(str(c) for c in conflicts)
            return Outcome(f.path, f.version, status, reason)
        if conflicts:
            # Bytes in the store that no published row vouches for, and that differ
            # from what the upstream now serves: keep them, publish nothing.
            reason = "store holds different bytes for this version: " + "; ".join(
                str(c) for c in conflicts
            )
            _set_state(session, module, row, f.version, VersionState.failed, reason)
            return Outcome(f.path, f.version, "failed", reason)
        if row is None:
            row = ModuleVersion(module_id=module.id, version=f.version)
            session.add(row)
        _fill_version(session, row, f, stored)
    services.store.set_list(f.path, tagged_published(services, f.path))
    return Outcome(
        f.path, f.version, "stored", sizes={k: p.size for k, p in stored.items()}
    )


def _fill_version(
    session: Session, row: ModuleVersion, f: Fetched, stored: dict[str, PutResult]
) -> None:
    now = datetime.now(UTC)
    row.state = VersionState.published
    row.reason = ""
    row.time = f.time
    row.is_pseudo = versions.is_pseudo(f.version)
    row.go_version = f.facts.go
    row.deprecated = f.facts.deprecated
    row.readme_name = f.report.readme
    row.published_at = now
    session.flush()
    for table in (Artifact, Requirement, LicenseFile, Retraction):
        session.execute(delete(table).where(table.version_id == row.id))
    hashes = {"zip": f.zip_h1, "mod": f.mod_h1, "info": ""}
    for kind, put in stored.items():
        session.add(
            Artifact(
                version_id=row.id, kind=ArtifactKind(kind), size=put.size, sha256=put.sha256,
                h1=hashes[kind],
            )
        )
    for req in f.facts.requires:
        session.add(
            Requirement(
                version_id=row.id, path=req.path, required_version=req.version,
                indirect=req.indirect,
            )
        )
    for name in f.report.licenses:
        session.add(LicenseFile(version_id=row.id, name=name))
    for r in f.facts.retracts:
        session.add(Retraction(version_id=row.id, low=r.low, high=r.high, rationale=r.rationale))


def _set_state(
    session: Session,
    module: Module,
    row: ModuleVersion | None,
    version: str,
    state: VersionState,
    reason: str,
) -> None:
    if row is None:
        row = ModuleVersion(module_id=module.id, version=version)
        session.add(row)
    row.state = state
    row.reason = reason


def _record_failure(services: Services, failed: Failed) -> Outcome:
    err = failed.error
    if isinstance(err, UpstreamNotFound) or not versions.is_canonical(failed.version):
        # Nothing concrete to remember: there is no such version to refuse.
        status = "not_found" if isinstance(err, UpstreamNotFound) else "failed"
        return Outcome(failed.path, failed.version, status, err.reason)
    state = VersionState.rejected if err.permanent else VersionState.failed
    with services.db.session() as session:
        module = _get_module(session, failed.path)
        row = _get_version(session, module, failed.version)
        if row is not None and row.state == VersionState.published:
            # Never take back what was published because the upstream misbehaves now.
            return Outcome(failed.path, failed.version, "present", err.reason)
        _set_state(session, module, row, failed.version, state, err.reason)
    return Outcome(failed.path, failed.version, state.value, err.reason)


def tagged_published(services: Services, module: str) -> list[str]:
    """The module's published tagged versions, in semver order (its @v/list)."""
    with services.db.session() as session:
        found = session.scalars(
            select(ModuleVersion.version)
            .join(Module)
            .where(
                Module.path == module,
                ModuleVersion.state == VersionState.published,
                ModuleVersion.is_pseudo.is_(False),
            )
        ).all()
    return versions.sort_versions(list(found))
