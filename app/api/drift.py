"""The drift alarm in the JSON API: the ``upstream`` object of a module's JSON, the
``/drift`` sub-resource (checks and drifts per version) and
``POST /api/v1/modules/<path>/drift-checks`` (queue a check of the module now)."""

from __future__ import annotations

from flask import Response, jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.common import iso
from app.api.shapes import (
    DriftCheckJSON,
    DriftCheckQueuedJSON,
    DriftFindingJSON,
    ModuleDriftJSON,
    UpstreamJSON,
    VersionDriftJSON,
)
from app.catalog.modules import VersionDetail
from app.drift.status import (
    CheckFact,
    DriftFact,
    module_upstream,
    recent_checks,
    version_upstream,
)
from app.errors import BadRequest, NotFound
from app.inputs import BodyError, json_object
from app.models import Module, ModuleVersion
from app.services.drift import queue_check
from app.services.modules import known_module
from app.wiring import depot

POST_SUFFIX = "/drift-checks"


def _check_json(c: CheckFact) -> DriftCheckJSON:
    return {"checked_at": iso(c.checked_at), "outcome": c.outcome, "detail": c.detail,
            "trigger": c.trigger}


def _drift_json(d: DriftFact) -> DriftFindingJSON:
    return {"kind": d.kind, "stored_sha256": d.stored_sha256,
            "upstream_sha256": d.upstream_sha256 or None, "stored_h1": d.stored_h1 or None,
            "upstream_h1": d.upstream_h1 or None, "detected_at": iso(d.detected_at)}


def upstream_json(session: Session, detail: VersionDetail) -> UpstreamJSON:
    """The module JSON's ``upstream``: what the drift alarm knows of this version."""
    up = version_upstream(session, detail.path, detail.version, detail.version_id)
    last = up.last_check
    return {
        "captured_at": iso(up.captured_at),
        "last_checked_at": iso(last.checked_at) if last else None,
        "outcome": last.outcome if last else None,
        "drifted": up.drifted,
        "drifts": [_drift_json(d) for d in up.drifts],
    }


def drift_json(session: Session, path: str) -> ModuleDriftJSON:
    """GET /api/v1/modules/<path>/drift: every version's checks (newest first) and drifts."""
    summary = known_module(session, path)
    module = module_upstream(session, path)
    ids = dict(session.execute(
        select(ModuleVersion.version, ModuleVersion.id).join(Module)
        .where(Module.path == path)
    ).all())
    out: list[VersionDriftJSON] = []
    for v in summary.versions:
        up = version_upstream(session, path, v.version, ids[v.version])
        out.append({
            "version": v.version,
            "state": v.state,
            "captured_at": iso(up.captured_at),
            "drifted": up.drifted,
            "checks": [_check_json(c) for c in recent_checks(session, ids[v.version])],
            "drifts": [_drift_json(d) for d in up.drifts],
        })
    return {"path": path, "last_checked_at": iso(module.last_checked_at), "versions": out}


def create_drift_check(rest: str) -> tuple[Response, int, dict[str, str]]:
    """POST /api/v1/modules/<path>/drift-checks with a JSON body ({} or {"version": …})."""
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
    svc = depot()
    queued = queue_check(svc, lambda: svc.dispatcher.connection, svc.request_limiter, module,
                         version, "api", request.remote_addr or "unknown")
    location = url_for("api.module_resource", rest=f"{module}/drift")
    answer: DriftCheckQueuedJSON = {"module": module, "version": version,
                                    "job_id": queued.job_id, "already_queued": queued.already,
                                    "results": location}
    return jsonify(answer), 202, {"Location": location}
