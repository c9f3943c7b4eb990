"""The module page's "Check upstream now" button: its POST (CSRF token, the request
rate limit, the same queue_check as the JSON API) and the status it leads to,
polled by htmx until the check has reported (a plain page refreshes itself)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, redirect, request, url_for
from redis.exceptions import RedisError
from werkzeug.wrappers import Response as BaseResponse

from app.drift.queueing import is_pending, module_job_id
from app.drift.status import checks_since
from app.errors import BadRequest, NotFound, TooManyRequests, Unavailable
from app.portal.blueprint import bp
from app.portal.csrf import FIELD, csrf_valid
from app.portal.errors import error_page
from app.portal.htmx import is_fragment_request, page_or_fragment
from app.services.drift import queue_check
from app.wiring import depot


def _pending(module: str, version: str | None) -> bool:
    try:
        return is_pending(depot().dispatcher.connection, module_job_id(module, version))
    except RedisError:
        return False  # nothing more will come while the queue is away: show what is there


def _status(module: str, version: str | None, since: datetime) -> Response:
    with depot().db.session() as session:
        results = [(v, c) for v, c in checks_since(session, module, since)
                   if version is None or v == version]
    pending = _pending(module, version)
    url = url_for("portal.drift_check_status", module=module, version=version or None,
                  since=since.isoformat())
    resp = page_or_fragment("portal/drift_status.html", "_partials/drift_status.html",
                            module=module, version=version, results=results,
                            pending=pending, status_url=url)
    resp.cache_control.no_store = True
    return resp


@bp.post("/drift-check")
def drift_check_submit() -> BaseResponse:  # a redirect is werkzeug's class
    if not csrf_valid(request.form.get(FIELD)):
        return error_page(400, "The form has expired",
                          "The form was not sent from this site's page, or it is too old. "
                          "Reload the page and press the button again.")
    module = request.form.get("module", "").strip()
    version = request.form.get("version", "").strip() or None
    if not module or len(module) > 500 or (version and len(version) > 200):
        return error_page(400, "No module named", "The form names no module to check.")
    since = datetime.now(UTC)
    try:
        queue_check(depot(), lambda: depot().dispatcher.connection, depot().request_limiter,
                    module, version, "portal",
                    request.remote_addr or "unknown")
    except BadRequest as exc:
        return error_page(400, "Cannot check that", exc.reason)
    except NotFound as exc:
        return error_page(404, "Nothing to check", exc.reason)
    except TooManyRequests as exc:
        resp = error_page(429, "Too many requests",
                          f"You have sent many requests in a short time. Try again in "
                          f"{exc.retry_after} seconds.", retry_after=exc.retry_after)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except Unavailable:
        return error_page(503, "Checks are paused", "Depot's job queue cannot be reached "
                          "right now. Try again in a minute.")
    if is_fragment_request():
        return _status(module, version, since)
    return redirect(url_for("portal.drift_check_status", module=module,
                            version=version or None, since=since.isoformat()), 303)


@bp.get("/drift-check")
def drift_check_status() -> Response:
    module = request.args.get("module", "").strip()
    version = request.args.get("version", "").strip() or None
    try:
        since = datetime.fromisoformat(request.args.get("since", ""))
    except ValueError:
        return error_page(400, "Bad link", "since must be a time such as "
                          "2026-01-02T03:04:05+00:00.")
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if not module or len(module) > 500:
        return error_page(400, "Bad link", "The link names no module.")
    return _status(module, version, since)
