"""The search's dirty set: paths whose documents changed, waiting for one ``index`` job
to rewrite them in a batch (app/search/updates.py drains it). Apart from the updates so
that the queue, which fills it, needs nothing else of search."""

from __future__ import annotations

from collections.abc import Iterable

from redis import Redis

from app.config import Settings

DIRTY = "depot:search:dirty"
QUEUED = "depot:search:queued"
QUEUED_TTL = 600  # a flag whose job was lost frees itself after this many seconds


def mark_dirty(connection: Redis, paths: Iterable[str]) -> bool:
    """Remember paths whose documents changed; True when the caller must queue a job."""
    wanted = sorted(set(paths))
    if not wanted:
        return False
    connection.sadd(DIRTY, *wanted)
    return bool(connection.set(QUEUED, "1", nx=True, ex=QUEUED_TTL))


def has_index(settings: Settings) -> bool:
    """Whether search reads an index that must be kept up to date (the database search
    reads the catalogue itself)."""
    return settings.search_kind != "database"
