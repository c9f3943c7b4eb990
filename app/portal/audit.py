"""The audit trail for admins (``/admin/audit``): newest first, filtered by action,
actor, target and time, fifty at a time with a link to older events."""

from __future__ import annotations

from flask import Response, make_response, render_template, request

from app.audit import ACTIONS
from app.errors import BadRequest
from app.portal.blueprint import bp
from app.services.audit import PER_PAGE, filters_from, page, query_args
from app.wiring import depot


@bp.get("/admin/audit")
def audit() -> Response:
    retention = depot().settings.audit_retention_days
    form = {name: request.args.get(name, "")[:600]
            for name in ("action", "actor", "target", "since", "until")}
    try:
        filters, limit = filters_from(request.args)
    except BadRequest as exc:
        body = render_template("portal/audit.html", found=None, error=exc.reason, form=form,
                               actions=ACTIONS, retention=retention, older_args=None)
        return _uncached(make_response(body, 400))
    found = page(depot(), filters, limit)
    older = (query_args(filters, limit, found.older) if found.older is not None else None)
    body = render_template("portal/audit.html", found=found, error="", form=form,
                           actions=ACTIONS, retention=retention, older_args=older,
                           newest_args=query_args(filters, limit, None),
                           per_page=PER_PAGE)
    return _uncached(make_response(body))


def _uncached(resp: Response) -> Response:
    resp.cache_control.no_store = True
    return resp
