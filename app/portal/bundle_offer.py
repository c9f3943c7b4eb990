"""The module page header's "Download bundle" offer: where, and how big.

Figures come from the built bundle when it is in the cache, else from the build
list's stored files in the database (the bundle adds only small go.mod and list
files), so a page view never runs the toolchain.
"""

from __future__ import annotations

from flask import url_for
from sqlalchemy.orm import Session

from app import shorten
from app.bundle import cached, estimate, file_name
from app.catalog.modules import VersionDetail
from app.wiring import depot


def bundle_offer(session: Session, detail: VersionDetail) -> dict | None:
    """None unless the version is published (only those are bundled) and Depot serves its
    whole build list (a held member cannot leave Depot: the page's notice says which)."""
    if not detail.summary.published or detail.redistributable is not True or detail.unserved:
        return None
    built = cached(depot(), detail.path, detail.version)
    if built is not None:
        modules, size = built.description["module_count"], built.description["size"]
    else:
        modules, size = estimate(session, detail.version_id)
    return {
        "url": url_for("api.module_resource", rest=f"{detail.path}/bundle.tar.gz",
                       version=detail.version),
        "about": url_for("api.module_resource", rest=f"{detail.path}/bundle",
                         version=detail.version),
        "file_name": file_name(detail.path, detail.version),
        "modules": modules,
        "size": shorten.size(size),
    }

