"""Which modules a caller may see: private ones (DEPOT_PRIVATE) only with a token.

A private module is the company's own code. An anonymous caller never reads it, whatever
DEPOT_ANONYMOUS lets anonymous callers do with public modules: its GOPROXY files answer
404, the same for a private path Depot holds and one it never heard of, so not even its
existence shows. A caller with a token (any role) reads it like any module.

Pages, search and the API list and count modules (a public module's Used By names the
private modules that import it, the home page counts them all). For an anonymous caller
those routes run with the private modules hidden (app/hidden.py): every database query
of the request leaves them out, the search backends too, and what is kept in memory is
kept per audience. A route that names a private module in its URL answers 404 first.
Routes not yet made to hide them (the forms that ask Depot to work, the go.mod check,
the metrics, the operators' pages) ask an anonymous caller for a token (401) while
DEPOT_PRIVATE is set.

The gate (app/auth/gate.py) calls :func:`check_anonymous` after the role check; the
in-memory hit path asks :meth:`app.auth.gate.Gate.trusts_to_read` with the module it
found.
"""

from __future__ import annotations

from collections.abc import Callable

from app import hidden
from app.config import Settings
from app.errors import NotFound, Unauthorized
from app.gomod.errors import GoModError
from app.gomod.paths import unescape_path


def _escaped(args: dict) -> str | None:
    try:
        return unescape_path(str(args.get("escaped", "")))
    except GoModError:
        return str(args.get("escaped", "")).lower()  # still hidden if it looks private


def _before_version(name: str) -> Callable[[dict], str | None]:
    """The argument ``name``'s path up to a ``@version`` (a module page's or an API
    resource's ``module[@version][/tab]``)."""
    return lambda args: str(args.get(name, "")).split("@", 1)[0] or None


# Endpoint -> how its URL's arguments name a module path (its leading elements suffice:
# private patterns match leading elements).
MODULE_IN_URL: dict[str, Callable[[dict], str | None]] = {
    "goproxy.latest": _escaped,
    "goproxy.artifact": _escaped,
    "goproxy.version_list": _escaped,
    "portal.module_page": _before_version("target"),
    "api.module_resource": _before_version("rest"),
    "api.module_post": _before_version("rest"),
    "portal.drift_check_status": lambda args: str(args.get("module", "")) or None,
    "portal.zip_image": lambda args: str(args.get("module", "")) or None,
}

HIDDEN = "not found"

# What names one module at a time (hidden by its URL alone).
BY_URL = frozenset({
    "goproxy.artifact", "goproxy.latest", "goproxy.version_list", "sumdb.supported",
    "sumdb.passthrough", "portal.set_me_up", "api_spec.openapi_json",
})
# What lists, counts or looks modules up: run with the private modules hidden.
HIDING = frozenset({
    "portal.home", "portal.search", "portal.suggest", "api.search", "portal.module_page",
    "api.module_resource", "portal.request_status", "api.get_request", "portal.request_form",
    "portal.check_form", "portal.drift_check_status", "portal.zip_image",
})


def check_anonymous(settings: Settings, endpoint: str | None, args: dict) -> None:
    """For an anonymous request to a Depot with private modules: NotFound when its URL
    names a private module; Unauthorized for a route not made to hide them; else hide
    them from the rest of the request (app/hidden.py)."""
    if endpoint not in BY_URL and endpoint not in HIDING:
        raise Unauthorized("this Depot serves private modules: this page or call needs a "
                           "token (public modules stay open on the GOPROXY, the pages, "
                           "search and the API's reads)")
    if names_private(settings, endpoint, args):
        raise NotFound(HIDDEN)
    if endpoint in HIDING:
        hidden.set_for_request(settings.private)


def names_private(settings: Settings, endpoint: str | None, args: dict) -> bool:
    """Whether the request's URL names a private module."""
    if not settings.private:
        return False
    named = MODULE_IN_URL.get(endpoint or "")
    module = named(args) if named else None
    return module is not None and settings.is_private(module)

