"""Bring @v/list files back in line with the database after a killed publication.

Publishing commits the version's state first and writes the module's @v/list from
the database right after; the two cannot be one atomic step. A process killed between
them (a validator's batch promotes its companions one by one) leaves a version
published, served by .info/.mod/.zip, but missing from its list, so `go list -m
-versions` and `@latest` miss it until the next publication of that module. The
workers' maintenance walks the publications of the recent past, once each, and
rewrites the lists that disagree (``sync_recent_lists``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from redis import Redis
from sqlalchemy import select

from app.models import Module, ModuleVersion, VersionState
from app.pipeline.capture import tagged_published
from app.resources import Services

# Where the walk got to (an ISO timestamp of published_at): each publication is looked
# at once, by whichever worker does the maintenance round.
CURSOR = "depot:list-sync-cursor"
# A publication this fresh may still be writing its own list: left to the next round.
SETTLE = timedelta(seconds=10)

log = logging.getLogger("depot.lists")


def sync_recent_lists(services: Services, connection: Redis,
                      now: datetime | None = None) -> list[str]:
    """Rewrite the @v/list of modules published since the last round whose list does
    not name exactly their published tagged versions; the modules rewritten."""
    now = now or datetime.now(UTC)
    until = now - SETTLE
    mark = connection.get(CURSOR)
    if isinstance(mark, bytes):
        mark = mark.decode()
    since = (datetime.fromisoformat(mark) if mark
             else until - timedelta(seconds=services.settings.job_timeout))
    if since >= until:
        return []
    with services.db.session() as session:
        modules = session.scalars(
            select(Module.path).distinct()
            .join(ModuleVersion, ModuleVersion.module_id == Module.id)
            .where(ModuleVersion.state == VersionState.published,
                   ModuleVersion.is_pseudo.is_(False),
                   ModuleVersion.published_at > since,
                   ModuleVersion.published_at <= until)
        ).all()
    rewritten = [module for module in sorted(modules) if sync_list(services, module)]
    for module in rewritten:
        log.warning("%s: @v/list did not name its published versions (a publication "
                    "was killed before writing it); rewritten", module)
    connection.set(CURSOR, until.isoformat())
    return rewritten


def sync_list(services: Services, module: str) -> bool:
    """Make the module's @v/list name exactly its published tagged versions; whether
    it had to be rewritten."""
    listed = tagged_published(services, module)
    if services.store.read_list(module) == listed:
        return False
    services.store.set_list(module, listed)
    return True
