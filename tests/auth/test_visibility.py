"""Private modules (DEPOT_PRIVATE) are read only with a token: the GOPROXY, the pages
and the API answer an anonymous caller 404 for a URL that names one, the same for a
private module Depot holds and one it never heard of, whatever DEPOT_ANONYMOUS says; the
in-memory hit path too, even once a token holder's hits put the files in memory. Lists,
counts and searches leave them out (tests/auth/test_hiding.py); what is not made to
hide them yet asks an anonymous caller for a token (401)."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask

from app.auth import tokens
from app.auth.gate import GATE
from app.auth.roles import Role
from app.auth.visibility import BY_URL, HIDDEN, HIDING, MODULE_IN_URL
from tests.conftest import make_app
from tests.fixtures.catalog import CHAIN_C

PRIVATE = "depot.test/chain"
HELD = CHAIN_C  # depot.test/chain/c v1.0.0, published in the catalogue
NEVER = "depot.test/chain/never-heard-of"
PUBLIC = "depot.test/major"
TOKEN = "depot_" + "v" * 43
# Module-naming arguments of the URL map: a new route naming a module in one of these
# must be listed in app/auth/visibility.MODULE_IN_URL.
MODULE_ARGS = {"escaped", "target", "rest"}
# Routes that name a module in their query string instead.
MODULE_IN_QUERY = {"portal.drift_check_status", "portal.zip_image"}


def urls(module: str) -> dict[str, tuple[str, str]]:
    """Endpoint -> (method, URL) naming ``module`` (v1.0.0 where a version is needed)."""
    return {
        "goproxy.latest": ("GET", f"/{module}/@latest"),
        "goproxy.artifact": ("GET", f"/{module}/@v/v1.0.0.info"),
        "goproxy.version_list": ("GET", f"/{module}/@v/list"),
        "portal.module_page": ("GET", f"/{module}@v1.0.0?tab=imports"),
        "api.module_resource": ("GET", f"/api/v1/modules/{module}/versions"),
        "api.module_post": ("POST", f"/api/v1/modules/{module}@v1.0.0/drift-check"),
        "portal.drift_check_status": (
            "GET", f"/drift-check?module={module}&since=2020-01-01T00:00:00"),
        "portal.zip_image": ("GET", f"/-/zip-image?module={module}&version=v1.0.0&file=a.png"),
    }


@pytest.fixture(params=["all", "public"])
def private_app(catalog_app: Flask, request: pytest.FixtureRequest) -> Iterator[Flask]:
    settings = catalog_app.extensions["depot"].settings
    app = make_app(replace(settings, private=PRIVATE, anonymous=request.param))
    # A reader's token the gate trusts already: nothing written to the shared catalogue.
    app.extensions[GATE].checked.put(TOKEN, tokens.Caller("visibility", Role.READER))
    yield app
    app.extensions["depot"].db.dispose()


def audience(cache_control: str) -> str:
    """``public`` or ``private`` (exactly one of them), as a Cache-Control says."""
    said = {d.strip().split("=")[0] for d in cache_control.split(",")} & {"public", "private"}
    assert len(said) == 1, cache_control
    return said.pop()


def with_token() -> dict[str, str]:
    return {"Authorization": "Basic " + b64encode(f"go:{TOKEN}".encode()).decode()}


def test_every_route_naming_a_module_is_checked(catalog_app: Flask) -> None:
    naming = {rule.endpoint for rule in catalog_app.url_map.iter_rules()
              if set(rule.arguments) & MODULE_ARGS}
    assert naming | MODULE_IN_QUERY == set(MODULE_IN_URL) | {"sumdb.passthrough"}
    assert set(urls(HELD)) == set(MODULE_IN_URL)


def test_anonymous_callers_cannot_tell_a_held_private_module_from_none(
        private_app: Flask) -> None:
    client = private_app.test_client()
    for endpoint, (method, url) in urls(HELD).items():
        held = client.open(url, method=method)
        never = client.open(urls(NEVER)[endpoint][1], method=method)
        assert held.status_code == never.status_code, endpoint
        if endpoint in BY_URL | HIDING:
            assert held.status_code == 404 and HIDDEN in held.get_data(as_text=True), endpoint
        else:  # asking Depot to work: a token first, before any module is looked at
            assert held.status_code == 401, (endpoint, held.status_code)
        assert held.get_data().replace(HELD.encode(), b"") == \
            never.get_data().replace(NEVER.encode(), b""), endpoint


def test_a_token_reads_private_modules_and_anonymous_callers_public_ones_by_the_goproxy(
        private_app: Flask) -> None:
    client = private_app.test_client()
    for endpoint in ("goproxy.artifact", "goproxy.version_list", "goproxy.latest",
                     "portal.module_page", "api.module_resource"):
        method, url = urls(HELD)[endpoint]
        assert client.open(url, method=method, headers=with_token()).status_code == 200, url
        public = urls(PUBLIC)[endpoint][1]
        assert client.open(public, method=method).status_code == 200, public


def test_the_in_memory_hit_path_never_answers_an_anonymous_caller(private_app: Flask) -> None:
    client = private_app.test_client()
    info = f"/{HELD}/@v/v1.0.0.info"
    for _ in range(3):  # the token holder's hits put the version in memory
        assert client.get(info, headers=with_token()).status_code == 200
    assert private_app.extensions["depot"].published.cached(HELD, "v1.0.0") is not None
    assert client.get(info).status_code == 404
    gate = private_app.extensions[GATE]
    assert not gate.trusts_to_read(None, HELD) and gate.trusts_to_read(None, PUBLIC)
    assert gate.trusts_to_read(with_token()["Authorization"], HELD)


def test_an_anonymous_caller_reads_the_pages_but_asks_for_work_with_a_token(
        private_app: Flask) -> None:
    client = private_app.test_client()
    for url in ("/set-me-up", "/ping", "/", "/search?q=chain", "/api/v1/search?q=chain",
                "/request/1", "/check", f"/{PUBLIC}@v1.0.0?tab=usedby"):
        assert client.get(url).status_code in (200, 404), url
    for method, url in (("GET", "/metrics"), ("POST", "/api/v1/requests"),
                        ("POST", "/api/v1/check"), ("POST", "/check")):
        resp = client.open(url, method=method)
        assert resp.status_code == 401, url
        assert "Basic" in resp.headers.get("WWW-Authenticate", ""), url
        assert client.open(url, method=method, headers=with_token()).status_code != 401, url


def test_without_private_modules_anonymous_callers_keep_everything(catalog_app: Flask) -> None:
    client = catalog_app.test_client()
    for url in ("/", "/search?q=chain", f"/{HELD}@v1.0.0", f"/{HELD}/@v/v1.0.0.info"):
        assert client.get(url).status_code == 200, url


def test_a_private_module_s_page_says_so_to_a_token_holder(private_app: Flask) -> None:
    client = private_app.test_client()
    page = client.get(f"/{HELD}@v1.0.0", headers=with_token()).get_data(as_text=True)
    assert 'class="badge badge-private"' in page
    assert "Redistributable license" in page  # checked like any other by default
    public = client.get(f"/{PUBLIC}@v1.0.0", headers=with_token()).get_data(as_text=True)
    assert "badge-private" not in public
    settings = private_app.extensions["depot"].settings
    exempt = make_app(replace(settings, private_license="exempt"))
    try:
        exempt.extensions[GATE].checked.put(TOKEN, tokens.Caller("visibility", Role.READER))
        page = exempt.test_client().get(f"/{HELD}@v1.0.0", headers=with_token())
        assert "License gate: exempt" in page.get_data(as_text=True)
    finally:
        exempt.extensions["depot"].db.dispose()


def test_what_only_a_token_reads_stays_out_of_shared_caches(private_app: Flask) -> None:
    """``Cache-Control: private`` for a private module's files and lists (the first
    answer from Flask, the later ones from memory); ``public`` where an anonymous caller
    could read the same."""
    client = private_app.test_client()
    for _ in range(3):
        info = client.get(f"/{HELD}/@v/v1.0.0.info", headers=with_token())
        assert audience(info.headers["Cache-Control"]) == "private", info.headers
    listed = client.get(f"/{HELD}/@v/list", headers=with_token())
    assert audience(listed.headers["Cache-Control"]) == "private"
    for headers in ({}, with_token()):
        public = client.get(f"/{PUBLIC}/@v/v1.0.0.info", headers=headers)
        assert audience(public.headers["Cache-Control"]) == "public", headers


def test_a_closed_depot_s_answers_stay_out_of_shared_caches(catalog_app: Flask) -> None:
    settings = catalog_app.extensions["depot"].settings
    app = make_app(replace(settings, anonymous="none"))
    try:
        app.extensions[GATE].checked.put(TOKEN, tokens.Caller("visibility", Role.READER))
        client = app.test_client()
        for _ in range(3):  # through Flask, then from memory
            info = client.get(f"/{PUBLIC}/@v/v1.0.0.info", headers=with_token())
            assert info.status_code == 200
            assert audience(info.headers["Cache-Control"]) == "private", info.headers
    finally:
        app.extensions["depot"].db.dispose()
