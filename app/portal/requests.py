"""Request a missing module: the form (``/request``), its POST, and the request's
live status (``/request/<id>``), polled by htmx every second until it settles.

The POST is protected by a CSRF token and a per-client rate limit, checks its
input before anything is stored, and calls the same submit() as the JSON API.
"""

from __future__ import annotations

from flask import Response, redirect, request, url_for
from redis.exceptions import RedisError
from werkzeug.wrappers import Response as BaseResponse

from app.errors import Unavailable
from app.models import RequestSource
from app.pipeline.requests import InvalidRequest, status, validate_wish
from app.portal.blueprint import bp
from app.portal.csrf import FIELD, csrf_valid
from app.portal.errors import error_page
from app.portal.htmx import is_fragment_request, page_or_fragment
from app.services.requests import refuse_hidden, request_wish
from app.wiring import depot

TERMINAL = frozenset({"published", "rejected", "failed"})
STEPS = ("queued", "fetching", "processing", "validating", "published")


def _form(module: str = "", version: str = "", error: str = "", status_code: int = 200
          ) -> Response:
    return page_or_fragment("portal/request.html", "_partials/request_form.html", status_code,
                            module=module, version=version, error=error)


@bp.get("/request")
def request_form() -> Response:
    return _form(request.args.get("module", "").strip(), request.args.get("version", "").strip())


def _wish(module: str, version: str) -> tuple[str, str]:
    """The form's fields as (module, query): ``module@version`` in one field works too."""
    if "@" in module and not version:
        module, _, version = module.partition("@")
    return module.strip(), (version.strip() or "latest")


@bp.post("/request")
def request_submit() -> BaseResponse:  # a redirect is werkzeug's class
    module_field = request.form.get("module", "")
    version_field = request.form.get("version", "")
    if not csrf_valid(request.form.get(FIELD)):
        return error_page(400, "The form has expired",
                          "The request form was not sent from this site's page, or it is too "
                          "old. Reload the page and send it again.")
    module, query = _wish(module_field, version_field)
    if not module:
        return _form(module_field, version_field, "Enter a module path, such as "
                     "github.com/google/uuid.", 400)
    if len(module) > 500 or len(query) > 200:
        return _form(module_field[:500], version_field[:200], "That is too long to be a "
                     "module path and version.", 400)
    try:
        validate_wish(module, query)
    except InvalidRequest as exc:
        return _form(module_field, version_field, str(exc), 400)
    refuse_hidden(depot().db, module)  # a 403 page
    try:
        retry_after = depot().request_limiter.hit(request.remote_addr or "unknown")
    except RedisError:
        return error_page(503, "Requests are paused", "Depot's job queue cannot be reached "
                          "right now. Try again in a minute.")
    if retry_after is not None:
        resp = error_page(429, "Too many requests",
                          f"You have sent many module requests in a short time. Try again in "
                          f"{retry_after} seconds.", retry_after=retry_after)
        resp.headers["Retry-After"] = str(retry_after)
        return resp
    try:  # the same submit as POST /api/v1/requests
        done = request_wish(depot(), depot().dispatcher, module, query, RequestSource.api)
    except InvalidRequest as exc:
        return _form(module_field, version_field, str(exc), 400)
    except Unavailable as exc:
        return error_page(503, "Requests are paused", f"{exc.reason}. Try again in a minute.")
    location = url_for("portal.request_status", request_id=done.request_id)
    if is_fragment_request():
        resp = _status_response(done.request_id)
        resp.headers["HX-Push-Url"] = location
        return resp
    return redirect(location, 303)


def _status_response(request_id: int) -> Response:
    found = status(depot(), request_id, request.url_root.rstrip("/"))
    if found is None:
        return error_page(404, "No such request", f"Depot has no request {request_id}.")
    done = found["state"] in TERMINAL
    resp = page_or_fragment("portal/request_status.html", "_partials/request_status.html",
                            req=found, done=done, steps=STEPS)
    resp.cache_control.no_store = True
    return resp


@bp.get("/request/<int:request_id>")
def request_status(request_id: int) -> Response:
    return _status_response(request_id)
