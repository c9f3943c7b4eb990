"""Depot's decision for nginx's ``auth_request``: may this zip go out straight from the store?

The sidecar (charts/depot/files/nginx-sidecar.conf.template) asks here before
serving a zip itself and caches a yes for a minute, so a popular zip costs Depot
one answer a minute instead of one per download. A no (403) sends the request
on to Depot's GOPROXY route, which gives the real answer: 404/410 with the
reason, a fetch on a miss, or X-Accel-Redirect. nginx logs the zips it served
itself; :mod:`app.goproxy.ziplog` turns that log into download counts.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, request

from app.gomod import paths, versions
from app.gomod.errors import GoModError
from app.store import artifact_key
from app.wiring import depot

bp = Blueprint("accel", __name__)

DECISION_TTL = 60  # seconds

# Only the canonical spelling may skip Depot: the same bytes nginx maps to a file.
_PLAIN = re.compile(r"^[A-Za-z0-9._~!/@+-]+$")


def servable(uri: str) -> tuple[str, str] | None:
    """(module, version) when ``uri`` is the canonical URL of a published zip in a
    local store file, else None."""
    if not _PLAIN.match(uri):
        return None
    try:
        module, version, kind = paths.parse_proxy_path(uri)  # as the GOPROXY routes decode
    except GoModError:
        return None
    if kind != "zip" or not versions.is_canonical(version) \
            or uri != "/" + artifact_key(module, version, "zip"):
        return None
    files = depot().published.get(module, version)
    if files is None or files["zip"].path is None or not files["zip"].path.is_file():
        return None
    return module, version


@bp.get("/_accel/zip")
def zip_decision() -> Response:
    uri = request.headers.get("X-Original-URI", "")
    if servable(uri):
        resp = Response(status=204)
        # nginx keeps a yes this long; a version Depot stops serving is honoured after it.
        resp.headers["Cache-Control"] = f"max-age={DECISION_TTL}"
    else:
        resp = Response(status=403)
        resp.headers["Cache-Control"] = "no-store"
    return resp
