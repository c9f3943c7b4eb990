"""Search backends over the shared filled catalogue: the database search, SQLite's FTS5
index, and a real Elasticsearch node (`make test` starts one:
DEPOT_TEST_ELASTICSEARCH_URL) indexed from that catalogue under an alias of its own."""

from __future__ import annotations

import os
import uuid
from contextlib import ExitStack

import pytest
from flask import Flask

from app.search import SearchBackend
from app.search.database import DatabaseSearch
from app.search.elastic import ElasticSearchBackend
from app.search.fts import Fts5Search
from app.search.indexing import all_documents
from tests.conftest import Kept
from tests.skips import skip_or_fail


@pytest.fixture(scope="session")
def search_node_url() -> str:
    url = os.environ.get("DEPOT_TEST_ELASTICSEARCH_URL", "")
    if not url:
        skip_or_fail("Elasticsearch tests need DEPOT_TEST_ELASTICSEARCH_URL (`make test` "
                     "starts scripts/search-node)")
    return url


def fresh_node(url: str) -> ElasticSearchBackend:
    """A backend on its own alias, so tests never see each other's documents."""
    return ElasticSearchBackend(url, alias=f"depot-test-{uuid.uuid4().hex[:12]}", timeout=30)


def index_catalogue(app: Flask, node: ElasticSearchBackend) -> None:
    svc = app.extensions["depot"]
    _total, documents = all_documents(svc.db, svc.store, svc.aggregates.used_by())
    node.rebuild(documents)


@pytest.fixture(scope="session")
def indexed_catalogue(catalog_app: Flask, search_node_url: str, kept: Kept
                      ) -> ElasticSearchBackend:
    """The catalogue on the search node, indexed once per database (tests.conftest.Kept)."""
    def build(stack: ExitStack) -> ElasticSearchBackend:
        node = fresh_node(search_node_url)
        stack.callback(node.drop)
        index_catalogue(catalog_app, node)
        return node

    database = catalog_app.extensions["depot"].settings.database_url.split(":", 1)[0]
    return kept.get(("indexed", database), build)


@pytest.fixture(params=["database", "fts5", "elasticsearch"])
def backend(request: pytest.FixtureRequest, catalog_app: Flask) -> SearchBackend:
    """Each contract test runs on every backend, unchanged. The catalogue's pipeline
    filled the FTS5 index as it published (SQLite only: on PostgreSQL there is none)."""
    svc = catalog_app.extensions["depot"]
    if request.param == "elasticsearch":
        return request.getfixturevalue("indexed_catalogue")
    if request.param == "fts5":
        if not svc.settings.database_url.startswith("sqlite"):
            pytest.skip("FTS5 is SQLite's")
        return Fts5Search(svc.db)
    return DatabaseSearch(svc.db, svc.store, svc.aggregates)
