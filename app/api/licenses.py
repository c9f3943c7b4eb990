"""The dependency-license report in the API: JSON, CSV and an SPDX 2.3 SBOM.

``GET /api/v1/modules/<path>/licenses|licenses.csv|sbom.spdx.json?version=``.
The JSON always answers (a hidden or unfinished version says so in ``hidden``
and ``build_list_known``); the two downloads answer 409 unless they can hold
the whole build list, so no partial file is ever handed out.
"""

from __future__ import annotations

import json

from flask import Response, jsonify, request
from sqlalchemy.orm import Session

from app.api.common import requested_detail
from app.api.shapes import ErrorJSON, LicenseMemberJSON, LicenseReportJSON
from app.catalog.license_exports import file_name, report_csv, report_sbom
from app.catalog.license_report import LicenseReport, MemberLicense, license_report
from app.config import depot_version
from app.gomod.paths import escape_path, escape_version
from app.licenses.categories import LABELS
from app.licenses.policy import allow_list_from_env
from app.wiring import depot


def _allow() -> frozenset[str]:
    return allow_list_from_env(depot().settings.license_allow)


def report_for(session: Session, path: str) -> LicenseReport:
    """The report of the version named by ``?version=`` (default latest)."""
    return license_report(session, requested_detail(session, path), _allow())


def member_json(m: MemberLicense) -> LicenseMemberJSON:
    return {
        "path": m.path, "version": m.version, "root": m.root, "state": m.state,
        "in_depot": m.in_depot, "spdx_ids": list(m.spdx_ids), "category": m.category,
        "flags": list(m.flags), "unknown": m.unknown or None,
        "not_redistributable": list(m.not_redistributable),
        "copyleft_in_permissive": m.copyleft_in_permissive,
        "zip_sha256": m.sha256 or None,
    }


def report_json(report: LicenseReport) -> LicenseReportJSON:
    return {
        "path": report.path, "version": report.version, "state": report.state,
        "build_list_known": report.build_list_known, "hidden": report.hidden,
        "withheld": report.withheld,
        "root_permissive": report.root_permissive,
        "summary": {
            "members": len(report.members),
            "unknown": len(report.unknown),
            "not_redistributable": len(report.not_redistributable),
            "copyleft_in_permissive": report.copyleft_counts(),
        },
        "groups": [{"spdx_id": g.spdx_id, "category": g.category, "label": g.label,
                    "count": g.count, "members": list(g.members)} for g in report.groups],
        "members": [member_json(m) for m in report.members],
        "categories": LABELS,
    }


def licenses_json(session: Session, path: str) -> LicenseReportJSON:
    return report_json(report_for(session, path))


def _refusal(report: LicenseReport) -> Response | None:
    """409 with the reason when the report is not the whole build list."""
    why = report.withheld
    if not why:
        return None
    body: ErrorJSON = {"error": why}
    resp = jsonify(body)
    resp.status_code = 409
    return resp


def _attachment(body: str, mimetype: str, name: str) -> Response:
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.cache_control.no_cache = True
    return resp


def licenses_csv(session: Session, path: str) -> Response:
    report = report_for(session, path)
    refused = _refusal(report)
    if refused is not None:
        return refused
    # text/csv: werkzeug adds "; charset=utf-8" itself (Response.charset is gone since 3.0).
    return _attachment(report_csv(report), "text/csv", file_name(report, "-licenses.csv"))


def _zip_url(path: str, version: str) -> str:
    return f"{request.url_root.rstrip('/')}/{escape_path(path)}/@v/{escape_version(version)}.zip"


def sbom_json(session: Session, path: str) -> Response:
    report = report_for(session, path)
    refused = _refusal(report)
    if refused is not None:
        return refused
    doc = report_sbom(report, zip_url=_zip_url, namespace_base=request.url_root,
                      tool=f"Depot-{depot_version()}")
    return _attachment(json.dumps(doc, indent=2) + "\n", "application/spdx+json",
                       file_name(report, "-sbom.spdx.json"))
