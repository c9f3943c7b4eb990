"""Tokens: shown once and kept as a digest, names unique, expiry and revocation, and the
`flask --app app tokens` commands as an operator uses them."""

from __future__ import annotations

import subprocess
import sys
from base64 import b64encode
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth import tokens
from app.auth.gate import presented_token
from app.auth.roles import Role
from app.config import REPO_ROOT, Settings
from app.models import ApiToken, utcnow
from app.wiring import Services
from tests.conftest import settings_env


def test_a_token_is_kept_only_as_its_digest(services: Services) -> None:
    with services.db.session() as session:
        row, token = tokens.create(session, "ci-bot", "reader", 30)
        assert token.startswith(tokens.PREFIX) and len(token) > 40
        assert row.digest == tokens.digest(token) and token not in row.digest
        assert row.hint == token[:10]
    with services.db.session() as session:
        stored = session.scalars(select(ApiToken)).one()
        assert token not in repr(stored.__dict__)
        assert tokens.check(session, token) == tokens.Caller("ci-bot", Role.READER)
        assert stored.last_used_at is not None
        assert tokens.check(session, token[:-1] + "x") is None
        assert tokens.check(session, "not-a-depot-token") is None


def test_expired_and_revoked_tokens_are_refused(services: Services) -> None:
    with services.db.session() as session:
        _row, short = tokens.create(session, "short", "requester", 1)
        _row, revoked = tokens.create(session, "gone", "admin")
    later = utcnow() + timedelta(days=1, seconds=1)
    with services.db.session() as session:
        assert tokens.check(session, short) is not None
        assert tokens.check(session, short, now=later) is None
        assert tokens.state(session.scalars(select(ApiToken).where(
            ApiToken.name == "short")).one(), later) == "expired"
        tokens.revoke(session, "gone")
    with services.db.session() as session:
        assert tokens.check(session, revoked) is None
        assert [tokens.state(row) for row in tokens.listing(session)] == ["active", "revoked"]


@pytest.mark.parametrize(("name", "role", "days", "says"), [
    ("", "reader", None, "name"),
    ("has space", "reader", None, "name"),
    ("x" * 101, "reader", None, "name"),
    ("ok", "root", None, "role must be one of"),
    ("ok", "reader", 0, "--expires"),
])
def test_bad_token_requests_say_why(services: Services, name: str, role: str,
                                    days: int | None, says: str) -> None:
    with services.db.session() as session, pytest.raises(tokens.TokenError, match=says):
        tokens.create(session, name, role, days)


def test_a_name_is_never_used_twice(services: Services) -> None:
    with services.db.session() as session:
        tokens.create(session, "bot", "reader")
        tokens.revoke(session, "bot")
        with pytest.raises(tokens.TokenError, match="exists"):
            tokens.create(session, "bot", "admin")


@pytest.mark.parametrize(("header", "token"), [
    (None, None),
    ("Bearer depot_abc", "depot_abc"),
    ("bearer  depot_abc ", "depot_abc"),
    ("Basic " + b64encode(b"anyone:depot_abc").decode(), "depot_abc"),
    ("Basic " + b64encode(b"depot_abc").decode(), ""),  # no password
    ("Basic %%%", ""),
    ("Digest x", ""),
])
def test_where_a_token_is_read_from(header: str | None, token: str | None) -> None:
    assert presented_token(header) == token


def _flask(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args],
                          cwd=REPO_ROOT, env=settings_env(settings), capture_output=True,
                          text=True, timeout=120)


def test_the_tokens_commands(settings: Settings, services: Services) -> None:
    made = _flask(settings, "tokens", "create", "--role", "requester", "--name", "ci",
                  "--expires", "7")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith(tokens.PREFIX) and "shown this once" in made.stderr
    listed = _flask(settings, "tokens", "list")
    assert listed.returncode == 0 and "ci" in listed.stdout and "requester" in listed.stdout
    assert token not in listed.stdout and token[:10] in listed.stdout
    again = _flask(settings, "tokens", "create", "--role", "reader", "--name", "ci")
    assert again.returncode != 0 and "exists" in again.stderr
    wrong = _flask(settings, "tokens", "create", "--role", "root", "--name", "x")
    assert wrong.returncode == 2 and "root" in wrong.stderr
    assert _flask(settings, "tokens", "revoke", "ci").returncode == 0
    assert "revoked" in _flask(settings, "tokens", "list").stdout
    missing = _flask(settings, "tokens", "revoke", "nobody")
    assert missing.returncode == 1 and "no token named 'nobody'" in missing.stderr
    with services.db.session() as session:
        assert tokens.check(session, token) is None


def test_a_planted_token_is_masked_wherever_depot_writes_it(services: Services) -> None:
    from app.redact import public, redact

    with services.db.session() as session:
        _row, token = tokens.create(session, "planted", "reader")
    for text in (f"GET /search?q={token} 200", f"module {token!r} is not a path",
                 f"https://x.example/{token}/y", token):
        assert token not in redact(text) and token not in public(text)
        assert "depot_***" in redact(text)
    # Names that only start like a token are left alone.
    for text in ("depot_queue_depth", "depot_http_request_duration_seconds_bucket"):
        assert redact(text) == text
