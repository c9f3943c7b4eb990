"""JSON API: modules, versions, dependencies, used-by and search (what the pages show),
requests for missing modules and their status (what the request button posts and
polls), a pasted go.mod checked against Depot, and the OpenAPI description of all of it
at /api/openapi.json."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for
from redis.exceptions import RedisError

from app.api import audit as audit_trail
from app.api import bundle, check, drift, graph, insight, licenses, modules, openapi
from app.api.shapes import ErrorJSON
from app.errors import (
    BadRequest,
    DepotError,
    Forbidden,
    NotFound,
    TooLarge,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    with_auth_headers,
)
from app.inputs import BodyError, json_object
from app.models import RequestSource
from app.pipeline.requests import InvalidRequest, status, validate_wish
from app.redact import public
from app.services.requests import refuse_hidden, request_wish
from app.shorten import cut
from app.wiring import depot

bp = Blueprint("api", __name__, url_prefix="/api/v1")
modules.SUBRESOURCE_HANDLERS["licenses"] = licenses.licenses_json
modules.SUBRESOURCE_HANDLERS["licenses.csv"] = licenses.licenses_csv
modules.SUBRESOURCE_HANDLERS["sbom.spdx.json"] = licenses.sbom_json
modules.SUBRESOURCE_HANDLERS["graph"] = graph.graph_json
modules.SUBRESOURCE_HANDLERS["graph.svg"] = graph.graph_svg_response
modules.SUBRESOURCE_HANDLERS["diff"] = graph.diff_json
modules.SUBRESOURCE_HANDLERS["bundle"] = bundle.bundle_json
modules.SUBRESOURCE_HANDLERS["bundle.tar.gz"] = bundle.bundle_download
modules.SUBRESOURCE_HANDLERS["drift"] = drift.drift_json
modules.SUBRESOURCE_HANDLERS["insight"] = insight.insight_resource
spec_bp = Blueprint("api_spec", __name__, url_prefix="/api")


@bp.post("/requests")
def create_request() -> tuple[Response, int, dict[str, str]]:
    try:
        body = json_object(request, 'send JSON: {"module": "example.com/mod", '
                                    '"version": "v1.2.3" | "latest"}')
    except BodyError as exc:
        raise BadRequest(str(exc)) from None
    module, version = body.get("module"), body.get("version", "latest")
    if not isinstance(module, str) or not module:
        raise BadRequest('"module" is required (a module path such as github.com/google/uuid)')
    if not isinstance(version, str) or not version:
        raise BadRequest('"version" must be a version such as "v1.2.3" or "latest"')
    module, version = module.strip(), version.strip()
    try:
        validate_wish(module, version)  # as the form does: only real wishes count
    except InvalidRequest as exc:
        raise BadRequest(str(exc)) from exc
    refuse_hidden(depot().db, module)
    try:
        retry_after = depot().request_limiter.hit(request.remote_addr or "unknown")
    except RedisError as exc:
        raise Unavailable(f"the job queue is unreachable: {type(exc).__name__}") from exc
    if retry_after is not None:
        # The same budget as the portal's form: the API is no way around it.
        raise TooManyRequests(f"too many module requests; try again in {retry_after} seconds",
                              retry_after)
    svc = depot()
    try:
        done = request_wish(svc, svc.dispatcher, module, version, RequestSource.api)
    except InvalidRequest as exc:
        raise BadRequest(str(exc)) from exc
    location = url_for("api.get_request", request_id=done.request_id)
    created = status(svc, done.request_id, request.url_root.rstrip("/"))
    return jsonify(created), 202, {"Location": location}


@bp.post("/check")
def create_check() -> Response:
    return check.create_check()


@bp.get("/requests/<int:request_id>")
def get_request(request_id: int) -> Response:
    # <int:…> stops at MAX_ID (app/inputs): a larger id matches no route.
    found = status(depot(), request_id, request.url_root.rstrip("/"))
    if found is None:
        raise NotFound(f"no request {request_id}")
    resp = jsonify(found)
    resp.cache_control.no_cache = True
    return resp


@bp.get("/modules/<path:rest>")
def module_resource(rest: str) -> Response:
    return modules.module_resource(rest)


@bp.post("/modules/<path:rest>")
def module_post(rest: str) -> tuple[Response, int, dict[str, str]]:
    return drift.create_drift_check(rest)


@bp.get("/search")
def search() -> Response:
    return modules.search()


@bp.get("/audit")
def audit() -> Response:
    return audit_trail.audit_json()


@spec_bp.get("/openapi.json")
def openapi_json() -> Response:
    resp = jsonify(openapi.spec(request.host_url.rstrip("/")))
    resp.cache_control.max_age = 300
    return resp


@bp.errorhandler(BadRequest)
@bp.errorhandler(NotFound)
@bp.errorhandler(TooLarge)
@bp.errorhandler(Unavailable)
@bp.errorhandler(TooManyRequests)
@bp.errorhandler(Unauthorized)
@bp.errorhandler(Forbidden)
def json_error(exc: DepotError) -> tuple[Response, int]:
    body: ErrorJSON = {"error": cut(public(exc.reason))}
    return with_auth_headers(jsonify(body), exc), exc.status
