"""The check every request goes through: who is calling (a token, or nobody), and
whether that role may use the route it asked for (app/auth/roles.py).

A token comes as the password of HTTP Basic (what the go command sends from .netrc;
any user name) or as ``Authorization: Bearer``. A request without one is anonymous,
with the role DEPOT_ANONYMOUS gives it. A token that is wrong, expired or revoked is
refused even where anonymous callers may go: it is a mistake its owner should see.
Wrong tokens are counted per client address; past DEPOT_AUTH_FAILURE_LIMIT a minute
the client is answered 429 without a check.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from functools import lru_cache

from flask import Flask, Response, g, request, session
from redis.exceptions import RedisError

from app import audit, hidden
from app.auth import tokens, visibility
from app.auth.roles import ANONYMOUS, OPEN, TOKEN_ROLES, Role, needed
from app.config import Settings
from app.errors import Forbidden, TooManyRequests, Unauthorized
from app.gomod import patterns
from app.ratelimit import FixedWindowLimiter
from app.services import signin

log = logging.getLogger("depot.auth")
# Where the app keeps its gate (app.extensions).
GATE = "depot.gate"


def presented_token(header: str | None) -> str | None:
    """The token in an Authorization header: Bearer's, or Basic's password; None when
    there is no header. A header that says nothing usable gives "" (a wrong token)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return ""


class Gate:
    """Installed as a ``before_request`` of the app (see :func:`install`)."""

    def __init__(self, settings: Settings, find: Callable[[str], tokens.Caller | None],
                 failures: Callable[[], FixedWindowLimiter],
                 note: Callable[[str, str, str], None] = lambda *_: None) -> None:
        self.anonymous = ANONYMOUS[settings.anonymous]
        self.settings = settings
        self.find = find
        self.failures = failures
        self.note = note  # records a refusal in the audit trail (action, target, detail)
        self.checked = tokens.CheckedTokens()
        # What callers without a token may not see, and what a token holder of a role and
        # groups may not: worked out once, not on every request or hit.
        self.from_anonymous = visibility.hidden_from(settings, True, self.anonymous)
        self.hidden_from_token = lru_cache(maxsize=256)(
            lambda role, groups: visibility.hidden_from(settings, False, role, groups))

    def caller(self, header: str | None, client: str,
               person: signin.SignedIn | None = None
               ) -> tuple[str | None, Role, frozenset[str]]:
        """(the token's name, role, groups) of a request, the name None for an anonymous one;
        raises Unauthorized or TooManyRequests for a token that is not accepted.
        ``person``: who the session says signed in (used when no token came)."""
        token = presented_token(header)
        if token is None:
            if person is not None:
                return (person.name, max(TOKEN_ROLES[person.role], self.anonymous),
                        frozenset(person.groups))
            return None, self.anonymous, frozenset()
        found = self.checked.get(token) if token else None
        if found is None and token:
            if self._failed(client, count=False):
                raise TooManyRequests("too many wrong tokens from this address; "
                                      "try again in a minute", 60)
            found = self.find(token)
            if found is not None:
                self.checked.put(token, found)
        if found is None:
            self._failed(client, count=True)
            log.info("refused a token from %s (unknown, expired or revoked)", client)
            # Recorded up to DEPOT_AUTH_FAILURE_LIMIT a minute per client: the 429s
            # that follow are not, so a guesser cannot flood the trail.
            self.note(audit.ACCESS_REFUSED, _what(),
                      "a token that is unknown, expired or revoked (401)")
            raise Unauthorized("the token is not valid (unknown, expired or revoked)")
        # A token never gives less than anonymous callers have.
        return found.name, max(found.role, self.anonymous), found.groups

    def trusts_to_read(self, header: str | None, module: str) -> bool:
        """Whether a request with this Authorization header (None: none) may read
        ``module``, from what this process already knows: no database, nothing counted.
        The in-memory hit path asks (app/goproxy/fastpath.py); a "no" only sends it to
        :meth:`check`."""
        if header is None:
            return self.anonymous >= Role.READER and not patterns.matches(
                self.from_anonymous, module)
        token = presented_token(header)
        found = self.checked.get(token) if token else None
        if found is None:
            return False
        role = max(found.role, self.anonymous)
        return role >= Role.READER and not patterns.matches(
            self.hidden_from_token(role, found.groups), module)

    def _person(self) -> signin.SignedIn | None:
        """Who signed in to the portal (OpenID Connect), when that may count here: on
        reads, and on the portal's forms, which carry a CSRF token; the API's POSTs take
        a token, not a cookie a cross-site page could make a browser send."""
        if not self.settings.oidc_issuer:
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.blueprint != "portal":
            return None
        return signin.signed_in(session)

    def _failed(self, client: str, count: bool) -> bool:
        """Whether ``client`` has used up its wrong tokens this minute (after counting
        one more when ``count``). Without Redis nothing is counted: a wrong token is
        still refused."""
        limiter = self.failures()
        if limiter.limit <= 0:
            return False
        try:
            if count:
                return limiter.hit(client) is not None
            return limiter.count(client) >= limiter.limit
        except RedisError as exc:
            log.warning("wrong tokens cannot be counted (Redis: %s)", exc)
            return False

    def check(self) -> None:
        """Flask's before_request: nothing when allowed, else raises."""
        client = request.remote_addr or "unknown"
        audit.set_actor(audit.Actor("anonymous", self.anonymous.name.lower(), client))
        if request.routing_exception is not None:
            return  # a 404 or 405 follows; it shows nothing behind a rule
        need = needed(request.endpoint, request.method)
        if need == OPEN:
            return
        who, role, groups = self.caller(request.headers.get("Authorization"), client,
                                        self._person())
        g.depot_admin = role >= Role.ADMIN  # the pages show admins their links
        if who is not None:
            audit.set_actor(audit.Actor(who, role.name.lower(), client))
        if need is None:
            raise Forbidden(f"{request.endpoint} has no access rule; nobody may use it")
        if role >= need:
            from_anonymous = self.from_anonymous
            hide = from_anonymous if who is None else self.hidden_from_token(role, groups)
            if not from_anonymous and not hide:
                # Nothing hidden from anyone: shared caches may keep what anonymous
                # callers may read too (mark_private).
                g.depot_shared = self.anonymous >= need
                return
            args = {**request.args.to_dict(), **(request.view_args or {})}
            if who is None:
                visibility.check_anonymous(from_anonymous, request.endpoint, args)
                return  # what anyone may read, shared caches may keep
            if hide:
                try:
                    visibility.check_token_holder(hide, request.endpoint, args)
                except Forbidden as exc:
                    self.note(audit.ACCESS_REFUSED, _what(), f"{exc.reason} (403)")
                    raise
            # What a token alone may read must stay out of shared caches (mark_private):
            # a hidden module's answers, and lists that show hidden modules to a token
            # holder where an anonymous caller gets them hidden.
            g.depot_shared = self.anonymous >= need and not visibility.names_hidden(
                from_anonymous, request.endpoint, args) and not (
                from_anonymous and request.endpoint in visibility.HIDING)
            return
        if who is None:
            raise Unauthorized(f"this needs a token with the role {need.name.lower()} or "
                               "more (HTTP Basic password or Bearer)")
        self.note(audit.ACCESS_REFUSED, _what(),
                  f"the role {role.name.lower()} may not; this needs {need.name.lower()} (403)")
        raise Forbidden(f"the token {who!r} has the role {role.name.lower()}; this needs "
                        f"{need.name.lower()}")


