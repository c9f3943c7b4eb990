"""Search through the page: results, highlighting, pagination, the license filter,
htmx fragments, and the request form on an empty result that names a module."""

from __future__ import annotations

import re
import time
from dataclasses import replace

from flask.testing import FlaskClient
from sqlalchemy import select

from app.models import Module, ModuleVersion, VersionState
from app.pipeline.inline import InlineDispatcher
from tests.conftest import make_app
from tests.fixtures.catalog import CHAIN_C, PLAINTEXT, USERS, WIDGETS
from tests.portal.conftest import HTML, HX


def hit_paths(body: str) -> list[str]:
    return [re.sub(r"</?mark>", "", p) for p in
            re.findall(r'<h2 class="hit-path"><a href="[^"]+">(.*?)</a></h2>', body)]


def test_results_show_path_synopsis_version_license_and_used_by(catalog: FlaskClient):
    resp = catalog.get("/search?q=chain", headers=HTML)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    # The most used first (b, used by 1, and a, downloaded 345 times, may come either way:
    # full-text backends count downloads too).
    assert hit_paths(body)[0] == CHAIN_C
    assert set(hit_paths(body)) == {CHAIN_C, "depot.test/chain/b", "depot.test/chain/a"}
    assert 'depot.test/<mark>chain</mark>/c' in body
    first = body[body.index('class="hit"'):body.index('class="hit"', body.index('class="hit"') + 1)]
    assert "Generated Depot fixture, version v1.0.0." in first
    assert '<span class="version">v1.0.0</span>' in first
    assert "<span>MIT</span>" in first and "used by 25" in first
    assert "3 modules" in body


def test_exact_path_and_last_element_rank_first(catalog: FlaskClient):
    body = catalog.get("/search?q=widgets", headers=HTML).get_data(as_text=True)
    assert hit_paths(body)[0] == WIDGETS
    body = catalog.get("/search?q=" + PLAINTEXT, headers=HTML).get_data(as_text=True)
    assert hit_paths(body) == [PLAINTEXT]


def test_all_terms_must_match(catalog: FlaskClient):
    body = catalog.get("/search?q=users+u2", headers=HTML).get_data(as_text=True)
    assert sorted(hit_paths(body)) == [p for p in USERS if "/u2" in p]


def test_only_published_versions_are_searchable(catalog: FlaskClient):
    for query in ("unlicensed", "depot.test/rejected"):
        body = catalog.get(f"/search?q={query}", headers=HTML).get_data(as_text=True)
        assert hit_paths(body) == [] and "No published module matches" in body


def test_pagination(catalog: FlaskClient):
    body = catalog.get("/search?q=users", headers=HTML).get_data(as_text=True)
    assert "23 modules · page 1 of 2" in body and len(hit_paths(body)) == 20
    assert 'rel="next" href="/search?q=users&amp;page=2"' in body
    second = catalog.get("/search?q=users&page=2", headers=HTML).get_data(as_text=True)
    assert len(hit_paths(second)) == 3 and 'start="21"' in second
    assert not set(hit_paths(body)) & set(hit_paths(second))
    past = catalog.get("/search?q=users&page=9", headers=HTML)
    assert past.status_code == 200 and "No results on this page" in past.get_data(as_text=True)
    for bad in ("0", "-1", "two", "1e3"):
        resp = catalog.get(f"/search?q=users&page={bad}", headers=HTML)
        assert resp.status_code == 400 and "page must be a whole number" in resp.get_data(
            as_text=True)


def test_license_filter(catalog_app, catalog: FlaskClient):
    body = catalog.get("/search?q=chain&license=MIT", headers=HTML).get_data(as_text=True)
    assert len(hit_paths(body)) == 3
    assert '<option value="MIT" selected>MIT</option>' in body
    body = catalog.get("/search?q=chain&license=Apache-2.0", headers=HTML).get_data(as_text=True)
    assert hit_paths(body) == [] and "with license Apache-2.0" in body
    only_license = catalog.get("/search?license=MIT", headers=HTML).get_data(as_text=True)
    assert "36 modules" in only_license
    bad = catalog.get("/search?q=chain&license=%3Cscript%3E", headers=HTML)
    assert bad.status_code == 400 and "SPDX id" in bad.get_data(as_text=True)
    assert "<script>" not in bad.get_data(as_text=True)


