"""Headers that make a rendered page harder to abuse, added to every HTML response.

The Content-Security-Policy allows scripts and styles from Depot's own origin
only: even if a README slipped something past the sanitizer, no inline script,
handler or style would run. Images may come from https hosts (README badges).
"""

from __future__ import annotations

from flask import Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def secure_headers(resp: Response) -> Response:
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for old browsers
    return resp