def _what() -> str:
    """The refused request, as the trail shows it (the query string left out)."""
    return f"{request.method} {request.path}"


def _forget_caller(_exc: BaseException | None) -> None:
    """The thread serves other work between requests: not in the last caller's name,
    nor with what was hidden from that caller."""
    audit.set_actor(audit.PIPELINE)
    hidden.clear()


def mark_private(resp: Response) -> Response:
    """An answer only a token could have: ``Cache-Control: private`` instead of
    ``public``, so that no shared cache (a CDN, a company's proxy) hands it to a caller
    without one. The in-memory hit path marks its own (app/goproxy/published.file_headers)."""
    if not g.get("depot_shared", True) and resp.cache_control.public:
        resp.cache_control.public = False
        resp.cache_control.private = True
    return resp


def install(app: Flask, settings: Settings) -> Gate:
    """Check every request of ``app`` (registered before any other before_request)."""
    from app.wiring import depot

    def find(token: str) -> tokens.Caller | None:
        with depot().db.session() as session:
            return tokens.check(session, token)

    def note(action: str, target: str, detail: str) -> None:
        audit.record(depot().db, action, target, detail)

    gate = Gate(settings, find, lambda: depot().auth_failures, note)
    app.before_request_funcs.setdefault(None, []).insert(0, gate.check)
    app.teardown_request(_forget_caller)
    app.after_request(mark_private)
    app.extensions[GATE] = gate
    return gate
