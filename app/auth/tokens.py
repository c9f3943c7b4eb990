"""Tokens: made with a role, shown once, kept only as a SHA-256, expired and revoked.

Why a plain SHA-256 and not a slow password hash: a token is 256 random bits, not a
word a person chose, so nothing can be guessed from its digest; and a GOPROXY checks
the token of every request, which a slow hash would make cost milliseconds.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import audit
from app.auth.roles import TOKEN_ROLES, Role
from app.models import ApiToken, utcnow

# Tokens start with this, so a secret scanner (or a person) can tell one.
PREFIX = "depot_"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
# A checked token is trusted this long per process before the database is asked again:
# a revocation takes at most this long to hold everywhere.
TRUSTED_FOR = 30.0
# last_used_at is written at most this often per token (not once per GOPROXY hit).
USE_NOTED_EVERY = timedelta(minutes=5)


class TokenError(ValueError):
    """A token operation refused, with the reason to show."""


@dataclass(frozen=True)
class Caller:
    """Who a valid token belongs to."""

    name: str
    role: Role
    groups: frozenset[str] = frozenset()  # for DEPOT_PATH_RULES


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def create(session: Session, name: str, role: str, expires_days: int | None = None,
           now: datetime | None = None, groups: Sequence[str] = ()) -> tuple[ApiToken, str]:
    """A new token row and the token itself, which is never shown or kept again.
    ``groups``: its holder's, which DEPOT_PATH_RULES name."""
    if not NAME.fullmatch(name):
        raise TokenError("a token's name is 1-100 letters, digits and . _ @ -, "
                         "starting with a letter or digit")
    bad = [g for g in groups if not NAME.fullmatch(g)]
    if bad:
        raise TokenError(f"a group's name is 1-100 letters, digits and . _ @ -, not {bad[0]!r}")
    joined = ",".join(sorted(set(groups)))
    if len(joined) > 500:
        raise TokenError("the groups take more than 500 characters")
    if role not in TOKEN_ROLES:
        raise TokenError(f"role must be one of {', '.join(TOKEN_ROLES)}, not {role!r}")
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise TokenError("--expires is a number of days from 1 to 3650")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token named {name!r} exists (revoked ones keep their name)")
    now = now or utcnow()
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, role=role, digest=digest(token), hint=token[:10],
                   groups=joined, created_at=now,
                   expires_at=now + timedelta(days=expires_days) if expires_days else None)
    session.add(row)
    session.flush()
    audit.add(session, audit.TOKEN_CREATED, name,
              f"role {role}, " + (f"groups {joined}, " if joined else "")
              + (f"expires in {expires_days} days" if expires_days else "valid until revoked"))
    return row, token


def revoke(session: Session, name: str, now: datetime | None = None) -> ApiToken:
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise TokenError(f"no token named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        audit.add(session, audit.TOKEN_REVOKED, name, f"role {row.role}")
    return row


def listing(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)))


def state(row: ApiToken, now: datetime | None = None) -> str:
    """active, expired or revoked."""
    now = now or utcnow()
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def check(session: Session, token: str, now: datetime | None = None) -> Caller | None:
    """The caller a token stands for; None for an unknown, expired or revoked one."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.digest == digest(token)))
    now = now or utcnow()
    if row is None or state(row, now) != "active":
        return None
    if row.last_used_at is None or now - row.last_used_at >= USE_NOTED_EVERY:
        row.last_used_at = now
    return Caller(row.name, TOKEN_ROLES[row.role], groups_of(row.groups))


def groups_of(joined: str) -> frozenset[str]:
    """A comma-separated list of groups as a set."""
    return frozenset(g for g in joined.split(",") if g)


class CheckedTokens:
    """Tokens found valid in the last TRUSTED_FOR seconds, by digest: a client sends
    its token with every GOPROXY request, and a database read each time would cost
    more than the answer. Invalid tokens are not remembered (the gate limits them)."""

    def __init__(self, seconds: float = TRUSTED_FOR, size: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._held: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> Caller | None:
        key = digest(token)
        with self._lock:
            held = self._held.get(key)
            if held is None:
                return None
            if self.clock() - held[0] >= self.seconds:
                del self._held[key]
                return None
            return held[1]

    def put(self, token: str, caller: Caller) -> None:
        with self._lock:
            if len(self._held) >= self.size:
                self._held.clear()
            self._held[digest(token)] = (self.clock(), caller)
