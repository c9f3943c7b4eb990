"""CSRF protection for the portal's one form that changes something (request a module).

A random token lives in the signed session cookie and in a hidden field of the
form; a POST must carry the same one. The JSON API takes no cookies, so it
needs no token (a cross-site page cannot send it JSON with a custom type).
"""

from __future__ import annotations

import hmac
import secrets

from flask import session

FIELD = "csrf_token"
_KEY = "csrf"


def csrf_token() -> str:
    """This session's token, made on first use (templates call it for the hidden field)."""
    token = session.get(_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[_KEY] = token
    return token


def csrf_valid(sent: str | None) -> bool:
    expected = session.get(_KEY)
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())
