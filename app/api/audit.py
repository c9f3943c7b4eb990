"""GET /api/v1/audit: the audit trail for admins, newest first, a page at a time."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, jsonify, request, url_for

from app.api.common import iso
from app.api.shapes import AuditEventJSON, AuditPageJSON
from app.models import AuditEvent
from app.services.audit import filters_from, page, query_args
from app.wiring import depot


def event_json(row: AuditEvent) -> AuditEventJSON:
    return {"id": row.id, "at": iso(row.at), "actor": row.actor, "role": row.role,
            "action": row.action, "target": row.target, "detail": row.detail,
            "source": row.source, "request_id": row.request_id}


def audit_json() -> Response:
    filters, limit = filters_from(request.args)
    found = page(depot(), filters, limit)
    older = None
    if found.older is not None:
        older = url_for("api.audit") + "?" + urlencode(query_args(filters, limit, found.older))
    body: AuditPageJSON = {"events": [event_json(e) for e in found.events], "next": older}
    resp = jsonify(body)
    resp.cache_control.no_store = True
    return resp
