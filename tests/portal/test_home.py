"""The home page on a filled Depot (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.models import Module
from tests.fixtures.catalog import CHAIN_C, USERS
from tests.portal.conftest import HTML


def test_home_shows_search_counts_recent_and_most_used(catalog: FlaskClient):
    resp = catalog.get("/", headers=HTML)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert re.search(r'<input id="home-q" type="search" name="q"[^>]*autofocus', body)
    assert 'action="/search"' in body
    counts = dict(re.findall(r"<strong>([\d,]+)</strong> <span>([a-z ]+)</span>", body))
    # 14 standard + xss, widgets, plaintext, 23 users (one with two versions); unlicensed is held
    assert counts["36"] == "modules" and counts["41"] == "versions"
    # The fixture's 1,572 downloads, and the zips other tests of this process fetched
    # from the same catalogue since.
    with catalog.application.extensions["depot"].db.session() as session:
        served = session.scalar(select(func.sum(Module.downloads)))
    assert served >= 1572 and counts[f"{served:,}"] == "downloads served"
    recent = body[body.index("Recently published"):body.index("Most used")]
    assert f"{USERS[0]}@v1.1.0" in recent  # the last one ingested comes first
    popular = body[body.index("Most used"):]
    first = re.search(
        r'<span class="path">([^<]+)</span></a>\s*<span class="used-by">used by (\d+)', popular)
    assert first is not None and first.groups() == (CHAIN_C, "25")


def test_home_suggestions_come_most_used_first(catalog: FlaskClient):
    resp = catalog.get("/search/suggest?q=depot.test/chain")
    options = re.findall(r'<option value="([^"]+)">', resp.get_data(as_text=True))
    assert options[0] == CHAIN_C and set(options) == {CHAIN_C, "depot.test/chain/b",
                                                      "depot.test/chain/a"}
    assert catalog.get("/search/suggest?q=").get_data(as_text=True).strip() == ""
    assert catalog.get("/search/suggest?q=" + "x" * 300).status_code == 200


def test_pages_carry_security_headers(catalog: FlaskClient):
    resp = catalog.get("/", headers=HTML)
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
