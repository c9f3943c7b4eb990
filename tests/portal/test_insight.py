"""The Insight tab and badge, and sorting search by insight, through the pages (SQLite and
PostgreSQL)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from app.catalog.insight import NAMES
from tests.fixtures.catalog import CHAIN_C, REJECTED
from tests.portal.conftest import HTML, HX
from tests.portal.test_search import hit_paths

CHAIN_A, CHAIN_B = "depot.test/chain/a", "depot.test/chain/b"


def get(client: FlaskClient, url: str, status: int = 200, headers: dict = HTML) -> str:
    resp = client.get(url, headers=headers)
    assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[:500])
    return resp.get_data(as_text=True)


def score_in_badge(body: str) -> int:
    found = re.search(r'class="badge badge-insight"[^>]*>Insight (\d+)</a>', body)
    assert found, "no insight badge"
    return int(found.group(1))


def test_the_header_badge_links_to_the_insight_tab_on_every_tab(catalog: FlaskClient):
    for url in ("/depot.test/chain/a", "/depot.test/chain/a?tab=versions",
                "/depot.test/chain/a@v1.0.0"):
        body = get(catalog, url)
        badge = re.search(r'<a class="badge badge-insight" href="([^"]+)"', body)
        assert badge and "tab=insight" in badge.group(1)
        assert score_in_badge(body) == score_in_badge(get(catalog, "/depot.test/chain/a"))
    assert 'href="/depot.test/chain/a@v1.0.0?tab=insight"' in get(catalog,
                                                                  "/depot.test/chain/a@v1.0.0")


def test_the_tab_shows_every_factor_with_its_fact_points_and_explanation(catalog: FlaskClient):
    body = get(catalog, "/depot.test/chain/a?tab=insight")
    assert re.search(r'<a href="/depot.test/chain/a\?tab=insight"[^>]*aria-current="page"', body)
    panel = body[body.index('<section class="panel"'):]
    rows = re.findall(r'<tr data-factor="(\w+)"[^>]*>\s*<th scope="row">([^<]+)</th>\s*'
                      r'<td>([^<]+)</td>\s*<td class="num"><span class="points">([\d.]+)'
                      r'</span> / (\d+)</td>\s*<td class="why">([^<]+)</td>', panel)
    assert [r[1] for r in rows] == list(NAMES.values())
    facts = {r[0]: r[2] for r in rows}
    assert facts["license"] == "MIT" and facts["validated"] == "passed"
    assert facts["dependencies"] == "2 requirements, depth 2"
    assert facts["versions"] == "2 tagged releases" and facts["used_by"] == "0 modules"
    assert facts["go_version"].startswith("go 1.21, released 2023-08-08")
    assert sum(int(r[4]) for r in rows) == 100
    total = round(sum(float(r[3]) for r in rows))
    assert f"<strong>{total}</strong> / 100" in panel and score_in_badge(body) == total
    assert all(r[5].endswith(".") for r in rows)
    assert 'id="insight-how"' in panel and "/api/v1/modules/depot.test/chain/a/insight" in panel
    fragment = get(catalog, "/depot.test/chain/a?tab=insight", headers=HX)
    assert "<html" not in fragment and 'data-factor="license"' in fragment


def test_a_module_with_nothing_published_scores_zero(catalog: FlaskClient):
    """Its tab says why; its header shows no badge (an outside trial read "Insight 0" on
    a module still being validated as a verdict on it)."""
    body = get(catalog, f"/{REJECTED}?tab=insight")
    assert "badge-insight" not in body
    assert '<span class="insight-score">0</span>' in body
    assert "Nothing of this module is published yet" in body
    assert body.count("nothing published") == len(NAMES)


def test_search_sorts_by_insight_and_keeps_the_order_across_pages(catalog: FlaskClient):
    body = get(catalog, "/search?q=chain&sort=insight")
    assert hit_paths(body) == [CHAIN_C, CHAIN_B, CHAIN_A]
    assert re.search(r'<option value="insight" selected>', body)
    pills = re.findall(r'class="insight-pill" href="([^"]+)"[^>]*>Insight (\d+)</a>', body)
    assert [p[0] for p in pills] == [f"/{p}?tab=insight" for p in (CHAIN_C, CHAIN_B, CHAIN_A)]
    scores = [int(p[1]) for p in pills]
    assert scores == sorted(scores, reverse=True)
    assert hit_paths(get(catalog, "/search?q=chain&sort=used_by")) == [CHAIN_C, CHAIN_B, CHAIN_A]
    fragment = get(catalog, "/search?q=users&sort=insight", headers=HX)
    assert 'href="/search?q=users&amp;sort=insight&amp;page=2"' in fragment
    relevance = get(catalog, "/search?q=users")
    assert "sort=" not in re.search(r'rel="next" href="([^"]+)"', relevance).group(1)


def test_an_unknown_sort_is_a_400_that_says_what_to_pick(catalog: FlaskClient):
    body = get(catalog, "/search?q=chain&sort=best", 400)
    assert "sort must be one of: relevance, insight, used_by, published" in body


def test_the_tab_is_listed_and_unknown_tabs_still_fail(catalog: FlaskClient):
    body = get(catalog, "/depot.test/chain/c")
    assert re.search(r'<a href="/depot.test/chain/c\?tab=insight"[^>]*>Insight</a>', body)
    assert "insight" in get(catalog, "/depot.test/chain/c?tab=nope", 400)
