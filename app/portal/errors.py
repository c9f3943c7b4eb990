"""Friendly error pages for people, plain one-line errors for the go command.

A GOPROXY or API URL keeps its plain-text (or JSON) error; any other URL asked
for by a browser gets a page that says what happened and what to do next.
"""

from __future__ import annotations

from flask import Response, make_response, render_template, request

from app.catalog.modules import ModuleSummary
from app.portal.htmx import is_fragment_request

_MACHINE_PREFIXES = ("/api/", "/sumdb/", "/metrics", "/static/")


def wants_html() -> bool:
    """A browser asking for a page, not the go command or an API client."""
    path = request.path
    if "/@v/" in path or path.endswith("/@latest") or path.startswith(_MACHINE_PREFIXES):
        return False
    return any(mime == "text/html" and q > 0 for mime, q in request.accept_mimetypes)


def error_page(status: int, title: str, message: str, **extra: object) -> Response:
    template = "_partials/error.html" if is_fragment_request() else "portal/error.html"
    resp = make_response(
        render_template(template, status=status, title=title, message=message, **extra), status
    )
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def not_in_depot(
    path: str, version: str = "", why: str = "", known_versions: ModuleSummary | None = None
) -> Response:
    """404 for a module or version Depot does not hold, with the form to request it."""
    resp = make_response(
        render_template("portal/not_found.html", path=path, version=version, why=why,
                        module=known_versions),
        404,
    )
    resp.headers["Cache-Control"] = "no-cache"
    return resp
