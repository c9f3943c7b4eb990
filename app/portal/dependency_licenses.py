"""The module page's Dependency Licenses tab: the build list's licenses, grouped and flagged.

The facts are app/catalog/license_report's, the same the API answers, and the
download links point at the API's CSV and SPDX files for the same version.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import request
from sqlalchemy.orm import Session

from app.catalog.license_report import license_report
from app.catalog.modules import VersionDetail
from app.licenses.policy import allow_list_from_env
from app.wiring import depot


def download_url(detail: VersionDetail, name: str) -> str:
    """``/api/v1/modules/<path>/<name>?version=<the version shown>``."""
    return (f"{request.script_root}/api/v1/modules/{quote(detail.path, safe='/~!')}/{name}?"
            + urlencode({"version": detail.version}))


def licenses_tab(session: Session, detail: VersionDetail) -> dict:
    report = license_report(session, detail, allow_list_from_env(depot().settings.license_allow))
    return {
        "report": report,
        "csv_url": download_url(detail, "licenses.csv"),
        "sbom_url": download_url(detail, "sbom.spdx.json"),
    }
