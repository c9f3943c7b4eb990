"""Module pages live at the site root beside the GOPROXY protocol: each URL must
still reach its own view (the GOPROXY with its plain-text answers)."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from tests.portal.conftest import HTML


@pytest.mark.parametrize("headers", [{}, HTML], ids=["go-client", "browser"])
def test_goproxy_urls_still_reach_the_proxy(catalog: FlaskClient, headers: dict):
    assert catalog.get("/depot.test/chain/a/@v/list", headers=headers).data == b"v1.0.0\nv1.1.0\n"
    latest = catalog.get("/depot.test/chain/a/@latest", headers=headers)
    assert latest.mimetype == "application/json"
    assert json.loads(latest.data)["Version"] == "v1.1.0"
    info = catalog.get("/depot.test/!mixed!case/!lib/@v/v1.2.0.info", headers=headers)
    assert info.status_code == 200 and json.loads(info.data)["Version"] == "v1.2.0"
    mod = catalog.get("/depot.test/chain/a/@v/v1.1.0.mod", headers=headers)
    assert mod.data.startswith(b"module depot.test/chain/a")
    zipped = catalog.get("/depot.test/chain/a/@v/v1.1.0.zip", headers=headers)
    assert zipped.mimetype == "application/zip" and zipped.data[:2] == b"PK"
    assert catalog.head("/depot.test/chain/a/@v/v1.1.0.info", headers=headers).status_code == 200


@pytest.mark.parametrize("headers", [{}, HTML], ids=["go-client", "browser"])
def test_goproxy_misses_stay_plain_one_line_404s(catalog: FlaskClient, headers: dict):
    for url in ("/depot.test/nothere/@v/list", "/depot.test/nothere/@v/v1.0.0.info",
                "/depot.test/nothere/@latest", "/depot.test/chain/a/@v/v9.9.9.zip"):
        resp = catalog.get(url, headers=headers)
        assert resp.status_code == 404, url
        assert resp.mimetype == "text/plain" and resp.data.count(b"\n") == 1, url


def test_a_held_version_is_still_410_for_the_go_command(catalog: FlaskClient):
    resp = catalog.get("/depot.test/unlicensed/@v/v1.0.0.zip", headers=HTML)
    assert resp.status_code == 410 and b"license not redistributable" in resp.data


def test_portal_pages_are_html(catalog: FlaskClient):
    for url in ("/", "/search", "/set-me-up", "/request", "/depot.test/chain/a",
                "/depot.test/chain/a@v1.0.0", "/depot.test/MixedCase/Lib@v1.2.0"):
        resp = catalog.get(url, headers=HTML)
        assert resp.status_code == 200 and resp.mimetype == "text/html", url


def test_other_routes_keep_their_owners(catalog: FlaskClient):
    assert catalog.get("/static/depot.css").mimetype == "text/css"
    assert catalog.get("/api/v1/requests/999999").get_json() == {"error": "no request 999999"}


def test_unknown_pages_are_friendly_for_browsers_and_plain_for_tools(catalog: FlaskClient):
    page = catalog.get("/no-such-page", headers=HTML)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Page not found" in page.get_data(as_text=True)
    plain = catalog.get("/no-such-page")
    assert plain.status_code == 404 and plain.data == b"not found\n"
    wrong = catalog.delete("/search", headers=HTML)
    assert wrong.status_code == 405 and "Not allowed" in wrong.get_data(as_text=True)
