"""Search: one interface (base.SearchBackend), documents built from rows
(documents.py), query parsing and ranking rules (queries.py), and backends.

The database backend works everywhere; full-text backends (SQLite FTS5,
Elasticsearch) plug in behind the same interface.
"""

from app.search.base import SearchBackend, SearchHit, SearchPage
from app.search.queries import InvalidQuery

__all__ = ["InvalidQuery", "SearchBackend", "SearchHit", "SearchPage"]


def open_backend(services) -> SearchBackend:  # type: ignore[no-untyped-def]
    """Elasticsearch when ELASTICSEARCH_URL is set (the database search standing in while
    the node is away), the database search otherwise."""
    from app.search.database import DatabaseSearch

    database = DatabaseSearch(services.db, services.store, services.aggregates)
    settings = services.settings
    if not settings.elasticsearch_url:
        return database
    from app.search.elastic import ElasticSearchBackend
    from app.search.fallback import FallbackSearch

    node = ElasticSearchBackend(settings.elasticsearch_url, settings.search_index,
                                settings.search_timeout)
    return FallbackSearch(node, database)
