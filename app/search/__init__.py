"""Search: one interface (base.SearchBackend), documents built from rows
(documents.py, indexing.py), query parsing and ranking rules (queries.py), and
backends: Elasticsearch (elastic.py), SQLite FTS5 (fts.py) and the path search
straight from the database (database.py), which also stands in while the node is
away (fallback.py). updates.py keeps an index in step with the catalogue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.search.base import SearchBackend, SearchHit, SearchPage
from app.search.queries import InvalidQuery

if TYPE_CHECKING:
    from app.resources import Services

__all__ = ["InvalidQuery", "SearchBackend", "SearchHit", "SearchPage"]


def open_backend(services: Services) -> SearchBackend:
    """Elasticsearch when ELASTICSEARCH_URL is set (the database search standing in while
    the node is away); else FTS5 in a SQLite database; else (PostgreSQL) the database
    search, which matches paths only."""
    from app.search.database import DatabaseSearch

    database = DatabaseSearch(services.db, services.store, services.aggregates)
    settings = services.settings
    if settings.search_kind == "fts5":
        from app.search.fts import Fts5Search

        return Fts5Search(services.db)
    if settings.search_kind == "database":
        return database
    from app.search.elastic import ElasticSearchBackend
    from app.search.fallback import FallbackSearch

    node = ElasticSearchBackend(settings.elasticsearch_url, settings.search_index,
                                settings.search_timeout)
    return FallbackSearch(node, database)
