"""What the pages and the API say about a version's upstream: the last check, the drift
found (with when Depot captured the original), and when a module was last looked at."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    Artifact,
    ArtifactKind,
    Drift,
    DriftCheck,
    DriftOutcome,
    Module,
    ModuleVersion,
)

RECENT_CHECKS = 20  # checks per version the API lists


@dataclass(frozen=True)
class DriftFact:
    kind: str  # info | mod | zip | gone
    stored_sha256: str
    upstream_sha256: str
    stored_h1: str
    upstream_h1: str
    detected_at: datetime


@dataclass(frozen=True)
class CheckFact:
    checked_at: datetime
    outcome: str
    detail: str
    trigger: str


@dataclass
class VersionUpstream:
    """One version: when Depot captured it, what the upstream did since."""

    captured_at: datetime | None
    last_check: CheckFact | None
    drifts: list[DriftFact] = field(default_factory=list)

    @property
    def gone(self) -> bool:
        return any(d.kind == "gone" for d in self.drifts)

    @property
    def changed_files(self) -> list[DriftFact]:
        return [d for d in self.drifts if d.kind != "gone"]

    @property
    def detected_at(self) -> datetime | None:
        return max((d.detected_at for d in self.drifts), default=None)

    @property
    def drifted(self) -> bool:
        """Drift was found and no later check saw the upstream back to Depot's bytes."""
        if not self.drifts:
            return False
        last = self.last_check
        return not (last is not None and last.outcome == DriftOutcome.same.value
                    and self.detected_at is not None
                    and last.checked_at >= self.detected_at)


def _check(row: DriftCheck) -> CheckFact:
    return CheckFact(row.checked_at, row.outcome.value, row.detail, row.trigger)


def version_upstream(session: Session, module: str, version: str, version_id: int
                     ) -> VersionUpstream:
    captured = session.scalar(
        select(Artifact.created_at).where(Artifact.version_id == version_id,
                                          Artifact.kind == ArtifactKind.zip)
    ) or session.scalar(select(ModuleVersion.created_at).where(ModuleVersion.id == version_id))
    last = session.scalar(
        select(DriftCheck).where(DriftCheck.version_id == version_id)
        .order_by(DriftCheck.checked_at.desc(), DriftCheck.id.desc()).limit(1)
    )
    drifts = session.scalars(
        select(Drift).where(Drift.module_path == module, Drift.version == version)
        .order_by(Drift.detected_at, Drift.id)
    ).all()
    return VersionUpstream(
        captured_at=captured,
        last_check=_check(last) if last is not None else None,
        drifts=[DriftFact(d.kind.value, d.stored_sha256, d.upstream_sha256, d.stored_h1,
                          d.upstream_h1, d.detected_at) for d in drifts],
    )


@dataclass
class ModuleUpstream:
    """A module: when any of its versions was last checked, and which ones drifted."""

    last_checked_at: datetime | None
    drifted: dict[str, datetime]  # version -> latest detection, while not seen undone


def module_upstream(session: Session, module: str) -> ModuleUpstream:
    versions_of = (select(ModuleVersion.id, ModuleVersion.version)
                   .join(Module, Module.id == ModuleVersion.module_id)
                   .where(Module.path == module).subquery())
    latest = (select(DriftCheck.version_id, func.max(DriftCheck.checked_at).label("at"))
              .join(versions_of, versions_of.c.id == DriftCheck.version_id)
              .group_by(DriftCheck.version_id).subquery())
    last_checks = session.execute(
        select(versions_of.c.version, DriftCheck.checked_at, DriftCheck.outcome)
        .join(latest, (latest.c.version_id == DriftCheck.version_id)
              & (latest.c.at == DriftCheck.checked_at))
        .join(versions_of, versions_of.c.id == DriftCheck.version_id)
    ).all()
    found = session.execute(
        select(Drift.version, func.max(Drift.detected_at))
        .where(Drift.module_path == module).group_by(Drift.version)
    ).all()
    same_since = {v: at for v, at, outcome in last_checks if outcome == DriftOutcome.same}
    drifted = {v: when for v, when in found
               if not (v in same_since and same_since[v] >= when)}
    last = max((at for _v, at, _o in last_checks), default=None)
    return ModuleUpstream(last, drifted)


def recent_checks(session: Session, version_id: int, limit: int = RECENT_CHECKS
                  ) -> list[CheckFact]:
    rows = session.scalars(
        select(DriftCheck).where(DriftCheck.version_id == version_id)
        .order_by(DriftCheck.checked_at.desc(), DriftCheck.id.desc()).limit(limit)
    ).all()
    return [_check(r) for r in rows]


def checks_since(session: Session, module: str, since: datetime) -> list[tuple[str, CheckFact]]:
    """(version, check) of a module's checks at or after ``since`` (the portal's status)."""
    rows = session.execute(
        select(ModuleVersion.version, DriftCheck)
        .join(ModuleVersion, ModuleVersion.id == DriftCheck.version_id)
        .join(Module, Module.id == ModuleVersion.module_id)
        .where(Module.path == module, DriftCheck.checked_at >= since)
        .order_by(DriftCheck.checked_at, DriftCheck.id)
    ).all()
    return [(v, _check(c)) for v, c in rows]


@dataclass
class PageUpstream:
    """What the module page shows: the version's notice and the Versions tab's marks."""

    version: VersionUpstream
    module: ModuleUpstream


def page_upstream(session: Session, module: str, version: str, version_id: int
                  ) -> PageUpstream:
    return PageUpstream(version_upstream(session, module, version, version_id),
                        module_upstream(session, module))
