"""Check my go.mod: ``/check`` (the form), its POST (the results, under the form) and
``/check/request``, the results' one button, which requests every missing version.

Plain form posts, so the page works without JavaScript; htmx swaps the results alone.
Checking changes nothing, so it needs no token; the button does (CSRF, as the request
form), and spends the client's request budget (app/services/check.py).
"""

from __future__ import annotations

from flask import Response, request
from werkzeug.wrappers import Response as BaseResponse

from app.catalog.check import LIMITS, CheckInputError, CheckResult
from app.errors import Unavailable
from app.portal.blueprint import bp
from app.portal.csrf import FIELD, csrf_valid
from app.portal.errors import error_page
from app.portal.htmx import page_or_fragment
from app.services.check import Asked, check_gomod, request_missing
from app.wiring import depot


def _page(go_mod: str = "", go_sum: str = "", *, result: CheckResult | None = None,
          asked: Asked | None = None, error: str = "", status: int = 200) -> Response:
    resp = page_or_fragment("portal/check.html", "_partials/check_results.html", status,
                            go_mod=go_mod, go_sum=go_sum, result=result, asked=asked,
                            error=error, limits=LIMITS,
                            request_limit=depot().settings.request_limit)
    resp.cache_control.no_store = True
    return resp


def _pasted() -> tuple[str, str] | Response:
    """The form's two texts, or the page saying the body is over the limit (refused
    before it is read: the route's own limit replaces the app's smaller one)."""
    request.max_content_length = LIMITS.body_bytes
    size = request.content_length
    if size is not None and size > LIMITS.body_bytes:
        return _page(error=f"That is {size:,} bytes, over the limit of "
                           f"{LIMITS.body_bytes // 1024} KiB ({LIMITS.text()}).", status=413)
    return request.form.get("go_mod", ""), request.form.get("go_sum", "")


def _checked(go_mod: str, go_sum: str) -> CheckResult | Response:
    try:
        return check_gomod(depot(), go_mod, go_sum)
    except CheckInputError as exc:
        return _page(go_mod, go_sum, error=str(exc), status=exc.status)
    except Unavailable as exc:
        return error_page(503, "Checking is paused", f"{exc.reason}. Try again in a minute.")


@bp.get("/check")
def check_form() -> Response:
    return _page()


@bp.post("/check")
def check_submit() -> Response:
    pasted = _pasted()
    if isinstance(pasted, Response):
        return pasted
    result = _checked(*pasted)
    if isinstance(result, Response):
        return result
    return _page(*pasted, result=result)


@bp.post("/check/request")
def check_request() -> BaseResponse:
    pasted = _pasted()
    if isinstance(pasted, Response):
        return pasted
    if not csrf_valid(request.form.get(FIELD)):
        return _page(*pasted, status=400, error="The form has expired: it was not sent from "
                     "this site's page, or it is too old. Reload the page and send it again.")
    result = _checked(*pasted)
    if isinstance(result, Response):
        return result
    svc = depot()
    try:
        asked = request_missing(svc, svc.dispatcher, svc.request_limiter,
                                request.remote_addr or "unknown", result)
    except Unavailable as exc:
        return error_page(503, "Requests are paused", f"{exc.reason}. Try again in a minute.")
    if asked.submitted:  # they are on their way now: show them so
        again = _checked(*pasted)
        result = again if isinstance(again, CheckResult) else result
    refused_all = asked.retry_after is not None and not asked.submitted
    resp = _page(*pasted, result=result, asked=asked, status=429 if refused_all else 200)
    if asked.retry_after is not None:
        resp.headers["Retry-After"] = str(asked.retry_after)
    return resp
