"""Keeping the search index in step with the catalogue, in batches.

A publication changes two modules' documents at least: the module's own
(its latest version) and those of what it requires (their used-by counts);
download counts move all the time. Rather than one index request each, paths
go into a Redis set and one ``index`` job drains it, a few hundred documents
per bulk request. The job clears its "queued" flag before it starts taking
paths, so a path added while it runs either is taken by it or queues the next
job: none is forgotten.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from redis import Redis

from app.catalog.usage import used_by_counts
from app.search.documents import SynopsisCache
from app.search.elastic import ElasticSearchBackend
from app.search.indexing import index_documents
from app.services import Services

log = logging.getLogger(__name__)

DIRTY = "depot:search:dirty"
QUEUED = "depot:search:queued"
QUEUED_TTL = 600  # a flag whose job was lost frees itself after this many seconds
BATCH = 500


def mark_dirty(connection: Redis, paths: Iterable[str]) -> bool:
    """Remember paths whose documents changed; True when the caller must queue a job."""
    wanted = sorted(set(paths))
    if not wanted:
        return False
    connection.sadd(DIRTY, *wanted)
    return bool(connection.set(QUEUED, "1", nx=True, ex=QUEUED_TTL))


def node_of(services: Services, timeout: float = 30.0) -> ElasticSearchBackend:
    settings = services.settings
    return ElasticSearchBackend(settings.elasticsearch_url, settings.search_index, timeout)


def update_documents(services: Services, node: ElasticSearchBackend, paths: list[str]) -> int:
    """Write the current documents of ``paths``; delete those with nothing published."""
    with services.db.session() as session:
        used_by = used_by_counts(session, paths)
        docs = index_documents(session, services.store, paths, used_by,
                               SynopsisCache(services.store, size=len(paths) or 1))
    found = {d["path"] for d in docs}
    return node.upsert(docs, gone=[p for p in paths if p not in found])


def drain(services: Services, connection: Redis) -> int:
    """The ``index`` job: take every dirty path, write their documents. Returns how many."""
    connection.delete(QUEUED)
    node = node_of(services)
    done = 0
    while True:
        taken = [p.decode() if isinstance(p, bytes) else p
                 for p in (connection.spop(DIRTY, BATCH) or [])]
        if not taken:
            return done
        try:
            update_documents(services, node, taken)
        except Exception:
            connection.sadd(DIRTY, *taken)  # not lost: the retry (or the next job) takes them
            raise
        done += len(taken)
        log.info("search index: %d module documents written", len(taken))
