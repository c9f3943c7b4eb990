"""The drift alarm in the JSON API: the ``upstream`` object of a module's JSON, the
``/drift`` sub-resource (checks and drifts per version) and
``POST /api/v1/modules/<path>/drift-checks`` (queue a check of the module now)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request, url_for
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.modules import _check_path, _iso, _summary
from app.catalog.modules import VersionDetail
from app.drift.queueing import Queued, enqueue_module_check
from app.drift.status import (
    CheckFact,
    DriftFact,
    module_upstream,
    recent_checks,
    version_upstream,
)
from app.drift.sweep import pick
from app.errors import BadRequest, NotFound, TooManyRequests, Unavailable
from app.gomod import versions
from app.inputs import BodyError, json_object
from app.models import Module, ModuleVersion
from app.ratelimit import request_limiter
from app.services import Services

POST_SUFFIX = "/drift-checks"


def _check_json(c: CheckFact | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"checked_at": _iso(c.checked_at), "outcome": c.outcome, "detail": c.detail,
            "trigger": c.trigger}


def _drift_json(d: DriftFact) -> dict[str, Any]:
    return {"kind": d.kind, "stored_sha256": d.stored_sha256,
            "upstream_sha256": d.upstream_sha256 or None, "stored_h1": d.stored_h1 or None,
            "upstream_h1": d.upstream_h1 or None, "detected_at": _iso(d.detected_at)}


def upstream_json(session: Session, detail: VersionDetail) -> dict[str, Any]:
    """The module JSON's ``upstream``: what the drift alarm knows of this version."""
    up = version_upstream(session, detail.path, detail.version, detail.version_id)
    last = up.last_check
    return {
        "captured_at": _iso(up.captured_at),
        "last_checked_at": _iso(last.checked_at) if last else None,
        "outcome": last.outcome if last else None,
        "drifted": up.drifted,
        "drifts": [_drift_json(d) for d in up.drifts],
    }


def drift_json(session: Session, path: str) -> dict[str, Any]:
    """GET /api/v1/modules/<path>/drift: every version's checks (newest first) and drifts."""
    summary = _summary(session, path)
    module = module_upstream(session, path)
    ids = dict(session.execute(
        select(ModuleVersion.version, ModuleVersion.id).join(Module)
        .where(Module.path == path)
    ).all())
    out = []
    for v in summary.versions:
        up = version_upstream(session, path, v.version, ids[v.version])
        out.append({
            "version": v.version,
            "state": v.state,
            "captured_at": _iso(up.captured_at),
            "drifted": up.drifted,
            "checks": [_check_json(c) for c in recent_checks(session, ids[v.version])],
            "drifts": [_drift_json(d) for d in up.drifts],
        })
    return {"path": path, "last_checked_at": _iso(module.last_checked_at), "versions": out}


def queue_check(svc: Services, connection_of: Any, module: str, version: str | None,
                trigger: str, client: str) -> Queued:
    """Validate, count against DEPOT_REQUEST_LIMIT, and queue one module's check.

    Raises BadRequest / NotFound / TooManyRequests / Unavailable (the portal maps them
    to pages, the API to JSON).
    """
    _check_path(module)
    if version is not None and not versions.is_canonical(version):
        raise BadRequest(f"{version!r} is not a canonical version such as v1.2.3")
    with svc.db.session() as session:
        _summary(session, module)
        if not pick(session, 1, module, version):
            target = f"{module}@{version}" if version else module
            raise NotFound(f"Depot publishes no version of {target}: nothing to compare")
    try:
        retry_after = request_limiter().hit(client)
        if retry_after is not None:
            raise TooManyRequests(f"too many requests; try again in {retry_after} seconds",
                                  retry_after)
        return enqueue_module_check(svc.settings, connection_of(), module, version, trigger)
    except RedisError as exc:
        raise Unavailable(f"the job queue is unreachable: {type(exc).__name__}") from exc


def create_drift_check(rest: str) -> tuple[Response, int, dict[str, str]]:
    """POST /api/v1/modules/<path>/drift-checks with a JSON body ({} or {"version": …})."""
    from app.api import dispatcher

    rest = rest.strip("/")
    if not rest.endswith(POST_SUFFIX):
        raise NotFound("POST goes to /api/v1/modules/<module path>/drift-checks")
    module = rest[: -len(POST_SUFFIX)]
    # A JSON body, as POST /api/v1/requests: a cross-site form cannot send one.
    try:
        body = json_object(request, 'send JSON: {} for the whole module or '
                                    '{"version": "v1.2.3"}')
    except BodyError as exc:
        raise BadRequest(str(exc)) from None
    version = body.get("version")
    if version is not None and (not isinstance(version, str) or not version):
        raise BadRequest('"version" must be a version such as "v1.2.3"')
    svc: Services = current_app.extensions["depot"]
    queued = queue_check(svc, lambda: dispatcher().connection, module, version, "api",
                         request.remote_addr or "unknown")
    location = url_for("api.module_resource", rest=f"{module}/drift")
    return jsonify({"module": module, "version": version, "job_id": queued.job_id,
                    "already_queued": queued.already, "results": location}), 202, {
        "Location": location}
