"""Which modules a caller may see: private ones (DEPOT_PRIVATE) only with a token.

A private module is the company's own code. Path rules (DEPOT_PATH_RULES) narrow that
further: a module under a rule is seen only by callers in one of its groups, and by
admins; to anyone else it is hidden in the same ways (:func:`hidden_from` gives each
caller the patterns to hide). An anonymous caller never reads a private module, whatever
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
from app.auth.roles import Role
from app.config import Settings
from app.errors import Forbidden, NotFound, Unauthorized
from app.gomod import patterns
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


# Routes that work out a build list from a go.mod the caller sends: the go command
# would read the go.mod files of modules the caller may not see.
BUILD_LISTS = frozenset({"api.create_check", "portal.check_submit", "portal.check_request"})


def hidden_from(settings: Settings, anonymous: bool, role: Role,
                groups: frozenset[str] = frozenset()) -> str:
    """The patterns (GOPRIVATE syntax) of the modules a caller may not see; "" for one
    who sees everything. A caller without a token sees no private module and nothing
    under a path rule (DEPOT_PATH_RULES); one with a token, nothing under a rule that
    names none of its groups, unless it is an admin's."""
    parts = [settings.private] if anonymous else []
    if anonymous or role < Role.ADMIN:
        parts += [glob for glob, allowed in patterns.parse_rules(settings.path_rules)
                  if not groups & allowed]
    return ",".join(part for part in parts if part)


def check_anonymous(hide: str, endpoint: str | None, args: dict) -> None:
    """For an anonymous request to a Depot that hides modules from it (``hide``):
    NotFound when its URL names a hidden module; Unauthorized for a route not made to
    hide them; else hide them from the rest of the request (app/hidden.py)."""
    if endpoint not in BY_URL and endpoint not in HIDING:
        raise Unauthorized("this Depot serves private modules: this page or call needs a "
                           "token (public modules stay open on the GOPROXY, the pages, "
                           "search and the API's reads)")
    check_hidden(hide, endpoint, args)


def check_token_holder(hide: str, endpoint: str | None, args: dict) -> None:
    """For a token holder from whom path rules hide modules (``hide``): NotFound when the
    URL names one of them, Forbidden for the go.mod check (see BUILD_LISTS); lists hide
    them. A request for one of them is refused where requests are made
    (app/services/requests.py), which reads :func:`app.hidden.caller_hides`."""
    if endpoint in BUILD_LISTS:
        raise Forbidden("the go.mod check is not open to a token that path rules "
                        "(DEPOT_PATH_RULES) keep from some modules")
    check_hidden(hide, endpoint, args)


def check_hidden(hide: str, endpoint: str | None, args: dict) -> None:
    """NotFound when the URL names a module under ``hide``; else hide those modules from
    the rest of the request where it lists or looks modules up."""
    hidden.set_caller(hide)
    if names_hidden(hide, endpoint, args):
        raise NotFound(HIDDEN)
    if endpoint in HIDING:
        hidden.set_for_request(hide)


def names_hidden(hide: str, endpoint: str | None, args: dict) -> bool:
    """Whether the request's URL names a module under ``hide``."""
    if not hide:
        return False
    named = MODULE_IN_URL.get(endpoint or "")
    module = named(args) if named else None
    return module is not None and patterns.matches(hide, module)
