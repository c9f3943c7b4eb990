"""A small vocabulary of errors a user can cause, each mapped to one HTTP status.

Routes raise these; one handler turns them into a one-line text reason so the
go command (which shows the body) and a person both read why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

    R = TypeVar("R", bound=Response)

# What a 401 offers: the go command answers Basic from .netrc; API clients may send
# `Authorization: Bearer` without being asked.
CHALLENGE = 'Basic realm="Depot", charset="UTF-8"'


class DepotError(Exception):
    """Base: ``status`` is the HTTP status, ``str(e)`` the one-line reason."""

    status = 500

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadRequest(DepotError):
    """Malformed input: bad escapes, invalid paths, garbage in a URL."""

    status = 400


class NotFound(DepotError):
    """Not here: the go command falls through to the next GOPROXY entry."""

    status = 404


class Gone(DepotError):
    """Depot knows this version and refuses to serve it (reason says why)."""

    status = 410


class TooLarge(DepotError):
    """More input than a route reads (the message says its limits)."""

    status = 413


class Unavailable(DepotError):
    """A dependency (database, store, upstream) cannot answer right now."""

    status = 503


class TooManyRequests(DepotError):
    """A client sent more than its share; ``retry_after`` is in seconds."""

    status = 429

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Unauthorized(DepotError):
    """No token, or one Depot does not accept (unknown, expired, revoked): the answer
    carries a challenge, so a client knows to send one (the go command, from .netrc)."""

    status = 401


class Forbidden(DepotError):
    """A token Depot accepts, whose role may not do this."""

    status = 403


def with_auth_headers(resp: R, exc: DepotError) -> R:
    """A 401 says how to authenticate, a 429 when to come back."""
    if isinstance(exc, Unauthorized):
        resp.headers["WWW-Authenticate"] = CHALLENGE
    if isinstance(exc, TooManyRequests):
        resp.headers["Retry-After"] = str(exc.retry_after)
    return resp
