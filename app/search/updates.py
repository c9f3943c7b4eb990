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
import time
from collections.abc import Callable, Iterable
from threading import Lock
from typing import TYPE_CHECKING

from redis import Redis

from app.catalog.usage import used_by_counts
from app.config import Settings
from app.search.elastic import ElasticSearchBackend
from app.search.fts import Fts5Search
from app.search.indexing import index_documents
from app.services import Services

if TYPE_CHECKING:
    from app.queue import RQDispatcher

log = logging.getLogger(__name__)

SearchIndex = ElasticSearchBackend | Fts5Search

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


def has_index(settings: Settings) -> bool:
    """Whether search reads an index that must be kept up to date (the database search
    reads the catalogue itself)."""
    return settings.search_kind != "database"


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
    with services.db.session() as session:
        used_by = used_by_counts(session, paths)
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


class DownloadsReindexer:
    """Queues the documents of modules whose download counts moved, each at most once per
    ``every`` seconds in this process: ranking uses the log of downloads, so an hourly
    refresh is plenty, and a busy proxy does not rebuild its popular documents every few
    seconds. With no queue to reach (Redis away) the modules wait for the next hour."""

    def __init__(self, settings: Settings, every: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.every = every
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = Lock()
        self._dispatcher: RQDispatcher | None = None

    def due(self, paths: Iterable[str]) -> list[str]:
        now = self._clock()
        with self._lock:
            due = [p for p in paths if now - self._last.get(p, -self.every) >= self.every]
            for path in due:
                self._last[path] = now
        return due

    def __call__(self, paths: list[str]) -> None:
        due = self.due(paths)
        if due:
            from app.queue import RQDispatcher

            if self._dispatcher is None:
                # Short timeouts: this runs on the download counter's thread, which must
                # not hang on an unreachable Redis.
                connection = Redis.from_url(self.settings.queue_url, socket_connect_timeout=1,
                                            socket_timeout=2)
                self._dispatcher = RQDispatcher(self.settings, connection)
            self._dispatcher.enqueue("index", *due)
