"""The roles, what a caller without a token is, and the role each route needs.

Every endpoint of the URL map has a rule here: a route without one is refused to
everybody (and tests/auth/test_matrix.py fails), so a new route cannot be open by
accident.
"""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    """Each role may do what the ones below it may."""

    NOBODY = 0  # what an anonymous caller is under DEPOT_ANONYMOUS=none
    READER = 1  # the GOPROXY, the checksum database, pages, search, API reads
    REQUESTER = 2  # and: request modules, start drift checks, build bundles
    ADMIN = 3  # and: what only operators see (/info, the audit trail)


# What `tokens create --role` takes.
TOKEN_ROLES = {"reader": Role.READER, "requester": Role.REQUESTER, "admin": Role.ADMIN}

# DEPOT_ANONYMOUS: `all` is a laptop's Depot as it always was, open to everyone.
ANONYMOUS = {"all": Role.ADMIN, "public": Role.READER, "none": Role.NOBODY}

OPEN = Role.NOBODY

# The role an endpoint needs, for every method it takes (or per method).
RULES: dict[str, Role | dict[str, Role]] = {
    # Liveness and the styles of an error page: a load balancer and a signed-out
    # browser need them.
    "static": OPEN,
    "ops.ping": OPEN,
    "ops.healthz": OPEN,
    "ops.readyz": OPEN,
    # Signing in and out (OpenID Connect): whoever is not signed in yet must reach them.
    "portal.signin_login": OPEN,
    "portal.signin_callback": OPEN,
    "portal.signin_logout": OPEN,  # a POST with the form's CSRF token
    # Reading.
    "goproxy.artifact": Role.READER,
    "goproxy.latest": Role.READER,
    "goproxy.version_list": Role.READER,
    "sumdb.supported": Role.READER,
    "sumdb.passthrough": Role.READER,
    "accel.zip_decision": Role.READER,
    "ops.metrics": Role.READER,
    "api_spec.openapi_json": Role.READER,
    "api.search": Role.READER,
    "api.get_request": Role.READER,
    "api.module_resource": Role.READER,
    "api.create_check": Role.READER,  # works out a build list; requests nothing
    "portal.home": Role.READER,
    "portal.module_page": Role.READER,
    "portal.search": Role.READER,
    "portal.suggest": Role.READER,
    "portal.set_me_up": Role.READER,
    "portal.zip_image": Role.READER,
    "portal.request_form": Role.READER,
    "portal.request_status": Role.READER,
    "portal.check_form": Role.READER,
    "portal.check_submit": Role.READER,
    "portal.drift_check_status": Role.READER,
    # Asking Depot to do work: fetch, validate, check again, build.
    "api.create_request": Role.REQUESTER,
    "api.module_post": Role.REQUESTER,
    "portal.request_submit": Role.REQUESTER,
    "portal.check_request": Role.REQUESTER,
    "portal.drift_check_submit": Role.REQUESTER,
    # Operators only: settings and versions of the running Depot.
    "ops.info": Role.ADMIN,
    "api.audit": Role.ADMIN,
    "portal.audit": Role.ADMIN,
}


def needed(endpoint: str | None, method: str) -> Role | None:
    """The role ``method`` on ``endpoint`` needs; None when no rule names it (refused).
    HEAD and OPTIONS need what GET needs."""
    if endpoint is None:
        return None
    rule = RULES.get(endpoint)
    if rule is None or isinstance(rule, Role):
        return rule
    return rule.get("GET" if method in ("HEAD", "OPTIONS") else method)
