"""GET /api/v1/modules/<path>/bundle and …/bundle.tar.gz: a version's offline bundle.

Building one runs the toolchain, so it happens once per version (a lock; later
requests read the cache) and within DEPOT_FETCH_TIMEOUT; the JSON says what the
bundle holds, the .tar.gz is the bundle itself (app/bundle).
"""

from __future__ import annotations

from flask import Response, send_file, url_for
from sqlalchemy.orm import Session

from app.api.common import requested_detail
from app.api.shapes import BundleJSON
from app.bundle import Built, BundleError, build
from app.errors import BadRequest, NotFound, Unavailable
from app.wiring import depot

# Bundles of a published version do not change while Depot's version does not.
MAX_AGE = 24 * 3600


def _built(session: Session, path: str) -> Built:
    detail = requested_detail(session, path)
    if not detail.summary.published or detail.redistributable is not True:
        raise NotFound(f"{path}@{detail.version} is not published, so Depot makes no bundle "
                       "of it")
    try:
        return build(depot(), path, detail.version)
    except BundleError as exc:
        if exc.kind == "invalid":
            raise BadRequest(exc.reason) from exc
        if exc.kind == "unavailable":
            raise NotFound(exc.reason) from exc
        raise Unavailable(exc.reason) from exc


def download_url(path: str, version: str) -> str:
    return url_for("api.module_resource", rest=f"{path}/bundle.tar.gz", version=version)


def bundle_json(session: Session, path: str) -> BundleJSON:
    d = _built(session, path).description
    return {
        "path": d["module"], "version": d["version"], "file_name": d["file_name"],
        "download_url": download_url(d["module"], d["version"]),
        "size": d["size"], "sha256": d["sha256"], "module_count": d["module_count"],
        "go_mod_only": d["go_mod_only"], "file_count": d["file_count"],
        "total_bytes": d["total_bytes"], "go_version": d["go_version"],
        "depot_version": d["depot_version"], "usage": d["usage"],
        "members": [{"path": m["path"], "version": m["version"], "main": m["main"],
                     "in_build_list": m["in_build_list"], "files": m["files"],
                     "bytes": m["bytes"]} for m in d["members"]],
    }


def bundle_download(session: Session, path: str) -> Response:
    built = _built(session, path)
    resp = send_file(built.path, mimetype="application/gzip", as_attachment=True,
                     download_name=built.file_name, etag=built.sha256, conditional=True,
                     max_age=MAX_AGE)
    resp.cache_control.public = True
    return resp
