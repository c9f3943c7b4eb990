"""A module and one of its versions, as the module page shows them.

"Latest" follows the go command: the highest release, else the highest
prerelease, else the newest pseudo-version, among published versions, skipping
those that the module's own latest go.mod retracts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalog.usage import unserved_members, used_by_counts
from app.content.cache import LRU
from app.gomod import versions
from app.models import (
    VOUCHABLE,
    LicenseFile,
    Module,
    ModuleVersion,
    Requirement,
    Retraction,
    VersionState,
    is_held,
    vouched_by,
)

# What a version's state means, in a person's words.
STATE_LABELS = {
    VersionState.pending: "queued",
    VersionState.fetching: "being fetched",
    VersionState.processing: "being processed",
    VersionState.captured: "stored, its dependencies being worked out",
    VersionState.staged: "staged, waiting for validation",
    VersionState.validating: "being validated",
    VersionState.blocked: "waiting for its dependencies",
    VersionState.published: "published",
    VersionState.rejected: "rejected",
    VersionState.failed: "failed",
    VersionState.validation_failed: "failed validation",
}
HELD_LABEL = "held: license not redistributable"


@dataclass(frozen=True)
class License:
    file_name: str
    spdx_ids: tuple[str, ...]  # empty when the file was not recognised


@dataclass(frozen=True)
class VersionSummary:
    """One line of the Versions tab."""

    version: str
    state: str  # VersionState value
    label: str  # STATE_LABELS, or HELD_LABEL
    reason: str
    time: datetime | None  # commit time from .info
    published_at: datetime | None
    is_pseudo: bool
    deprecated: str | None
    retracted: str | None  # the rationale ("" when none given); None when not retracted

    @property
    def published(self) -> bool:
        return self.state == VersionState.published.value


@dataclass(frozen=True)
class ModuleSummary:
    path: str
    versions: list[VersionSummary]  # newest first
    latest: str | None  # latest published version, or None
    deprecated: str | None  # the latest version's "Deprecated:" message

    @property
    def tagged(self) -> list[VersionSummary]:
        return [v for v in self.versions if not v.is_pseudo]

    @property
    def pseudo(self) -> list[VersionSummary]:
        return [v for v in self.versions if v.is_pseudo]

    @property
    def published(self) -> list[VersionSummary]:
        return [v for v in self.versions if v.published]

    def get(self, version: str) -> VersionSummary | None:
        return next((v for v in self.versions if v.version == version), None)


@dataclass(frozen=True)
class VersionDetail:
    """The header of a version's page and the counts of its tabs."""

    path: str
    version: str
    summary: VersionSummary
    go_version: str | None
    readme_name: str | None
    redistributable: bool | None  # None: the license gate has not decided yet
    validation_note: str
    licenses: list[License]
    dependency_count: int
    used_by_count: int
    version_id: int
    module: ModuleSummary = field(repr=False)
    # Build-list members Depot holds but does not serve: (path, version, why).
    unserved: list[tuple[str, str, str]] = field(default_factory=list)
    # Not published itself, but served by exact version as a member of this published
    # (path, version)'s build list (app/models.vouched) while its own validation goes on.
    served_with: tuple[str, str] | None = None

    @property
    def spdx_ids(self) -> list[str]:
        seen: list[str] = []
        for lic in self.licenses:
            seen += [i for i in lic.spdx_ids if i not in seen]
        return seen

    @property
    def is_latest(self) -> bool:
        return self.module.latest == self.version

    @property
    def validated(self) -> bool:
        """Published means a clean-room build through Depot alone succeeded."""
        return self.summary.published

    @property
    def shows_contents(self) -> bool:
        """README, go.mod and license texts are shown only for redistributable versions."""
        return self.redistributable is True


def label(row: ModuleVersion) -> str:
    if is_held(row.state, row.redistributable):
        return HELD_LABEL
    return STATE_LABELS[row.state]


class RetractRanges:
    """The retract ranges in force, each bound parsed once.

    Why: a go.mod may hold thousands of ``retract`` lines (a probe's had 15,024), and
    comparing each version with each range by parsing both bounds every time cost a
    second per page view."""

    def __init__(self, ranges: Iterable[tuple[str, str, str]] = ()) -> None:
        self.ranges = [
            (versions.sort_key(low), versions.sort_key(high), rationale or "")
            for low, high, rationale in ranges
            if versions.is_valid(low) and versions.is_valid(high)
        ]

    def rationale(self, version: str) -> str | None:
        """The rationale ("" when none given) if ``version`` is retracted, else None."""
        if not self.ranges or not versions.is_valid(version):
            return None
        key = versions.sort_key(version)
        for low, high, rationale in self.ranges:
            if low <= key <= high:
                return rationale
        return None


def retractions_in_force(
    published: list[str], retractions: Mapping[str, list[tuple[str, str, str]]]
) -> RetractRanges:
    """The (low, high, rationale) ranges of the highest published version's go.mod.

    The go command reads retractions from the latest version's go.mod only.
    """
    if not published:
        return RetractRanges()
    return RetractRanges(retractions.get(versions.latest(published) or "", []))


