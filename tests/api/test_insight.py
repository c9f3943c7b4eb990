"""The insight score in the JSON API: its own sub-resource, the module's field, and search
sorted by it (on a filled Depot, SQLite and PostgreSQL)."""

from __future__ import annotations

from flask import Flask

from app.catalog.insight import WEIGHTS
from tests.api.jsonget import get
from tests.fixtures.catalog import CHAIN_C, REJECTED

CHAIN_A, CHAIN_B = "depot.test/chain/a", "depot.test/chain/b"


def test_the_insight_sub_resource(catalog_app: Flask):
    body = get(catalog_app, f"/api/v1/modules/{CHAIN_A}/insight")
    assert (body["path"], body["version"], body["max"]) == (CHAIN_A, "v1.1.0", 100)
    assert [f["key"] for f in body["factors"]] == list(WEIGHTS)
    assert [f["max"] for f in body["factors"]] == list(WEIGHTS.values())
    deps = next(f for f in body["factors"] if f["key"] == "dependencies")
    assert deps == {**deps, "value": "2 requirements, depth 2", "points": 7.4, "max": 10}
    assert body["score"] == round(sum(f["points"] for f in body["factors"]))
    assert body["computed_at"].endswith("+00:00")
    module = get(catalog_app, f"/api/v1/modules/{CHAIN_A}")
    assert module["insight"] == body["score"]
    # About the module: the same whatever version is asked for.
    assert get(catalog_app, f"/api/v1/modules/{CHAIN_A}?version=v1.0.0")["insight"] == \
        body["score"]


def test_nothing_published_and_unknown_modules(catalog_app: Flask):
    body = get(catalog_app, f"/api/v1/modules/{REJECTED}/insight")
    assert body["score"] == 0 and body["version"] is None
    assert get(catalog_app, f"/api/v1/modules/{REJECTED}")["insight"] == 0
    missing = get(catalog_app, "/api/v1/modules/depot.test/nothing-here/insight", 404)
    assert "not in Depot" in missing["error"]
    assert "error" in get(catalog_app, "/api/v1/modules/not a path/insight", 400)


def test_search_sorted_by_insight(catalog_app: Flask):
    body = get(catalog_app, "/api/v1/search?q=chain&sort=insight")
    assert body["sort"] == "insight"
    assert [r["path"] for r in body["results"]] == [CHAIN_C, CHAIN_B, CHAIN_A]
    scores = [r["insight"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[2] == get(catalog_app, f"/api/v1/modules/{CHAIN_A}/insight")["score"]
    assert get(catalog_app, "/api/v1/search?q=chain")["sort"] == "relevance"
    used = get(catalog_app, "/api/v1/search?q=chain&sort=used_by")["results"]
    assert [r["used_by"] for r in used] == [25, 1, 0]


def test_an_unknown_sort_is_a_400(catalog_app: Flask):
    body = get(catalog_app, "/api/v1/search?q=chain&sort=stars", 400)
    assert body == {"error": "sort must be one of: relevance, insight, used_by, published"}
