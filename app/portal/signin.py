"""Sign in with the company's OpenID Connect provider (``/login``), its answer
(``/login/callback``) and sign out (``POST /logout``): app/services/signin.py says why.

A person is sent to the provider with a state, a nonce and a PKCE challenge; the answer
is exchanged for an ID token whose signature, issuer, audience, expiry and nonce are
checked before the session names anyone. Each sign-in and sign-out is in the audit
trail.
"""

from __future__ import annotations

import logging
import time

from flask import Response, current_app, redirect, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from app import audit
from app.portal.blueprint import bp
from app.portal.csrf import FIELD, csrf_valid
from app.portal.errors import error_page
from app.redact import redact
from app.services.signin import (
    SignedIn,
    SignInError,
    client,
    forget,
    groups_in,
    person,
    remember,
    role_for,
    signed_in,
)
from app.wiring import depot

log = logging.getLogger("depot.signin")
NEXT = "depot_next"  # where to go back to after the provider, kept in the session


def _back_to(raw: str | None) -> str:
    """A path on this Depot to return to (never another site: ``//host`` or a URL)."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw[:2000]
    return "/"


def _not_set_up() -> Response:
    return error_page(404, "Sign-in is not set up",
                      "This Depot has no OpenID Connect provider (DEPOT_OIDC_ISSUER). Use a "
                      "token: Set Me Up shows how.")


@bp.get("/login")
def signin_login() -> BaseResponse:
    settings = depot().settings
    if not settings.oidc_issuer:
        return _not_set_up()
    session[NEXT] = _back_to(request.args.get("next"))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        return client(app, settings).authorize_redirect(
            url_for("portal.signin_callback", _external=True))
    except Exception as exc:  # the provider's metadata unreachable or unreadable
        log.warning("sign-in: the provider cannot be reached: %s", redact(str(exc)))
        return error_page(503, "The sign-in provider is not answering",
                          "Depot could not read the provider's configuration. Try again "
                          "in a minute, or use a token.")


@bp.get("/login/callback")
def signin_callback() -> BaseResponse:
    settings = depot().settings
    if not settings.oidc_issuer:
        return _not_set_up()
    if "error" in request.args:
        return _refused(f"the provider said {request.args.get('error', '')[:100]!r}: "
                        f"{request.args.get('error_description', '')[:300]}")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        token = client(app, settings).authorize_access_token()
        claims = token.get("userinfo") or {}
        name = person(claims)
    except SignInError as exc:
        return _refused(str(exc))
    except Exception as exc:  # authlib's: state, nonce, signature, issuer, expiry…
        return _refused("the provider's answer was refused: "
                        + redact(f"{type(exc).__name__}: {exc}")[:300])
    role = role_for(claims, settings)
    if role is None:
        audit.record(depot().db, audit.ACCESS_REFUSED, "sign-in",
                     f"{name}: in none of DEPOT_OIDC_ROLES' groups",
                     audit.Actor(name, "none", request.remote_addr or ""))
        return error_page(403, "No access to this Depot",
                          f"You are signed in at the provider as {name}, but none of your "
                          "groups gives a role in Depot. Ask its operators.")
    who = SignedIn(name, role, time.time() + settings.oidc_session_hours * 3600,
                   groups_in(claims, settings))
    back = _back_to(session.pop(NEXT, None))
    session.clear()  # nothing of before the sign-in carries over (a fixed session)
    remember(session, who)
    audit.record(depot().db, audit.SIGNED_IN, name,
                 f"role {role} for {settings.oidc_session_hours} h",
                 audit.Actor(name, role, request.remote_addr or ""))
    return redirect(back)


def _refused(reason: str) -> Response:
    log.info("sign-in refused: %s", reason)
    return error_page(400, "Sign-in did not complete",
                      f"{reason}. Start again from the Sign in link.")


@bp.post("/logout")
def signin_logout() -> BaseResponse:
    if not csrf_valid(request.form.get(FIELD)):
        return error_page(400, "The form has expired",
                          "Reload the page and sign out again.")
    who = signed_in(session)
    session.clear()
    forget(session)
    if who is not None:
        audit.record(depot().db, audit.SIGNED_OUT, who.name, "",
                     audit.Actor(who.name, who.role, request.remote_addr or ""))
    return redirect(url_for("portal.home"))
