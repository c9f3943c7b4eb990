"""Capture: store a fetched version's bytes immutably and describe it in the database.

Store first, database last: a version is served only once its row says
``published``, so a crash in between leaves files nobody serves, and the next
attempt finds the same bytes (a no-op) and goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ParamSpec, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.fetch.download import Fetched
from app.gomod import versions
from app.gomod.h1 import hash_gomod
from app.gomod.modfile import one_per_path
from app.models import (
    Artifact,
    ArtifactKind,
    Drift,
    DriftKind,
    GraphMod,
    LicenseFile,
    Module,
    ModuleVersion,
    Requirement,
    Retraction,
    VersionState,
)
from app.resources import Services
from app.store import ImmutableConflict, PutResult

# States whose stored bytes are the version's for good: published, or captured and
# through the gate (a fetch-mode miss may have served them already). New upstream bytes
# for such a version are drift, recorded; the kept ones stay and the state too.
VOUCHED = frozenset({
    VersionState.published, VersionState.captured, VersionState.staged,
    VersionState.validating, VersionState.blocked, VersionState.validation_failed,
})


@dataclass
class Outcome:
    """What happened to one module version."""

    path: str
    version: str
    status: str  # stored | present | drift | rejected | failed | not_found | published | …
    reason: str = ""
    sizes: dict[str, int] = field(default_factory=dict)
    # Files the upstream now serves differently from what Depot keeps (upstream_drift).
    drifts: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("stored", "present", "drift", "published")


def get_module(session: Session, path: str) -> Module:
    """The module's row, created if new; two workers creating it at once both get it."""
    module = session.scalar(select(Module).where(Module.path == path))
    if module is not None:
        return module
    try:
        with session.begin_nested():  # a savepoint: losing the race undoes only this insert
            module = Module(path=path)
            session.add(module)
    except IntegrityError:
        module = session.scalars(select(Module).where(Module.path == path)).one()
    return module


def get_version(session: Session, path: str, version: str) -> ModuleVersion | None:
    return session.scalar(
        select(ModuleVersion)
        .join(Module)
        .where(Module.path == path, ModuleVersion.version == version)
    )


def recorded_version(session: Session, path: str, version: str) -> ModuleVersion:
    """The row of a version the caller knows is recorded (an earlier step wrote it)."""
    row = get_version(session, path, version)
    if row is None:
        raise LookupError(f"{path}@{version}: no version row")
    return row


_P = ParamSpec("_P")
_R = TypeVar("_R")


def retrying(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a recording step again when another process inserted the same row first."""

    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        for attempt in range(3):
            try:
                return fn(*args, **kwargs)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    return wrapper


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


def drift_fields(conflict: ImmutableConflict, f: Fetched) -> dict[str, str]:
    """What the upstream_drift notification says about one refused file."""
    return {
        "module": f.path,
        "version": f.version,
        "kind": conflict.key.rsplit(".", 1)[1],
        "stored_sha256": conflict.stored_sha256,
        "upstream_sha256": conflict.offered_sha256,
    }


@retrying
def capture(services: Services, f: Fetched, state: VersionState) -> Outcome:
    """Store one fetched version and write its rows in ``state``.

    A version Depot already holds keeps its bytes: different upstream bytes are
    recorded as drift and nothing is overwritten.
    """
    stored, conflicts = _put_all(services, f)
    with services.db.session() as session:
        for c in conflicts:
            session.add(
                Drift(
                    module_path=f.path,
                    version=f.version,
                    kind=DriftKind(c.key.rsplit(".", 1)[1]),
                    stored_sha256=c.stored_sha256,
                    upstream_sha256=c.offered_sha256,
                )
            )
        module = get_module(session, f.path)
        row = get_version(session, f.path, f.version)
        drifts = [drift_fields(c, f) for c in conflicts]
        if row is not None and row.state in VOUCHED:
            status = "drift" if conflicts else "present"
            return Outcome(f.path, f.version, status, "; ".join(str(c) for c in conflicts),
                           drifts=drifts)
        if conflicts:
            # Bytes in the store that no published row vouches for, and that differ
            # from what the upstream now serves: keep them, go no further.
            reason = "store holds different bytes for this version: " + "; ".join(
                str(c) for c in conflicts
            )
            row = set_state(session, module, row, f.version, VersionState.failed, reason)
            return Outcome(f.path, f.version, "failed", reason, drifts=drifts)
        if row is None:
            row = ModuleVersion(module_id=module.id, version=f.version)
            session.add(row)
        _describe(session, row, f, stored, state)
    return Outcome(f.path, f.version, "stored", sizes={k: p.size for k, p in stored.items()})


def _describe(
    session: Session,
    row: ModuleVersion,
    f: Fetched,
    stored: dict[str, PutResult],
    state: VersionState,
) -> None:
    row.state = state
    row.reason = ""
    row.time = f.time
    row.is_pseudo = versions.is_pseudo(f.version)
    row.go_version = f.facts.go
    row.deprecated = f.facts.deprecated
    row.readme_name = f.report.readme
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
    for req in one_per_path(f.facts.requires):  # the table has one row per path
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


def capture_graph_mods(services: Services, mods: dict[tuple[str, str], Path]) -> int:
    """Keep the go.mod files graph loading read for versions Depot holds no file of;
    how many were new. Identical bytes are a no-op; a version whose stored go.mod
    differs keeps the stored one (the store refuses; the drift alarm watches versions)."""
    with services.db.session() as session:
        wanted = [key for key in sorted(mods) if _unheld(session, *key)]
    added = 0
    for path, version in wanted:
        data = mods[(path, version)].read_bytes()
        try:
            put = services.store.put_bytes(path, version, "mod", data)
        except ImmutableConflict:
            continue
        try:
            with services.db.session() as session:
                session.add(GraphMod(module_path=path, version=version, size=put.size,
                                     sha256=put.sha256, h1=hash_gomod(data)))
            added += 1
        except IntegrityError:
            pass  # another worker recorded the same file first
    return added


def _unheld(session: Session, path: str, version: str) -> bool:
    """Neither a graph go.mod nor a version with stored files yet."""
    if session.scalar(select(GraphMod.id).where(GraphMod.module_path == path,
                                                GraphMod.version == version)):
        return False
    row = get_version(session, path, version)
    return row is None or not row.artifacts


def set_state(
    session: Session,
    module: Module,
    row: ModuleVersion | None,
    version: str,
    state: VersionState,
    reason: str,
) -> ModuleVersion:
    if row is None:
        row = ModuleVersion(module_id=module.id, version=version)
        session.add(row)
    row.state = state
    row.reason = reason
    return row


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
