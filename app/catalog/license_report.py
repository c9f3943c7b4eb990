"""The licenses of a version's whole build list, grouped and flagged.

A Go binary carries every module of its build list, so the question a person
asks before adopting ``module@version`` is about all of them: which licenses,
which of them Depot could not name, which the configured policy would not let
Depot serve, and whether a permissively licensed module quietly pulls copyleft
code in. The build list is the one the toolchain resolved for a consumer of
the version (``BuildListMember`` rows, which leave the module itself out; the
report puts it back as its first row). Licenses come from Depot's own
classification of each member version's root license files.

``build_report`` is pure (holdings in, report out) so it is tested without a
database; ``license_report`` reads the rows and calls it.

Hidden versions: a version whose own license does not let Depot show its files
shows its own license ids (as its License tab does) but not its build list,
which is read from its go.mod: the same rule as its Dependencies tab.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.modules import VersionDetail
from app.licenses.categories import COPYLEFT_KIND, LABELS, PERMISSIVE_KINDS, category, strictest
from app.licenses.policy import is_allowed
from app.models import (
    Artifact,
    ArtifactKind,
    BuildListMember,
    LicenseFile,
    Module,
    ModuleVersion,
    VersionState,
)

UNKNOWN = "unknown"  # the group of members whose license Depot cannot name
# States in which the build list has been worked out (possibly empty: no dependencies).
BUILD_LIST_KNOWN = frozenset({
    VersionState.staged, VersionState.validating, VersionState.blocked,
    VersionState.published, VersionState.validation_failed,
})
_CHUNK = 500  # module paths per IN (...) query
# What a row can be flagged for (the report's columns and the API's flags).
Flag = Literal["unknown", "not_redistributable", "copyleft_in_permissive"]


@dataclass(frozen=True)
class Holding:
    """What Depot holds of one module version (the report's input, no rows)."""

    path: str
    version: str
    state: str | None = None  # VersionState value; None when Depot has no row
    # (file name, SPDX ids as stored: comma-separated, "" unrecognised, None not checked yet)
    license_files: tuple[tuple[str, str | None], ...] = ()
    sha256: str = ""  # of the stored zip; "" when Depot does not hold the zip
    h1: str = ""

    @property
    def in_depot(self) -> bool:
        return bool(self.sha256)


@dataclass(frozen=True)
class MemberLicense:
    """One row of the report."""

    path: str
    version: str
    root: bool
    state: str | None
    in_depot: bool
    published: bool  # the GOPROXY serves its zip
    spdx_ids: tuple[str, ...]
    category: str | None  # the strictest kind among spdx_ids; None when there are none
    unknown: str  # why Depot cannot name (all of) its license; "" when it can
    not_redistributable: tuple[str, ...]  # recognised ids the policy does not allow
    copyleft_in_permissive: str | None  # "weak" | "strong" | "network" | None
    sha256: str
    h1: str

    @property
    def flags(self) -> tuple[Flag, ...]:
        out: list[Flag] = []
        if self.unknown:
            out.append("unknown")
        if self.not_redistributable:
            out.append("not_redistributable")
        if self.copyleft_in_permissive:
            out.append("copyleft_in_permissive")
        return tuple(out)

    @property
    def spdx_expression(self) -> str | None:
        """All its licenses joined with AND (the gate's reading); None when unknown."""
        if self.unknown or not self.spdx_ids:
            return None
        return " AND ".join(self.spdx_ids)


@dataclass(frozen=True)
class LicenseGroup:
    spdx_id: str  # or UNKNOWN
    category: str | None  # None for UNKNOWN
    members: tuple[str, ...]  # "path@version", root first

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def label(self) -> str:
        return LABELS[self.category] if self.category else "license not known"


@dataclass(frozen=True)
class LicenseReport:
    path: str
    version: str
    state: str
    build_list_known: bool
    hidden: bool  # the build list is withheld (the version's own license)
    root_permissive: bool
    members: list[MemberLicense]  # the module itself first, then by path
    groups: list[LicenseGroup] = field(default_factory=list)  # most members first

    @property
    def complete(self) -> bool:
        """Whether the rows are the whole build list (else CSV and SBOM are refused)."""
        return self.build_list_known and not self.hidden

    @property
    def withheld(self) -> str:
        """Why the rows are not the whole build list ("" when they are)."""
        if self.hidden:
            return (f"{self.path}@{self.version} is not redistributable, so Depot does not "
                    "show its build list")
        if self.build_list_known:
            return ""
        ended = {VersionState.rejected.value: "was rejected", VersionState.failed.value: "failed"}
        if self.state in ended:
            return (f"the build list of {self.path}@{self.version} is not known: the version "
                    f"{ended[self.state]} before Depot worked it out")
        return f"the build list of {self.path}@{self.version} is not known yet ({self.state})"

    @property
    def unknown(self) -> list[MemberLicense]:
        return [m for m in self.members if m.unknown]

    @property
    def not_redistributable(self) -> list[MemberLicense]:
        return [m for m in self.members if m.not_redistributable]

    @property
    def copyleft_in_permissive(self) -> list[MemberLicense]:
        return [m for m in self.members if m.copyleft_in_permissive]

    def copyleft_counts(self) -> dict[str, int]:
        """{"weak": n, "strong": n, "network": n} over copyleft_in_permissive members."""
        counts = dict.fromkeys(COPYLEFT_KIND.values(), 0)
        for m in self.copyleft_in_permissive:
            counts[m.copyleft_in_permissive or ""] += 1
        return counts


def _ids(files: tuple[tuple[str, str | None], ...]) -> tuple[str, ...]:
    seen: list[str] = []
    for _name, stored in files:
        seen += [i for i in (stored or "").split(",") if i and i not in seen]
    return tuple(seen)


def _unknown_reason(holding: Holding) -> str:
    if not holding.in_depot:
        return "not in Depot"
    if not holding.license_files:
        return "no license file"
    unchecked = [name for name, stored in holding.license_files if stored is None]
    if unchecked:
        return "not classified yet: " + ", ".join(unchecked)
    unnamed = [name for name, stored in holding.license_files if not stored]
    if unnamed:
        return "unrecognised license in " + ", ".join(unnamed)
    return ""


def _member(holding: Holding, root: bool, allow: frozenset[str],
            root_permissive: bool) -> MemberLicense:
    ids = _ids(holding.license_files) if holding.in_depot else ()
    kinds = [category(i) for i in ids]
    strict = strictest(kinds)
    copyleft = None
    if root_permissive and not root:
        found = [COPYLEFT_KIND[k] for k in kinds if k in COPYLEFT_KIND]
        copyleft = max(found, key=("weak", "strong", "network").index) if found else None
    return MemberLicense(
        path=holding.path, version=holding.version, root=root, state=holding.state,
        in_depot=holding.in_depot, published=holding.state == VersionState.published.value,
        spdx_ids=ids, category=strict, unknown=_unknown_reason(holding),
        not_redistributable=tuple(i for i in ids if not is_allowed(i, allow)),
        copyleft_in_permissive=copyleft, sha256=holding.sha256, h1=holding.h1,
    )


def _groups(members: list[MemberLicense]) -> list[LicenseGroup]:
    by_id: dict[str, list[str]] = {}
    for m in members:
        for spdx_id in m.spdx_ids:
            by_id.setdefault(spdx_id, []).append(f"{m.path}@{m.version}")
        if m.unknown:
            by_id.setdefault(UNKNOWN, []).append(f"{m.path}@{m.version}")
    groups = [LicenseGroup(i, None if i == UNKNOWN else category(i), tuple(names))
              for i, names in by_id.items()]
    groups.sort(key=lambda g: (-g.count, g.spdx_id == UNKNOWN, g.spdx_id.lower()))
    return groups


def build_report(root: Holding, members: Iterable[Holding], allow: frozenset[str], *,
                 build_list_known: bool = True, hidden: bool = False) -> LicenseReport:
    """The report for ``root`` and its build-list ``members`` under the allow-list ``allow``.

    The root is "permissive" when Depot names at least one license in it and every
    one is permissive or public domain; only then are copyleft members flagged.
    """
    root_ids = _ids(root.license_files) if root.in_depot else ()
    root_permissive = (bool(root_ids) and not _unknown_reason(root)
                       and all(category(i) in PERMISSIVE_KINDS for i in root_ids))
    rows = [_member(root, True, allow, root_permissive)]
    if not hidden:
        rows += [_member(h, False, allow, root_permissive)
                 for h in sorted(members, key=lambda h: (h.path, h.version))]
    return LicenseReport(
        path=root.path, version=root.version, state=root.state or "",
        build_list_known=build_list_known, hidden=hidden, root_permissive=root_permissive,
        members=rows, groups=_groups(rows),
    )


def _holdings(session: Session, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], Holding]:
    """What Depot holds of each (path, version), in a few queries whatever the list's size."""
    keys = set(wanted)
    rows: dict[int, tuple[str, str, str]] = {}
    paths = sorted({p for p, _ in wanted})
    for start in range(0, len(paths), _CHUNK):
        some_paths = paths[start:start + _CHUNK]
        for vid, path, version, state in session.execute(
            select(ModuleVersion.id, Module.path, ModuleVersion.version, ModuleVersion.state)
            .join(Module, Module.id == ModuleVersion.module_id)
            .where(Module.path.in_(some_paths))
        ):
            if (path, version) in keys:
                rows[vid] = (path, version, state.value)
    files: dict[int, list[tuple[str, str | None]]] = {vid: [] for vid in rows}
    zips: dict[int, tuple[str, str]] = {}
    ids = sorted(rows)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        for vid, name, spdx in session.execute(
            select(LicenseFile.version_id, LicenseFile.name, LicenseFile.spdx_id)
            .where(LicenseFile.version_id.in_(chunk))
        ):
            files[vid].append((name, spdx))
        for vid, sha, h1 in session.execute(
            select(Artifact.version_id, Artifact.sha256, Artifact.h1)
            .where(Artifact.version_id.in_(chunk), Artifact.kind == ArtifactKind.zip)
        ):
            zips[vid] = (sha, h1)
    found = {}
    for vid, (path, version, state_value) in rows.items():
        sha, h1 = zips.get(vid, ("", ""))
        found[(path, version)] = Holding(path, version, state_value, tuple(sorted(files[vid])),
                                         sha, h1)
    return found


def license_report(session: Session, detail: VersionDetail,
                   allow: frozenset[str]) -> LicenseReport:
    """The report for the version a page or API call shows."""
    hidden = not detail.shows_contents
    members = [] if hidden else [
        (m.path, m.member_version) for m in session.scalars(
            select(BuildListMember).where(BuildListMember.version_id == detail.version_id))
    ]
    held = _holdings(session, [(detail.path, detail.version), *members])
    root = held.get((detail.path, detail.version),
                    Holding(detail.path, detail.version, detail.summary.state))
    state = VersionState(detail.summary.state)
    known = state in BUILD_LIST_KNOWN or bool(members)
    return build_report(root, [held.get(k, Holding(*k)) for k in members], allow,
                        build_list_known=known, hidden=hidden)