def test_query_is_escaped_everywhere(catalog: FlaskClient):
    resp = catalog.get('/search?q=<img src=x onerror=alert(1)>"', headers=HTML)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body


def test_too_long_query_is_a_400_with_a_message(catalog: FlaskClient):
    resp = catalog.get("/search?q=" + "a" * 300, headers=HTML)
    assert resp.status_code == 400 and "longer than 200" in resp.get_data(as_text=True)


def test_htmx_gets_the_results_fragment_only(catalog: FlaskClient):
    resp = catalog.get("/search?q=chain", headers=HX)
    body = resp.get_data(as_text=True)
    assert "<html" not in body and "search-results" in body and 'id="q"' not in body
    # htmx moves a leading <title> to the document: the tab names the search typed so far.
    assert body.startswith("<title>chain – search · Depot</title>")
    escaped = catalog.get("/search?q=%3Cb%3E", headers=HX).get_data(as_text=True)
    assert escaped.startswith("<title>&lt;b&gt; – search · Depot</title>")
    assert "HX-Request" in resp.headers["Vary"]
    restore = catalog.get("/search?q=chain", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_empty_result_for_a_module_path_offers_the_request_form(catalog: FlaskClient):
    body = catalog.get("/search?q=github.com/acme/missing@v1.2.3", headers=HTML).get_data(
        as_text=True)
    assert "It looks like a module path" in body
    assert 'name="module" value="github.com/acme/missing"' in body
    assert 'name="version" value="v1.2.3"' in body
    assert re.search(r'name="csrf_token" value="[\w-]{20,}"', body)
    plain = catalog.get("/search?q=nothing+like+this", headers=HTML).get_data(as_text=True)
    assert "No published module matches" in plain and 'name="module"' not in plain


def test_empty_query_shows_a_hint(catalog: FlaskClient):
    body = catalog.get("/search", headers=HTML).get_data(as_text=True)
    assert "Results appear as you type" in body


def test_a_newly_published_module_is_found(settings, portal_upstream):
    """Results are cached per catalogue state: a publication or a withdrawal shows as soon
    as the catalogue is asked again (DEPOT_CATALOG_REFRESH seconds at most)."""
    refresh = 0.2
    app = make_app(replace(settings, upstream=portal_upstream.url, gosumdb="off",
                           catalog_refresh=refresh))
    svc = app.extensions["depot"]
    client = app.test_client()
    assert hit_paths(client.get("/search?q=fresh", headers=HTML).get_data(as_text=True)) == []
    with svc.db.session() as session:
        module = Module(path="depot.test/fresh")
        session.add(module)
        session.flush()
        session.add(ModuleVersion(module_id=module.id, version="v1.0.0",
                                  state=VersionState.published))
    pipeline = InlineDispatcher(svc)
    pipeline.enqueue("index", "depot.test/fresh")  # what a publication does (FTS5 on SQLite)
    time.sleep(refresh * 1.5)
    body = client.get("/search?q=fresh", headers=HTML).get_data(as_text=True)
    assert hit_paths(body) == ["depot.test/fresh"] and "license unknown" in body
    with svc.db.session() as session:
        row = session.scalars(select(ModuleVersion).join(Module)
                              .where(Module.path == "depot.test/fresh")).one()
        row.state = VersionState.validation_failed
    pipeline.enqueue("index", "depot.test/fresh")
    time.sleep(refresh * 1.5)
    assert hit_paths(client.get("/search?q=fresh", headers=HTML).get_data(as_text=True)) == []
    svc.db.dispose()
