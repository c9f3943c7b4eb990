"""Search documents: one per module with a published version, built from rows.

A document is what a result shows and what a full-text index stores: the
path, the latest published version, its synopsis (README's first paragraph),
its licenses and how many modules use it. Backends choose how to find
documents; this module only says what one contains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import hidden
from app.catalog.insight_facts import module_insights
from app.catalog.modules import pick_latest, retractions_in_force
from app.catalog.prepared import SYNOPSIS, prepared
from app.catalog.usage import PUBLISHED
from app.config import Settings
from app.content.cache import LRU
from app.db import Database
from app.gomod import patterns
from app.models import LicenseFile, Module, ModuleVersion, Retraction
from app.store import ArtifactStore


@dataclass(frozen=True)
class ModuleDocument:
    path: str
    version: str
    synopsis: str
    licenses: tuple[str, ...]
    used_by: int
    published_at: datetime | None
    deprecated: bool
    insight: int = 0  # the insight score (app/catalog/insight.py) when the document was built


class SynopsisCache:
    """Synopses by (module, version): a published version's README never changes.

    Each is read from ``rendered_contents`` (app/catalog/prepared.py), made and kept
    there by the first asker when the ``render`` job has not run yet."""

    def __init__(self, db: Database, store: ArtifactStore, size: int = 4096) -> None:
        self.db = db
        self.store = store
        self._kept: LRU[str] = LRU(size)

    def get(self, module: str, version: str, version_id: int, readme_name: str | None) -> str:
        return self._kept.get_or_make(
            (module, version),
            lambda: prepared(self.db, self.store, module, version, version_id, readme_name,
                             [SYNOPSIS])[SYNOPSIS].body)


def shown_counts(count: Callable[[], Mapping[str, int]], settings: Settings
                 ) -> Mapping[str, int]:
    """Used-by counts as search documents show them. ``count()`` counts every user. A
    document is read by whoever may see its module, so it counts only the users the
    least of those readers may see (``count()`` again with the others hidden:
    app/hidden.py): a public module's, none that is private or under a path rule; any
    other module's, none under a path rule (DEPOT_PATH_RULES)."""
    every = count()
    ruled = ",".join(glob for glob, _ in patterns.parse_rules(settings.path_rules))
    from_anyone = ",".join(p for p in (settings.private, ruled) if p)
    if not from_anyone:
        return every
    with hidden.hiding(from_anyone):
        public = count()
    if ruled:
        with hidden.hiding(ruled):
            tokens = count()
    else:
        tokens = every
    return {path: (public.get(path, 0) if not patterns.matches(from_anyone, path)
                   else tokens.get(path, 0)) for path in every}


def build_documents(
    session: Session,
    paths: Sequence[str],
    used_by: Mapping[str, int],
    synopses: SynopsisCache | None,
    now: datetime | None = None,
) -> list[ModuleDocument]:
    """Documents for ``paths`` (in that order); paths without a published version are left out.

    ``synopses`` None: the synopsis is left empty for a caller that reads the README anyway.
    """
    if not paths:
        return []
    rows = session.execute(
        select(Module.path, ModuleVersion.id, ModuleVersion.version, ModuleVersion.published_at,
               ModuleVersion.deprecated, ModuleVersion.readme_name)
        .join(ModuleVersion, ModuleVersion.module_id == Module.id)
        .where(PUBLISHED, Module.path.in_(list(paths)))
    ).all()
    by_module: dict[str, list] = {}
    for version_row in rows:
        by_module.setdefault(version_row.path, []).append(version_row)
    ranges: dict[int, list[tuple[str, str, str]]] = {}
    for version_id, low, high, rationale in session.execute(
        select(Retraction.version_id, Retraction.low, Retraction.high, Retraction.rationale)
        .where(Retraction.version_id.in_([r.id for r in rows]))
    ):
        ranges.setdefault(version_id, []).append((low, high, rationale))
    latest_rows = {}
    for path, found in by_module.items():
        published = [r.version for r in found]
        in_force = retractions_in_force(published, {r.version: ranges.get(r.id, []) for r in found})
        latest = pick_latest(published, in_force)
        latest_rows[path] = next(r for r in found if r.version == latest)
    licenses: dict[int, list[str]] = {}
    for version_id, spdx in session.execute(
        select(LicenseFile.version_id, LicenseFile.spdx_id)
        .where(LicenseFile.version_id.in_([r.id for r in latest_rows.values()]))
        .order_by(LicenseFile.name)
    ):
        held = licenses.setdefault(version_id, [])
        held += [i for i in (spdx or "").split(",") if i and i not in held]
    insights = module_insights(session, list(latest_rows), now or datetime.now(UTC), used_by)
    docs = []
    for path in paths:
        row = latest_rows.get(path)
        if row is None:
            continue
        docs.append(
            ModuleDocument(
                path=path, version=row.version,
                synopsis=(synopses.get(path, row.version, row.id, row.readme_name)
                          if synopses is not None else ""),
                licenses=tuple(licenses.get(row.id, [])), used_by=used_by.get(path, 0),
                published_at=row.published_at, deprecated=bool(row.deprecated),
                insight=insights[path].score,
            )
        )
    return docs
