"""Signing in to the portal with the company's OpenID Connect provider
(DEPOT_OIDC_ISSUER): who a signed-in person is, the role their groups give them, and
where that is kept (the signed session cookie, for DEPOT_OIDC_SESSION_HOURS).

Why the session and not a token: a person in a browser should not paste a token; the
provider already knows who they are and which groups they are in. The go command and
scripts keep using tokens (HTTP Basic, Bearer). The routes are the portal's
(app/portal/signin.py); the gate reads the session (app/auth/gate.py).

authlib (and the cryptography it needs) is imported only when sign-in is set up: a
Depot without it does not pay for them in every process.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from flask import Flask

from app.config import Settings

SESSION_KEY = "depot_user"
# What each role may do grows in this order (app/auth/roles.py names them the same).
RANKS = {"reader": 1, "requester": 2, "admin": 3}
CLIENT = "depot.oidc"  # where the app keeps its provider's client (app.extensions)


class SignInError(ValueError):
    """A sign-in that cannot be completed, with the reason to show the person."""


@dataclass(frozen=True)
class SignedIn:
    name: str  # the ID token's email, else preferred_username, else sub
    role: str
    until: float  # epoch seconds
    groups: tuple[str, ...] = ()  # from DEPOT_OIDC_GROUPS_CLAIM, for DEPOT_PATH_RULES


def role_map(settings: Settings) -> dict[str, str]:
    """DEPOT_OIDC_ROLES as {group: role}; ValueError names a bad entry."""
    found: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in settings.oidc_roles.split(","))):
        group, sep, role = entry.rpartition("=")
        if not sep or not group.strip() or role.strip() not in RANKS:
            raise ValueError(f"DEPOT_OIDC_ROLES entry {entry!r}: expected GROUP=ROLE with "
                             f"ROLE one of {', '.join(RANKS)}")
        found[group.strip()] = role.strip()
    return found


def groups_in(claims: Mapping[str, Any], settings: Settings) -> tuple[str, ...]:
    """The person's groups, as the ID token's DEPOT_OIDC_GROUPS_CLAIM lists them (at most
    100 of them, each cut to 100 characters: they live in the session cookie)."""
    raw = claims.get(settings.oidc_groups_claim) or []
    found = [raw] if isinstance(raw, str) else [g for g in raw if isinstance(g, str)]
    return tuple(sorted({g[:100] for g in found}))[:100]


def role_for(claims: Mapping[str, Any], settings: Settings) -> str | None:
    """The highest role the person's groups give, else DEPOT_OIDC_DEFAULT_ROLE; None when
    that is ``none`` (not let in)."""
    groups = set(groups_in(claims, settings))
    mapped = role_map(settings)
    roles = [mapped[g] for g in groups if g in mapped]
    if roles:
        return max(roles, key=RANKS.__getitem__)
    return None if settings.oidc_default_role == "none" else settings.oidc_default_role


def person(claims: Mapping[str, Any]) -> str:
    for claim in ("email", "preferred_username", "sub"):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip()[:120]
    raise SignInError("the provider's ID token names nobody (no email, "
                      "preferred_username or sub)")


def remember(session: MutableMapping[str, Any], who: SignedIn) -> None:
    session[SESSION_KEY] = {"name": who.name, "role": who.role, "until": who.until,
                            "groups": list(who.groups)}


def forget(session: MutableMapping[str, Any]) -> None:
    session.pop(SESSION_KEY, None)


def signed_in(session: Mapping[str, Any], now: float | None = None) -> SignedIn | None:
    """Who the session says is signed in, while the sign-in lasts."""
    kept = session.get(SESSION_KEY)
    if not isinstance(kept, dict):
        return None
    try:
        who = SignedIn(str(kept["name"]), str(kept["role"]), float(kept["until"]),
                       tuple(str(g) for g in kept.get("groups") or ()))
    except (KeyError, TypeError, ValueError):
        return None
    if who.role not in RANKS or (now or time.time()) >= who.until:
        return None
    return who


def client(app: Flask, settings: Settings) -> Any:
    """The provider's OAuth client of ``app``, made on first use (authlib's Flask
    integration: state, nonce and PKCE in the session; the ID token checked against
    the provider's keys, issuer, audience and expiry)."""
    made = app.extensions.get(CLIENT)
    if made is None:
        from authlib.integrations.flask_client import OAuth

        registry = OAuth(app)
        made = registry.register(
            "depot", client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret or None,
            server_metadata_url=(settings.oidc_issuer.rstrip("/")
                                 + "/.well-known/openid-configuration"),
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256",
                           "timeout": 10})
        app.extensions[CLIENT] = made
    return made
