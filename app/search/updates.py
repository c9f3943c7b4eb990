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

from redis import Redis

from app.catalog.usage import used_by_counts
from app.resources import Services
from app.search.dirty import DIRTY, QUEUED
from app.search.documents import shown_counts
from app.search.elastic import ElasticSearchBackend
from app.search.fts import Fts5Search
from app.search.indexing import index_documents

log = logging.getLogger(__name__)

SearchIndex = ElasticSearchBackend | Fts5Search

BATCH = 500


def index_of(services: Services, timeout: float = 30.0) -> SearchIndex | None:
    """The index documents are written to, or None when search reads the catalogue."""
    settings = services.settings
    if settings.search_kind == "elasticsearch":
        return ElasticSearchBackend(settings.elasticsearch_url, settings.search_index, timeout)
    if settings.search_kind == "fts5":
        return Fts5Search(services.db)
    return None


def update_documents(services: Services, node: SearchIndex, paths: list[str]) -> int:
    """Write the current documents of ``paths``; delete those with nothing published."""
    def count() -> dict[str, int]:
        with services.db.session() as session:
            return used_by_counts(session, paths)

    used_by = shown_counts(count, services.settings)
    with services.db.session() as session:
        docs = index_documents(services.db, session, services.store, paths, used_by)
    found = {d["path"] for d in docs}
    return node.upsert(docs, gone=[p for p in paths if p not in found])


def drain(services: Services, connection: Redis) -> int:
    """The ``index`` job: take every dirty path, write their documents. Returns how many."""
    connection.delete(QUEUED)
    node = index_of(services)
    if node is None:
        connection.delete(DIRTY)
        return 0
    done = 0
    while True:
        taken = [p.decode() if isinstance(p, bytes) else str(p)
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
