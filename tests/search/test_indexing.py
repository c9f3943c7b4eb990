"""The index follows the catalogue: `flask --app app reindex` rebuilds it behind its alias,
a publication queues one batched ``index`` job (real Redis), and an inline ingest writes
its documents at once. Against the real node `make test` starts."""

from __future__ import annotations

from dataclasses import replace

from flask import Flask
from rq import Queue

from app.config import Settings
from app.ingest import ingest
from app.queue import RQDispatcher, connect
from app.resources import Services
from app.search.dirty import DIRTY, QUEUED
from app.search.updates import drain
from tests.conftest import make_app
from tests.fixtures.catalog import CHAIN_C
from tests.search.conftest import fresh_node


def test_reindex_swaps_the_alias_to_a_complete_new_index(catalog_app: Flask,
                                                         search_node_url: str):
    node = fresh_node(search_node_url)
    app = make_app(replace(catalog_app.extensions["depot"].settings,
                           elasticsearch_url=search_node_url, search_index=node.alias))
    try:
        first = app.test_cli_runner().invoke(args=["reindex"])
        assert first.exit_code == 0, first.output
        assert "indexing modules" in first.output and f"{node.alias} now points to it" in \
            first.output
        before = node._indices()
        assert len(before) == 1 and node.count() == 36
        second = app.test_cli_runner().invoke(args=["reindex"])
        assert second.exit_code == 0, second.output
        after = node._indices()
        assert len(after) == 1 and after != before and node.count() == 36  # old one gone
        assert node.search("chain").hits[0].path == CHAIN_C
    finally:
        node.drop()
        app.extensions["depot"].db.dispose()


def test_reindex_without_a_node(catalog_app: Flask):
    """SQLite rebuilds its FTS5 index; PostgreSQL without a node has none and says so."""
    result = catalog_app.test_cli_runner().invoke(args=["reindex"])
    if catalog_app.extensions["depot"].settings.database_url.startswith("sqlite"):
        assert result.exit_code == 0 and "36 module documents indexed into search_fts" in \
            result.output
    else:
        assert result.exit_code != 0 and "no search index here" in result.output


def test_reindex_with_the_node_away_keeps_the_old_index_and_says_so(catalog_app: Flask):
    app = make_app(replace(catalog_app.extensions["depot"].settings,
                           elasticsearch_url="http://127.0.0.1:9", search_timeout=1.0))
    result = app.test_cli_runner().invoke(args=["reindex"])
    assert result.exit_code != 0 and "was not rebuilt" in result.output
    app.extensions["depot"].db.dispose()


def test_a_publication_queues_one_batched_index_job(queued_settings: Settings,
                                                    search_node_url: str):
    node = fresh_node(search_node_url)
    settings = replace(queued_settings, elasticsearch_url=search_node_url,
                       search_index=node.alias)
    services = Services.from_settings(settings)
    connection = connect(settings)
    connection.delete(DIRTY, QUEUED)
    index_queue = Queue("index", connection=connection)
    index_queue.empty()
    try:
        from app.migrate import upgrade

        upgrade(services.db.engine)
        dispatcher = RQDispatcher(settings, connection)
        dispatcher.enqueue("index", "depot.test/chain/c")
        dispatcher.enqueue("index", "depot.test/chain/b", "depot.test/chain/c")
        assert index_queue.count == 1  # one job drains every path marked meanwhile
        assert {p.decode() for p in connection.smembers(DIRTY)} == {
            "depot.test/chain/c", "depot.test/chain/b"}
        # Nothing is published yet: the job deletes what the index may hold for them.
        assert drain(services, connection) == 2 and not connection.exists(DIRTY)
        assert not connection.exists(QUEUED)  # the next publication queues a new job
        dispatcher.enqueue("index", "depot.test/chain/a")
        assert index_queue.count == 2
    finally:
        index_queue.empty()
        connection.delete(DIRTY, QUEUED)
        node.drop()
        services.db.dispose()


def test_an_inline_ingest_writes_the_documents_it_changes(settings: Settings,
                                                          search_node_url: str):
    node = fresh_node(search_node_url)
    services = Services.from_settings(replace(settings, elasticsearch_url=search_node_url,
                                              search_index=node.alias))
    try:
        from app.migrate import upgrade

        upgrade(services.db.engine)
        assert ingest(services, "depot.test/chain/b", "v1.0.0", deps=True).ok
        node.refresh()
        found = {h.path: h for h in node.search("chain").hits}
        assert set(found) == {"depot.test/chain/b", "depot.test/chain/c"}
        assert found["depot.test/chain/c"].used_by == 1  # counted when b was published
    finally:
        node.drop()
        services.db.dispose()
