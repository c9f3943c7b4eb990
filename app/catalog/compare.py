"""What changed in a module's dependencies from one of its versions to another.

Two views, because they answer different questions: the go.mod requirements
(what the authors wrote, ``// indirect`` marked) and the build list (what a
consumer of the version actually gets after minimal version selection). The
build list is only compared when Depot recorded it for both versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.graph import build_list_of
from app.catalog.modules import ModuleSummary
from app.gomod import versions
from app.models import Module, ModuleVersion, Requirement


@dataclass(frozen=True)
class Change:
    path: str
    old: str | None  # None: not required by the "from" version
    new: str | None  # None: not required by the "to" version
    old_indirect: bool = False
    new_indirect: bool = False


@dataclass
class Diff:
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    upgraded: list[Change] = field(default_factory=list)
    downgraded: list[Change] = field(default_factory=list)
    unchanged: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.added) + len(self.removed) + len(self.upgraded) + len(self.downgraded)


# path -> (version, indirect)
Listing = Mapping[str, tuple[str, bool]]


def _order(a: str, b: str) -> int:
    """Semver order; a version Go would not accept sorts by its text (never raises)."""
    if versions.is_valid(a) and versions.is_valid(b):
        return versions.compare(a, b)
    return (a > b) - (a < b)


def diff(old: Listing, new: Listing) -> Diff:
    """Each path once, in path order, in the one list that says what happened to it."""
    out = Diff()
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        change = Change(path, before[0] if before else None, after[0] if after else None,
                        bool(before and before[1]), bool(after and after[1]))
        if before is None:
            out.added.append(change)
        elif after is None:
            out.removed.append(change)
        else:
            step = _order(after[0], before[0])
            bucket = out.upgraded if step > 0 else out.downgraded if step < 0 else out.unchanged
            bucket.append(change)
    return out


def requirements_of(session: Session, version_id: int) -> dict[str, tuple[str, bool]]:
    return {
        path: (version, indirect)
        for path, version, indirect in session.execute(
            select(Requirement.path, Requirement.required_version, Requirement.indirect)
            .where(Requirement.version_id == version_id)
        )
    }


@dataclass
class Comparison:
    path: str
    old: str
    new: str
    requirements: Diff
    build_list: Diff | None  # None when Depot lacks either version's build list


def compare_versions(session: Session, path: str, old: tuple[str, int],
                     new: tuple[str, int]) -> Comparison:
    """``old``/``new``: (version, row id) of two versions of ``path`` Depot knows."""
    reqs = diff(requirements_of(session, old[1]), requirements_of(session, new[1]))
    old_list, new_list = build_list_of(session, old[1]), build_list_of(session, new[1])
    listed = None
    if old_list and new_list:
        # The module itself is never a member of its own build list here.
        listed = diff({p: (v, False) for p, v in old_list.items() if p != path},
                      {p: (v, False) for p, v in new_list.items() if p != path})
    return Comparison(path, old[0], new[0], reqs, listed)


@dataclass(frozen=True)
class Side:
    """One version picked for a comparison."""

    version: str
    version_id: int
    redistributable: bool


def sides(session: Session, path: str, wanted: list[str]) -> dict[str, Side]:
    """The picked versions Depot knows of ``path`` (absent ones are left out)."""
    rows = session.execute(
        select(ModuleVersion.version, ModuleVersion.id, ModuleVersion.redistributable)
        .join(Module, Module.id == ModuleVersion.module_id)
        .where(Module.path == path, ModuleVersion.version.in_(set(wanted)))
    ).all()
    return {v: Side(v, vid, bool(redist)) for v, vid, redist in rows}


def previous_version(candidates: list[str], version: str) -> str | None:
    """The highest of ``candidates`` below ``version`` (semver order), if any."""
    below = [v for v in candidates if versions.is_valid(v) and versions.is_valid(version)
             and versions.compare(v, version) < 0]
    return versions.sort_versions(below)[-1] if below else None


class CompareError(Exception):
    """A picked version is malformed (400) or unknown (404); the message says which."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def pick(module: ModuleSummary, old: str | None, new: str | None,
         default_new: str) -> tuple[str | None, str]:
    """(from, to) as asked, defaults filled in: ``to`` is ``default_new``, ``from`` the
    published version just before ``to`` (None when there is none)."""
    new = new or default_new
    for name, value in (("to", new), ("from", old)):
        if value is None:
            continue
        if not versions.is_canonical(value):
            raise CompareError(400, f"{name}: {value!r} is not a canonical version such as "
                                    "v1.2.3")
        if module.get(value) is None:
            raise CompareError(404, f"{name}: {module.path}@{value} is not in Depot")
    if old is None:
        old = previous_version([v.version for v in module.published], new)
    return old, new