def retraction_of(version: str, ranges: RetractRanges) -> str | None:
    """The rationale ("" when none given) if ``version`` is retracted, else None."""
    return ranges.rationale(version)


def pick_latest(published: list[str], ranges: RetractRanges) -> str | None:
    """What ``go get m@latest`` picks among published versions (retracted ones skipped
    unless nothing else is left)."""
    if not published:
        return None
    retracted = [v for v in published if ranges.rationale(v) is not None]
    return versions.latest(published, retracted) or versions.latest(published)


# Parsed retract ranges of published versions, by (row id, publication time): a
# published version's go.mod never changes, and a row deleted and made again (SQLite
# may reuse its id) has another publication time.
_RANGES: LRU[RetractRanges] = LRU(256)


def _ranges_in_force(session: Session, rows: list[ModuleVersion]) -> RetractRanges:
    """The latest published version's retract ranges; only its rows are read."""
    published = [r for r in rows if r.state == VersionState.published]
    latest = versions.latest([r.version for r in published])
    row = next((r for r in published if r.version == latest), None)
    if row is None:
        return RetractRanges()

    def load() -> RetractRanges:
        return RetractRanges(session.execute(
            select(Retraction.low, Retraction.high, Retraction.rationale)
            .where(Retraction.version_id == row.id)
        ).all())

    return _RANGES.get_or_make((row.id, row.published_at), load)


def _summaries(rows: list[ModuleVersion], ranges: RetractRanges,
               ) -> tuple[list[VersionSummary], str | None]:
    published = [r.version for r in rows if r.state == VersionState.published]
    out = [
        VersionSummary(
            version=row.version, state=row.state.value, label=label(row), reason=row.reason or "",
            time=row.time, published_at=row.published_at, is_pseudo=row.is_pseudo,
            deprecated=row.deprecated, retracted=ranges.rationale(row.version),
        )
        for row in rows
    ]
    out.sort(key=lambda v: versions.sort_key(v.version) if versions.is_valid(v.version) else (),
             reverse=True)
    return out, pick_latest(published, ranges)


def _version_rows(session: Session, path: str) -> list[ModuleVersion]:
    """Every version row of ``path`` (their retractions are read for the latest only)."""
    return list(
        session.scalars(
            select(ModuleVersion)
            .join(Module, Module.id == ModuleVersion.module_id)
            .where(Module.path == path)
        )
    )


def _summary_of(session: Session, path: str, rows: list[ModuleVersion]) -> ModuleSummary:
    summaries, latest = _summaries(rows, _ranges_in_force(session, rows))
    deprecated = next((v.deprecated for v in summaries if v.version == latest), None)
    return ModuleSummary(path, summaries, latest, deprecated)


def module_summary(session: Session, path: str) -> ModuleSummary | None:
    """The module's versions in every state, or None when Depot has never heard of it."""
    rows = _version_rows(session, path)
    return _summary_of(session, path, rows) if rows else None


def default_version(module: ModuleSummary) -> str:
    """The version an unversioned URL shows: the latest published; else the newest on its
    way; else the newest Depot decided about (refused, with its reason); else the newest.

    Why: a `@latest` probe of tailscale.com left v1.104.7 `failed` (it needs a newer go
    than Depot's), and that failure headed the module's page above v1.66.4, the version
    someone had asked for and Depot had refused with a reason (an outside trial)."""
    if module.latest:
        return module.latest
    failed = VersionState.failed.value
    ended = (failed, VersionState.validation_failed.value, VersionState.rejected.value)
    for wanted in (lambda v: v.state not in ended, lambda v: v.state != failed):
        found = next((v.version for v in module.versions if wanted(v)), None)
        if found:
            return found
    return module.versions[0].version


def version_detail(
    session: Session, path: str, version: str | None = None,
    used_by: Mapping[str, int] | None = None,
) -> VersionDetail | None:
    """``path@version`` (or the default version) with its header facts; None if unknown.

    ``used_by``: every path's used-by count when the caller keeps them (else counted here).
    """
    rows = _version_rows(session, path)
    if not rows:
        return None
    module = _summary_of(session, path, rows)
    version = version or default_version(module)
    summary = module.get(version)
    if summary is None:
        return None
    row = next(r for r in rows if r.version == version)
    license_files = sorted(
        session.scalars(select(LicenseFile).where(LicenseFile.version_id == row.id)),
        key=lambda lf: lf.name,
    )
    dep_count = session.scalar(
        select(func.count(Requirement.id)).where(Requirement.version_id == row.id)
    )
    licenses = [
        License(lf.name, tuple(i for i in (lf.spdx_id or "").split(",") if i))
        for lf in license_files
    ]
    return VersionDetail(
        path=path, version=version, summary=summary, go_version=row.go_version,
        readme_name=row.readme_name, redistributable=row.redistributable,
        validation_note=row.validation_note or "", licenses=licenses,
        dependency_count=dep_count or 0,
        used_by_count=(used_by if used_by is not None
                       else used_by_counts(session, [path])).get(path, 0),
        version_id=row.id, module=module,
        unserved=unserved_members(session, row.id) if summary.published else [],
        served_with=(vouched_by(session, path, version)
                     if row.state in VOUCHABLE and row.redistributable is True else None),
    )
