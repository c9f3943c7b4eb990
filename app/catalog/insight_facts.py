"""The facts the insight score is made of, read from the database for many modules at once.

Why batched: search documents are built 200 modules at a time and a rebuild covers the
whole catalogue, so the cost must not grow with one query per module. A batch costs a
fixed handful of queries (versions, retractions, licenses, requirements) plus one per
level of the requirement graph walked for the depth, whatever the number of modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from app.catalog.aggregates import Aggregates
from app.catalog.insight import DEPTH_COUNTED, Insight, InsightFacts, score
from app.catalog.modules import pick_latest, retraction_of, retractions_in_force
from app.catalog.usage import PUBLISHED, used_by_counts
from app.content.cache import LRU
from app.models import LicenseFile, Module, ModuleVersion, Requirement, Retraction

# Levels of the requirement graph walked; deeper counts as this deep. The score gives
# nothing from this depth on, so walking further would cost queries for nothing.
MAX_DEPTH = DEPTH_COUNTED
_CHUNK = 400  # paths per IN list
_MAX_VERSIONS = 2000  # more distinct versions in one level: filter by path alone

Node = tuple[str, str]  # (module path, version)


def gather_facts(
    session: Session, paths: Iterable[str], used_by: Mapping[str, int] | None = None,
) -> dict[str, InsightFacts]:
    """Facts for each of ``paths`` Depot knows (no published version: ``latest`` None).

    ``used_by``: every path's used-by count when the caller keeps them (else counted here).
    """
    wanted = list(dict.fromkeys(paths))
    if not wanted:
        return {}
    rows = session.execute(
        select(Module.path, ModuleVersion.id, ModuleVersion.version, ModuleVersion.time,
               ModuleVersion.published_at, ModuleVersion.is_pseudo, ModuleVersion.go_version,
               ModuleVersion.deprecated, ModuleVersion.redistributable,
               ModuleVersion.validation_note)
        .join(ModuleVersion, ModuleVersion.module_id == Module.id)
        .where(PUBLISHED, Module.path.in_(wanted))
    ).all()
    ranges: dict[int, list[tuple[str, str, str]]] = {}
    for version_id, low, high, rationale in session.execute(
        select(Retraction.version_id, Retraction.low, Retraction.high, Retraction.rationale)
        .where(Retraction.version_id.in_([r.id for r in rows]))
    ):
        ranges.setdefault(version_id, []).append((low, high, rationale))
    by_path: dict[str, list] = {}
    for version_row in rows:
        by_path.setdefault(version_row.path, []).append(version_row)

    latest_rows = {}
    retracted: dict[str, tuple[int, bool]] = {}
    for path, found in by_path.items():
        published = [r.version for r in found]
        in_force = retractions_in_force(published, {r.version: ranges.get(r.id, [])
                                                    for r in found})
        latest = pick_latest(published, in_force)
        latest_rows[path] = next(r for r in found if r.version == latest)
        count = sum(retraction_of(v, in_force) is not None for v in published)
        retracted[path] = (count, retraction_of(latest or "", in_force) is not None)

    latest_ids = [r.id for r in latest_rows.values()]
    licenses: dict[int, list[str]] = {}
    for version_id, spdx in session.execute(
        select(LicenseFile.version_id, LicenseFile.spdx_id)
        .where(LicenseFile.version_id.in_(latest_ids)).order_by(LicenseFile.name)
    ):
        held = licenses.setdefault(version_id, [])
        held += [i for i in (spdx or "").split(",") if i and i not in held]
    requirement_counts = dict(session.execute(
        select(Requirement.version_id, func.count(Requirement.id))
        .where(Requirement.version_id.in_(latest_ids)).group_by(Requirement.version_id)
    ).all())
    roots = {path: (path, row.version) for path, row in latest_rows.items()}
    depths = dependency_depths(session, list(roots.values()))
    counts = used_by if used_by is not None else used_by_counts(session, list(latest_rows))

    out: dict[str, InsightFacts] = {}
    for path in wanted:
        row = latest_rows.get(path)
        if row is None:
            out[path] = InsightFacts(path=path, latest=None)
            continue
        found = by_path[path]
        count, latest_retracted = retracted[path]
        out[path] = InsightFacts(
            path=path, latest=row.version, latest_is_pseudo=row.is_pseudo,
            spdx_ids=tuple(licenses.get(row.id, [])), redistributable=row.redistributable,
            validated=True,  # published: it passed the clean-room build
            validation_note=row.validation_note or "",
            tagged_count=sum(not r.is_pseudo for r in found), published_count=len(found),
            released_at=row.time or row.published_at, used_by=counts.get(path, 0),
            dependency_count=requirement_counts.get(row.id, 0),
            dependency_depth=depths.get(roots[path], 0), go_version=row.go_version,
            latest_retracted=latest_retracted, retracted_count=count,
            deprecated=row.deprecated,
        )
    return out


def dependency_depths(session: Session, roots: list[Node]) -> dict[Node, int]:
    """For each root, how many levels of direct requirements hang below it in Depot's graph.

    0: it requires nothing; 1: what it requires requires nothing Depot holds; and so on.
    Depth is the farthest shortest chain (a breadth-first walk), so a cycle, which the Go
    module graph allows, ends the walk instead of looping. Edges are loaded one level at
    a time for every root together, so the cost is one query per level, not per module.
    """
    edges: dict[Node, list[Node]] = {}
    frontier = set(roots)
    for _level in range(MAX_DEPTH):  # edges of levels 0..MAX_DEPTH-1 reach MAX_DEPTH
        todo = [n for n in frontier if n not in edges]
        if not todo:
            break
        for node in todo:
            edges[node] = []
        wanted = set(todo)
        paths = sorted({path for path, _version in todo})
        versions = sorted({version for _path, version in todo})
        for start in range(0, len(paths), _CHUNK):
            # Paths and versions as two lists (both indexed), the exact pairs picked here:
            # row values against a list of pairs make SQLite scan the whole join instead.
            for path, version, req_path, req_version in session.execute(
                select(Module.path, ModuleVersion.version, Requirement.path,
                       Requirement.required_version)
                .join(ModuleVersion, ModuleVersion.module_id == Module.id)
                .join(Requirement, Requirement.version_id == ModuleVersion.id)
                .where(Requirement.indirect.is_(False),
                       Module.path.in_(paths[start:start + _CHUNK]),
                       ModuleVersion.version.in_(versions) if len(versions) <= _MAX_VERSIONS
                       else true())
            ):
                if (path, version) in wanted and req_path != path:
                    edges[(path, version)].append((req_path, req_version))
        frontier = {child for node in todo for child in edges[node]}
    out: dict[Node, int] = {}
    for root in roots:
        seen = {root}
        level, depth = [root], 0
        while depth < MAX_DEPTH:
            below = [c for n in level for c in edges.get(n, []) if c not in seen]
            if not below:
                break
            seen.update(below)
            level, depth = below, depth + 1
        out[root] = depth
    return out


def module_insights(
    session: Session, paths: Iterable[str], now: datetime,
    used_by: Mapping[str, int] | None = None,
) -> dict[str, Insight]:
    """The scored breakdown of each of ``paths``."""
    return {path: score(facts, now)
            for path, facts in gather_facts(session, paths, used_by).items()}


def module_insight(
    session: Session, path: str, now: datetime, used_by: Mapping[str, int] | None = None,
) -> Insight:
    return module_insights(session, [path], now, used_by)[path]


class InsightFactsCache:
    """Facts by (module, catalogue mark): a page view or API call costs no query for a
    module whose facts were read since the last publication. Facts hold no time, so the
    score made from them is still computed for "now" on every use."""

    def __init__(self, aggregates: Aggregates, size: int = 4096) -> None:
        self.aggregates = aggregates
        self._facts: LRU[InsightFacts] = LRU(size)

    def insight(self, session: Session, path: str, now: datetime) -> Insight:
        mark = self.aggregates.mark()
        facts = self._facts.get_or_make(
            (path, mark),
            lambda: gather_facts(session, [path], self.aggregates.used_by(mark))[path])
        return score(facts, now)
