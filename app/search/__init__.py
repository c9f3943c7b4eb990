"""Search: one interface (base.SearchBackend), documents built from rows
(documents.py), query parsing and ranking rules (queries.py), and backends.

The database backend works everywhere; full-text backends (SQLite FTS5,
Elasticsearch) plug in behind the same interface.
"""

from app.search.base import SearchBackend, SearchHit, SearchPage
from app.search.queries import InvalidQuery

__all__ = ["InvalidQuery", "SearchBackend", "SearchHit", "SearchPage"]


def open_backend(services) -> SearchBackend:  # type: ignore[no-untyped-def]
    """The configured backend; the database one until a full-text backend is configured."""
    from app.search.database import DatabaseSearch

    return DatabaseSearch(services.db, services.store, services.aggregates)
