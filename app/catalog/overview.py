"""The home page's facts: how much Depot holds and serves, what is new, what is used most."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from app.catalog.usage import PUBLISHED, direct_uses
from app.models import Module, ModuleVersion, Request


@dataclass(frozen=True)
class Counts:
    modules: int  # modules with at least one published version
    versions: int  # published versions
    downloads: int  # zips the GOPROXY served


@dataclass(frozen=True)
class RecentVersion:
    path: str
    version: str
    published_at: datetime | None


@dataclass(frozen=True)
class PopularModule:
    path: str
    used_by: int


def publication_mark(session: Session) -> tuple:
    """Changes whenever a version is published or leaves ``published``: (count, newest).

    Cheap (both read only the ``(state, published_at)`` index), so caches of
    aggregates over published versions can ask it on every use and recompute
    only when it moves.
    """
    count = session.scalar(select(func.count()).select_from(ModuleVersion).where(PUBLISHED))
    newest = session.scalar(select(func.max(ModuleVersion.published_at)).where(PUBLISHED))
    return (count, newest)


def counts(session: Session) -> Counts:
    modules = session.scalar(select(func.count(distinct(ModuleVersion.module_id))).where(PUBLISHED))
    version_count = session.scalar(select(func.count(ModuleVersion.id)).where(PUBLISHED))
    return Counts(modules or 0, version_count or 0, counts_downloads(session))


def counts_downloads(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Module.downloads), 0))) or 0)


def recently_published(session: Session, limit: int = 10) -> list[RecentVersion]:
    """The newest published versions someone asked for (the request button, the API, an
    ingest, a queued miss), then, if room is left, the newest of the rest.

    Why: a requested version is published with its build list, and the members come
    out of validation around it; by recency alone cobra v1.8.1 fell off the home page
    behind its own dependencies, and a big tree's 137 members pushed every request off
    (an outsider's trial, 2026-12-04)."""
    columns = (Module.path, ModuleVersion.version, ModuleVersion.published_at)
    newest = (ModuleVersion.published_at.desc().nulls_last(), ModuleVersion.id.desc())
    asked = select(Request.id).where(Request.version_id == ModuleVersion.id).exists()
    rows = list(session.execute(
        select(*columns).join(Module, Module.id == ModuleVersion.module_id)
        .where(PUBLISHED, asked).order_by(*newest).limit(limit)
    ).all())
    if len(rows) < limit:
        rows += session.execute(
            select(*columns).join(Module, Module.id == ModuleVersion.module_id)
            .where(PUBLISHED, ~asked).order_by(*newest).limit(limit - len(rows))
        ).all()
    return [RecentVersion(*row) for row in rows]


def most_used(session: Session, limit: int = 10) -> list[PopularModule]:
    """Published modules ranked by how many modules use them."""
    uses = direct_uses().subquery()
    n = func.count(distinct(uses.c.user_id)).label("n")
    in_depot = (
        select(Module.id)
        .join(ModuleVersion, ModuleVersion.module_id == Module.id)
        .where(PUBLISHED, Module.path == uses.c.path)
        .exists()
    )
    rows = session.execute(
        select(uses.c.path, n).where(in_depot).group_by(uses.c.path)
        .order_by(n.desc(), uses.c.path).limit(limit)
    ).all()
    return [PopularModule(path, count) for path, count in rows]
