"""The gate on real requests: Basic (as the go command sends from .netrc) and Bearer,
answers a client can act on (a 401 with a challenge, JSON for the API), published files
held in memory not served past it, revocation, and wrong tokens limited per client."""

from __future__ import annotations

from base64 import b64encode
from dataclasses import replace

import pytest
from flask import Flask

from app.auth import tokens
from app.auth.gate import GATE
from app.auth.roles import Role
from app.config import Settings
from app.ingest import ingest
from tests.conftest import make_app

MODULE, VERSION = "depot.test/MixedCase/Lib", "v1.2.0"
INFO = f"/depot.test/!mixed!case/!lib/@v/{VERSION}.info"


def basic(token: str, user: str = "anyone") -> dict[str, str]:
    return {"Authorization": "Basic " + b64encode(f"{user}:{token}".encode()).decode()}


def _token(app: Flask, role: str, name: str | None = None) -> str:
    with app.extensions["depot"].db.session() as session:
        return tokens.create(session, name or f"t-{role}", role)[1]


@pytest.fixture
def closed(settings: Settings) -> Flask:
    """DEPOT_ANONYMOUS=none, one version published and held in memory."""
    app = make_app(replace(settings, anonymous="none"))
    assert ingest(app.extensions["depot"], MODULE, VERSION).ok
    return app


