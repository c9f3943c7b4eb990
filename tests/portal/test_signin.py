"""Signing in to the portal with an OpenID Connect provider run by the test: the whole
round trip (state, nonce, PKCE, the ID token checked), the role the person's groups
give, a closed Depot opened to them, sign out, the audit trail, and every way a
sign-in must be refused."""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import audit
from app.config import Settings
from app.models import AuditEvent
from tests.conftest import make_app
from tests.fixtures.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, oidc_provider

__all__ = ["oidc_provider"]  # a fixture


@pytest.fixture
def closed(settings: Settings, oidc_provider: Provider) -> Flask:
    """DEPOT_ANONYMOUS=none with sign-in: only tokens and signed-in people get in."""
    return make_app(replace(
        settings, anonymous="none", oidc_issuer=oidc_provider.url, oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_roles="depot-admins=admin, platform=requester"))


def sign_in(client: FlaskClient, next_path: str = "/") -> tuple[int, str, str]:
    """Through the provider and back: (the callback's status, where it sends, its body)."""
    start = client.get(f"/login?next={next_path}")
    assert start.status_code == 302, start.get_data(as_text=True)
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    assert back.path == "/login/callback"
    done = client.get(f"{back.path}?{back.query}")
    return done.status_code, done.headers.get("Location", ""), done.get_data(as_text=True)


def _trail(app: Flask) -> list[AuditEvent]:
    with app.extensions["depot"].db.session() as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        session.expunge_all()
    return rows


def test_a_person_signs_in_gets_the_role_of_their_groups_and_signs_out(
        closed: Flask, oidc_provider: Provider) -> None:
    client = closed.test_client()
    assert client.get("/set-me-up").status_code == 401
    # A browser is offered the provider on the page, not its own Basic dialog; the go
    # command and scripts still get the challenge.
    page = client.get("/set-me-up", headers={"Accept": "text/html"})
    assert page.status_code == 401 and "WWW-Authenticate" not in page.headers
    assert "Sign in with your company account" in page.get_data(as_text=True)
    assert "WWW-Authenticate" in client.get("/api/v1/search").headers
    start = client.get("/login?next=/set-me-up")
    asked = parse_qs(urlsplit(start.headers["Location"]).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"][0]
    assert asked["redirect_uri"] == ["http://localhost/login/callback"]
    status, location, _ = sign_in(client, "/set-me-up")
    assert (status, location) == (302, "/set-me-up")
    assert oidc_provider.token_requests[-1]["code_verifier"]  # PKCE's other half was sent

    page = client.get("/set-me-up")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "ana@corp.test" in text and "Sign out" in text
    assert client.get("/info").status_code == 403  # requester, not admin
    # The session counts for reads and the portal's forms; the API's POSTs take a token.
    assert client.post("/api/v1/requests", json={"module": "depot.test/x"}).status_code == 401

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert csrf is not None
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    out = client.post("/logout", data={"csrf_token": csrf.group(1)})
    assert out.status_code == 302
    assert client.get("/set-me-up").status_code == 401

    rows = [(r.action, r.actor, r.role, r.target) for r in _trail(closed)
            if r.action.startswith("session.")]
    assert rows == [
        (audit.SIGNED_IN, "ana@corp.test", "requester", "ana@corp.test"),
        (audit.SIGNED_OUT, "ana@corp.test", "requester", "ana@corp.test"),
    ]


def test_the_highest_role_of_a_persons_groups_wins(closed: Flask,
                                                   oidc_provider: Provider) -> None:
    oidc_provider.person = {"sub": "u-2", "preferred_username": "bo",
                            "groups": ["platform", "depot-admins", "other"]}
    client = closed.test_client()
    assert sign_in(client)[0] == 302
    assert client.get("/info").status_code == 200
    assert "Audit trail" in client.get("/").get_data(as_text=True)


def test_nobody_outside_the_groups_gets_in_when_the_default_is_none(
        settings: Settings, oidc_provider: Provider) -> None:
    app = make_app(replace(settings, anonymous="none", oidc_issuer=oidc_provider.url,
                           oidc_client_secret=CLIENT_SECRET, oidc_roles="depot-admins=admin",
                           oidc_default_role="none"))
    client = app.test_client()
    status, _, body = sign_in(client)
    assert status == 403 and "none of your groups" in body
    assert client.get("/").status_code == 401
    refused, = (r for r in _trail(app) if r.action == audit.ACCESS_REFUSED)
    assert (refused.actor, refused.target) == ("ana@corp.test", "sign-in")


@pytest.mark.parametrize("tamper", ["aud", "iss", "exp", "signature", "nonce"])
def test_an_id_token_that_is_not_for_us_is_refused(closed: Flask, oidc_provider: Provider,
                                                   tamper: str) -> None:
    oidc_provider.tamper = tamper
    client = closed.test_client()
    status, _, body = sign_in(client)
    assert status == 400 and "Sign-in did not complete" in body
    assert client.get("/").status_code == 401
    assert not [r for r in _trail(closed) if r.action == audit.SIGNED_IN]


def test_a_callback_without_its_state_or_replayed_is_refused(
        closed: Flask, oidc_provider: Provider) -> None:
    client = closed.test_client()
    start = client.get("/login")
    back = urlsplit(requests.get(start.headers["Location"], allow_redirects=False,
                                 timeout=10).headers["Location"])
    other = closed.test_client()  # another browser: no state in its session
    assert other.get(f"{back.path}?{back.query}").status_code == 400
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    replay = closed.test_client()
    assert replay.get(f"{back.path}?{back.query}").status_code == 400
    assert client.get("/login/callback?error=access_denied&error_description=no").status_code \
        == 400


def test_next_never_leaves_this_depot(closed: Flask) -> None:
    client = closed.test_client()
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        status, location, _ = sign_in(client, target)
        assert (status, location) == (302, "/")


def test_without_a_provider_there_is_no_sign_in(settings: Settings) -> None:
    client = make_app(settings).test_client()
    page = client.get("/login", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "DEPOT_OIDC_ISSUER" in page.get_data(as_text=True)
    assert "Sign in" not in client.get("/").get_data(as_text=True)


def test_an_unreachable_provider_is_a_clear_503(settings: Settings,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    client = make_app(replace(settings, oidc_issuer="http://127.0.0.1:9")).test_client()
    page = client.get("/login")
    assert page.status_code == 503 and "not answering" in page.get_data(as_text=True)
