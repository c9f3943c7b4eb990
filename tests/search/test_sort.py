"""Sorting search results, on every backend (the database search, SQLite's FTS5 and a real
Elasticsearch node): by insight score, by use and by publication; only the order changes,
and every backend breaks ties the same way (most used, then path)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from app.catalog.insight_facts import module_insights
from app.search import InvalidQuery, SearchBackend
from app.search.database import SORT_KEYS_TTL, DatabaseSearch
from app.search.elastic import MAPPINGS, SETTINGS
from app.search.indexing import published_paths
from tests.fixtures.catalog import CHAIN_C
from tests.search.conftest import fresh_node

CHAIN_A, CHAIN_B = "depot.test/chain/a", "depot.test/chain/b"


def expected_by_insight(app: Flask, paths: list[str]) -> list[tuple[str, int]]:
    """The catalogue's own scores of ``paths``, in the order a sort by insight promises."""
    svc = app.extensions["depot"]
    used_by = svc.aggregates.used_by()
    with svc.db.session() as session:
        found = module_insights(session, paths, datetime.now(UTC), used_by)
    ordered = sorted(paths, key=lambda p: (-found[p].score, -used_by.get(p, 0), p))
    return [(p, found[p].score) for p in ordered]


def test_sorted_by_insight_in_known_order_with_the_scores(backend: SearchBackend,
                                                          catalog_app: Flask):
    found = backend.search("chain", sort="insight")
    assert found.sort == "insight" and found.total == 3
    got = [(h.path, h.insight) for h in found.hits]
    # c: used by 25, no requirements; b: used by 1, one requirement; a: used by none,
    # two requirements two levels deep (tests/catalog/test_insight_facts.py has the points).
    assert [p for p, _ in got] == [CHAIN_C, CHAIN_B, CHAIN_A]
    assert got == expected_by_insight(catalog_app, [CHAIN_A, CHAIN_B, CHAIN_C])
    assert got[0][1] > got[1][1] > got[2][1]


def test_sorting_changes_the_order_not_the_matches(backend: SearchBackend, catalog_app: Flask):
    relevance = backend.search("depot.test", per_page=100)
    by_insight = backend.search("depot.test", per_page=100, sort="insight")
    assert relevance.total == by_insight.total > 20
    assert {h.path for h in relevance.hits} == {h.path for h in by_insight.hits}
    got = [(h.path, h.insight) for h in by_insight.hits]
    assert got == expected_by_insight(catalog_app, [p for p, _ in got])
    # The first page of a license filter alone, sorted, is the top of the whole catalogue.
    svc = catalog_app.extensions["depot"]
    with svc.db.session() as session:
        everything = published_paths(session)
    top = [h.path for h in backend.search("", "MIT", sort="insight").hits]
    assert top == [p for p, _ in expected_by_insight(catalog_app, everything)][:20]


def test_sorted_by_use_and_by_publication(backend: SearchBackend):
    used = backend.search("chain", sort="used_by").hits
    assert [h.path for h in used] == [CHAIN_C, CHAIN_B, CHAIN_A]
    assert [h.used_by for h in used] == [25, 1, 0]
    newest = backend.search("depot.test", per_page=100, sort="published").hits
    times = [h.published_at.astimezone(UTC) if h.published_at.tzinfo
             else h.published_at.replace(tzinfo=UTC) for h in newest]
    assert times == sorted(times, reverse=True)


def test_an_unknown_sort_is_refused(backend: SearchBackend):
    for sort in ("popular", "", "INSIGHT", "insight desc"):
        with pytest.raises(InvalidQuery, match="sort must be one of: relevance, insight"):
            backend.search("chain", sort=sort)
    with pytest.raises(InvalidQuery, match="sort must be one of"):
        backend.search("", sort="x")  # even with nothing to look for


def test_the_database_search_scores_only_the_matches_and_keeps_them_a_while(
        catalog_app: Flask):
    svc = catalog_app.extensions["depot"]
    now = [1000.0]
    search = DatabaseSearch(svc.db, svc.store, svc.aggregates, clock=lambda: now[0])
    search.search("chain")
    assert search._keys.get("", {}) == {}  # relevance needs no scores
    search.search("chain", sort="insight")
    assert set(search._keys[""]) == {CHAIN_A, CHAIN_B, CHAIN_C}
    search.search("users", sort="published")
    assert len(search._keys[""]) == 3 + 23
    now[0] += SORT_KEYS_TTL + 1
    found = search.search("chain", sort="insight", page=1, per_page=2)
    assert set(search._keys[""]) == {CHAIN_A, CHAIN_B, CHAIN_C}  # made again, for these only
    assert [h.path for h in found.hits] == [CHAIN_C, CHAIN_B] and found.total == 3


def test_an_index_made_before_the_insight_field_takes_it_on_its_next_write(
        search_node_url: str):
    node = fresh_node(search_node_url)
    before = {**MAPPINGS, "properties": {k: v for k, v in MAPPINGS["properties"].items()
                                         if k != "insight"}}
    name = node.alias + "-before-insight"
    node.client.indices.create(index=name, settings=SETTINGS, mappings=before)
    node.client.indices.update_aliases(body={"actions": [
        {"add": {"index": name, "alias": node.alias}}]})
    doc = {"path": "depot.test/old/index", "last": "index", "version": "v1.0.0",
           "versions": ["v1.0.0"], "synopsis": "", "readme": "", "licenses": ["MIT"],
           "used_by": 0, "downloads": 0, "published_at": None, "go_version": "1.21",
           "deprecated": False}
    try:
        node.upsert([doc], refresh=True)  # a document of the old shape, before the upgrade
        assert node.search("index", sort="insight").hits[0].insight == 0  # unmapped: sorts
        node.upsert([{**doc, "path": "depot.test/old/index2", "insight": 42}], refresh=True)
        found = node.search("depot.test/old", sort="insight").hits
        assert [(h.path, h.insight) for h in found] == [("depot.test/old/index2", 42),
                                                       ("depot.test/old/index", 0)]
    finally:
        node.drop()