def test_a_closed_depot_serves_published_files_only_with_a_token(closed: Flask) -> None:
    client = closed.test_client()
    token = _token(closed, "reader")
    assert client.get(INFO, headers=basic(token)).status_code == 200  # now held in memory
    refused = client.get(INFO)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "token" in refused.get_data(as_text=True)
    assert client.get(INFO, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get(INFO, headers=basic(token, user="")).status_code == 200
    assert client.get(INFO, headers=basic("depot_wrong")).status_code == 401


def test_api_refusals_are_json_and_pages_are_pages(closed: Flask) -> None:
    client = closed.test_client()
    api = client.get("/api/v1/search?q=lib")
    assert api.status_code == 401 and "token" in api.get_json()["error"]
    assert "WWW-Authenticate" in api.headers
    reader = _token(closed, "reader")
    post = client.post("/api/v1/requests", json={"module": MODULE},
                       headers={"Authorization": f"Bearer {reader}"})
    assert post.status_code == 403 and "requester" in post.get_json()["error"]
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 401 and "<html" in page.get_data(as_text=True).lower()


def test_public_reads_without_a_token_but_requests_need_one(settings: Settings) -> None:
    app = make_app(replace(settings, anonymous="public"))
    client = app.test_client()
    assert client.get("/api/v1/search?q=lib").status_code == 200
    refused = client.post("/api/v1/requests", json={"module": MODULE})
    assert refused.status_code == 401
    requester = _token(app, "requester")
    asked = client.post("/api/v1/requests", json={"module": "bad path"},
                        headers={"Authorization": f"Bearer {requester}"})
    assert asked.status_code == 400  # past the gate: the route judged the input


def test_a_wrong_token_is_refused_even_where_anyone_may_go(settings: Settings) -> None:
    client = make_app(settings).test_client()  # DEPOT_ANONYMOUS=all, a laptop's default
    assert client.get("/api/v1/search?q=lib").status_code == 200
    assert client.get("/api/v1/search?q=lib",
                      headers={"Authorization": "Bearer depot_nope"}).status_code == 401
    assert client.get("/ping", headers={"Authorization": "Bearer depot_nope"}).status_code == 200


def test_a_revoked_token_stops_working_within_the_trusted_time(closed: Flask) -> None:
    client = closed.test_client()
    token = _token(closed, "reader", "leaving")
    assert client.get("/api/v1/search?q=lib", headers=basic(token)).status_code == 200
    with closed.extensions["depot"].db.session() as session:
        tokens.revoke(session, "leaving")
    checked = closed.extensions[GATE].checked
    now = [0.0]
    checked.clock = lambda: now[0]
    checked.put(token, tokens.Caller("leaving", Role.READER))  # trusted at time 0
    now[0] = tokens.TRUSTED_FOR - 1
    assert client.get("/api/v1/search?q=lib", headers=basic(token)).status_code == 200
    now[0] = tokens.TRUSTED_FOR
    assert client.get("/api/v1/search?q=lib", headers=basic(token)).status_code == 401


def test_wrong_tokens_are_limited_per_client(settings: Settings, redis_url: str) -> None:
    app = make_app(replace(settings, anonymous="none", redis_url=redis_url,
                           auth_failure_limit=3))
    client = app.test_client()
    good = _token(app, "reader")
    for _ in range(3):
        assert client.get("/api/v1/search", headers=basic("depot_guess")).status_code == 401
    limited = client.get("/api/v1/search", headers=basic("depot_guess"))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    other = client.get("/api/v1/search?q=lib", headers=basic(good),
                       environ_base={"REMOTE_ADDR": "127.0.0.9"})
    assert other.status_code == 200  # another address has its own count
    # A valid token a process already trusts still works for the limited address.
    client.get("/api/v1/search?q=lib", headers=basic(good),
               environ_base={"REMOTE_ADDR": "127.0.0.9"})


def test_pages_say_how_to_sign_in_and_set_me_up_shows_netrc(closed: Flask,
                                                           settings: Settings) -> None:
    client = closed.test_client()
    page = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Sign in with a token" in page and "~/.netrc" in page
    token = _token(closed, "reader")
    setup = client.get("/set-me-up", headers={**basic(token), "Accept": "text/html"})
    text = setup.get_data(as_text=True)
    assert setup.status_code == 200 and 'id="cmd-netrc"' in text
    assert "machine localhost" in text and "HTTPS" in text
    open_setup = make_app(settings).test_client().get("/set-me-up").get_data(as_text=True)
    assert 'id="cmd-netrc"' not in open_setup


def test_a_token_sent_where_it_does_not_belong_is_not_repeated(closed: Flask) -> None:
    client = closed.test_client()
    token = _token(closed, "requester")
    auth = {"Authorization": f"Bearer {token}"}
    said = client.post("/api/v1/requests", json={"module": f"example.com/{token}!"},
                       headers=auth)
    assert said.status_code == 400 and token not in said.get_data(as_text=True)


def test_a_wrong_token_is_refused_on_a_file_held_in_memory_too(settings: Settings) -> None:
    app = make_app(settings)  # anyone may read; the fast path holds the version after a hit
    assert ingest(app.extensions["depot"], MODULE, VERSION).ok
    client = app.test_client()
    assert client.get(INFO).status_code == 200
    assert client.get(INFO).status_code == 200  # now answered from memory
    assert client.get(INFO, headers=basic("depot_wrong")).status_code == 401
    assert client.get(INFO, headers=basic(_token(app, "reader"))).status_code == 200


def test_a_trusted_token_is_answered_from_memory_on_a_closed_depot(closed: Flask) -> None:
    client = closed.test_client()
    token = _token(closed, "reader")
    assert client.get(INFO, headers=basic(token)).status_code == 200  # checked by the gate
    hits = closed.wsgi_app
    below = hits.app  # type: ignore[attr-defined]

    def nothing_below(environ: dict, start_response):  # type: ignore[no-untyped-def]
        raise AssertionError(f"{environ['PATH_INFO']} went past the hit layer")

    hits.app = nothing_below  # type: ignore[attr-defined]
    try:
        assert client.get(INFO, headers=basic(token)).status_code == 200
        assert client.get(INFO, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        hits.app = below  # type: ignore[attr-defined]
    assert client.get(INFO).status_code == 401  # no token: to the gate, refused
    assert client.get(INFO, headers=basic("depot_wrong")).status_code == 401
    checked = closed.extensions[GATE].checked
    checked.seconds = 0  # trusted no longer: to the gate again, which checks it anew
    assert client.get(INFO, headers=basic(token)).status_code == 200
