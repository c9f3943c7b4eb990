"""The dependency graph as people read it: what a version requires, and who uses a module.

"Used by" counts modules, not versions: a module with ten published versions
that require ``x`` adds one to ``x``'s count. Only direct requirements count
(``// indirect`` lines name the whole build list since go 1.17, which would make
every low-level module look used by everything), and a module never uses itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session, aliased

from app.gomod import versions
from app.models import (
    PROVISIONAL,
    VOUCHABLE,
    BuildListMember,
    Module,
    ModuleVersion,
    Requirement,
    VersionState,
    is_held,
)

PUBLISHED = ModuleVersion.state == VersionState.published


@dataclass(frozen=True)
class Dependency:
    path: str
    version: str
    indirect: bool
    in_depot: bool  # this exact version is published in Depot
    # Why Depot holds this version but does not serve it (its license, a refusal, a
    # failed validation); empty when it is served or Depot never had it.
    held: str = ""
    # Not published itself yet, but served by exact version as a member of a published
    # version's build list (app/models.vouched) while its own validation goes on.
    served: bool = False


@dataclass(frozen=True)
class Dependent:
    path: str  # the module that uses
    version: str  # its highest published version that requires the module
    requires: str  # the version of the module it requires there


@dataclass(frozen=True)
class DependentsPage:
    total: int
    page: int
    per_page: int
    items: list[Dependent]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def direct_uses() -> Select:
    """(required path, using module id) pairs of published versions, direct requirements."""
    user = aliased(Module)
    return (
        select(Requirement.path.label("path"), ModuleVersion.module_id.label("user_id"))
        .join(ModuleVersion, Requirement.version_id == ModuleVersion.id)
        .join(user, user.id == ModuleVersion.module_id)
        .where(PUBLISHED, Requirement.indirect.is_(False), user.path != Requirement.path)
    )


def used_by_counts(session: Session, paths: Iterable[str] | None = None) -> dict[str, int]:
    """Modules using each path (all paths with any user when ``paths`` is None)."""
    uses = direct_uses().subquery()
    query = select(uses.c.path, func.count(distinct(uses.c.user_id))).group_by(uses.c.path)
    if paths is not None:
        wanted = list(paths)
        if not wanted:
            return {}
        query = query.where(uses.c.path.in_(wanted))
    return {path: count for path, count in session.execute(query)}


def used_by(session: Session, path: str, page: int = 1, per_page: int = 20) -> DependentsPage:
    """Modules whose published versions require ``path``, once each, by name."""
    user = aliased(Module)
    rows = session.execute(
        select(user.path, ModuleVersion.version, Requirement.required_version)
        .join(ModuleVersion, Requirement.version_id == ModuleVersion.id)
        .join(user, user.id == ModuleVersion.module_id)
        .where(PUBLISHED, Requirement.indirect.is_(False), Requirement.path == path,
               user.path != path)
    ).all()
    best: dict[str, tuple[str, str]] = {}
    for user_path, version, required in rows:
        held = best.get(user_path)
        if held is None or versions.compare(version, held[0]) > 0:
            best[user_path] = (version, required)
    ordered = sorted(best)
    start = (page - 1) * per_page
    items = [Dependent(p, *best[p]) for p in ordered[start : start + per_page]]
    return DependentsPage(len(ordered), page, per_page, items)


def dependencies(session: Session, version_id: int, on_miss_served: bool = False
                 ) -> list[Dependency]:
    """What one version's go.mod requires, direct first, each marked if Depot lacks it.
    ``on_miss_served``: Depot fetches on a miss, so a version a miss captured is served
    while its validation goes on (app/goproxy/published.py), not "not in Depot"."""
    reqs = session.execute(
        select(Requirement.path, Requirement.required_version, Requirement.indirect)
        .where(Requirement.version_id == version_id)
    ).all()
    if not reqs:
        return []
    published = {
        (path, version)
        for path, version in session.execute(
            select(Module.path, ModuleVersion.version)
            .join(ModuleVersion, ModuleVersion.module_id == Module.id)
            .where(PUBLISHED, Module.path.in_({r.path for r in reqs}))
        )
    }
    unpublished = {(r.path, r.required_version) for r in reqs} - published
    held = _held(session, unpublished)
    served = _vouched(session, unpublished - set(held))
    if on_miss_served:
        served |= _provisional(session, unpublished - set(held))
    found = [
        Dependency(r.path, r.required_version, r.indirect,
                   (r.path, r.required_version) in published,
                   held.get((r.path, r.required_version), ""),
                   (r.path, r.required_version) in served)
        for r in reqs
    ]
    return sorted(found, key=lambda d: (d.indirect, d.path))


def served_unpublished(session: Session, keys: set[tuple[str, str]], on_miss_served: bool
                       ) -> set[tuple[str, str]]:
    """Those of ``keys`` the GOPROXY serves by exact version though they are not published:
    members of a published build list (app/models.vouched) and, when Depot fetches on a
    miss (``on_miss_served``), versions a miss captured. What the dependencies list marks
    "served, validating", for the go.mod check (app/catalog/check.py) too."""
    served = _vouched(session, keys)
    if on_miss_served:
        served |= _provisional(session, keys)
    return served


def _provisional(session: Session, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of ``keys`` stored, redistributable and not yet published or refused."""
    if not keys:
        return set()
    rows = session.execute(
        select(Module.path, ModuleVersion.version)
        .join(ModuleVersion, ModuleVersion.module_id == Module.id)
        .where(Module.path.in_({path for path, _ in keys}),
               ModuleVersion.state.in_(PROVISIONAL), ModuleVersion.redistributable.is_(True))
    ).all()
    return {(path, version) for path, version in rows} & keys


def _vouched(session: Session, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of ``keys`` Depot stores and serves as members of a published version's
    build list (app/models.vouched), in one query."""
    if not keys:
        return set()
    publisher = aliased(ModuleVersion)
    member = aliased(ModuleVersion)
    rows = session.execute(
        select(BuildListMember.path, BuildListMember.member_version)
        .join(publisher, publisher.id == BuildListMember.version_id)
        .join(Module, Module.path == BuildListMember.path)
        .join(member, (member.module_id == Module.id)
              & (member.version == BuildListMember.member_version))
        .where(publisher.state == VersionState.published,
               BuildListMember.path.in_({path for path, _ in keys}),
               member.state.in_(VOUCHABLE), member.redistributable.is_(True))
        .distinct()
    ).all()
    return {(path, version) for path, version in rows} & keys


def unserved_members(session: Session, version_id: int) -> list[tuple[str, str, str]]:
    """(path, version, why) of the build-list members of a version that Depot holds
    but does not serve: a consumer through Depot alone cannot have them."""
    keys = {(path, version) for path, version in session.execute(
        select(BuildListMember.path, BuildListMember.member_version)
        .where(BuildListMember.version_id == version_id))}
    held = _held(session, keys)
    return sorted((path, version, why) for (path, version), why in held.items())


def _held(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Versions among ``keys`` that Depot settled without serving them, with the reason."""
    if not keys:
        return {}
    rows = session.execute(
        select(Module.path, ModuleVersion.version, ModuleVersion.state,
               ModuleVersion.redistributable, ModuleVersion.reason)
        .join(ModuleVersion, ModuleVersion.module_id == Module.id)
        .where(Module.path.in_({path for path, _ in keys}))
    ).all()
    found = {}
    for path, version, state, redistributable, reason in rows:
        settled = state in (VersionState.rejected, VersionState.validation_failed) or (
            is_held(state, redistributable))
        if (path, version) in keys and settled:
            found[(path, version)] = reason or state.value
    return found
