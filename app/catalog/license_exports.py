"""The dependency-license report as files to download: CSV, and an SPDX 2.3 JSON SBOM.

Both are written from a complete ``LicenseReport`` (the whole build list) and
nothing else, so the page, the JSON and the files always agree. The SBOM has
one package per build-list member, the module itself included and described
by the document, each depending-on relationship from it to a member (the
toolchain's build list is flat: it does not say who pulled in whom).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict
from urllib.parse import quote

from app.catalog.license_report import LicenseReport, MemberLicense

CSV_HEADER = (
    "module", "version", "root", "in_depot", "state", "licenses", "category", "flags",
    "unknown_reason", "not_redistributable", "copyleft_in_permissive", "zip_sha256", "h1",
)
NOASSERTION = "NOASSERTION"
_SPDX_REF = re.compile(r"[^A-Za-z0-9.-]+")
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else ("true" if value is True else
                                     "false" if value is False else str(value))
    return "'" + text if text.startswith(_FORMULA) else text


def _csv_row(m: MemberLicense) -> list[str]:
    return [_cell(v) for v in (
        m.path, m.version, m.root, m.in_depot, m.state or "", ";".join(m.spdx_ids),
        m.category or "", ";".join(m.flags), m.unknown, ";".join(m.not_redistributable),
        m.copyleft_in_permissive or "", m.sha256, m.h1,
    )]


def report_csv(report: LicenseReport) -> str:
    """One header row, then one row per build-list member (the module itself first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(_csv_row(m) for m in report.members)
    return out.getvalue()


def file_name(report: LicenseReport, suffix: str) -> str:
    """A download's file name: ``example.com_mod@v1.2.3`` + ``suffix``, safe in any header."""
    return re.sub(r"[^A-Za-z0-9.@+_-]+", "_", f"{report.path}@{report.version}") + suffix


def purl(path: str, version: str) -> str:
    """``pkg:golang/<path>@<version>``, each part percent-encoded as purl asks."""
    return f"pkg:golang/{quote(path, safe='/')}@{quote(version, safe='')}"


def _spdx_id(index: int, m: MemberLicense) -> str:
    return f"SPDXRef-Package-{index}-" + _SPDX_REF.sub("-", f"{m.path}-{m.version}").strip("-")


def _package(spdx_id: str, m: MemberLicense, zip_url: Callable[[str, str], str]) -> dict[str, Any]:
    expression = m.spdx_expression or NOASSERTION
    package: dict[str, Any] = {
        "SPDXID": spdx_id,
        "name": m.path,
        "versionInfo": m.version,
        "downloadLocation": zip_url(m.path, m.version) if m.published else NOASSERTION,
        "filesAnalyzed": False,
        "licenseConcluded": expression,
        "licenseDeclared": expression,
        "copyrightText": NOASSERTION,
        "externalRefs": [{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": purl(m.path, m.version),
        }],
    }
    if m.sha256:
        package["checksums"] = [{"algorithm": "SHA256", "checksumValue": m.sha256}]
    if m.unknown:
        package["comment"] = f"Depot cannot name this module's license: {m.unknown}."
    return package


class SpdxDocument(TypedDict):
    """an SPDX 2.3 JSON document (https://spdx.github.io/spdx-spec/v2.3/)"""

    spdxVersion: Literal["SPDX-2.3"]
    dataLicense: Literal["CC0-1.0"]
    SPDXID: Literal["SPDXRef-DOCUMENT"]
    name: str
    documentNamespace: str
    creationInfo: dict[str, Any]
    packages: list[dict[str, Any]]
    relationships: list[dict[str, Any]]


def report_sbom(report: LicenseReport, *, zip_url: Callable[[str, str], str],
                namespace_base: str, tool: str, created: datetime | None = None,
                ) -> SpdxDocument:
    """An SPDX 2.3 JSON document of the build list.

    ``zip_url(path, version)``: where this Depot serves the zip (used for published
    versions; others get NOASSERTION). ``namespace_base``: an absolute URL of this
    Depot; a random UUID under it makes each document's namespace unique.
    ``tool``: e.g. ``Depot-0.1.0``.
    """
    when = (created or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = [_spdx_id(i, m) for i, m in enumerate(report.members)]
    root_id = ids[0]
    name = f"{report.path}@{report.version}"
    relationships = [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                      "relatedSpdxElement": root_id}]
    relationships += [{"spdxElementId": root_id, "relationshipType": "DEPENDS_ON",
                       "relatedSpdxElement": member_id} for member_id in ids[1:]]
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{name} build list",
        "documentNamespace": f"{namespace_base.rstrip('/')}/spdx/{quote(name, safe='/@')}/"
                             f"{uuid.uuid4()}",
        "creationInfo": {
            "created": when,
            "creators": [f"Tool: {tool}"],
            "comment": "The build list the Go toolchain resolved for a consumer of "
                       f"{name}; licenses as Depot classified each module's root "
                       "license files (several licenses are joined with AND).",
        },
        "packages": [_package(i, m, zip_url) for i, m in zip(ids, report.members, strict=True)],
        "relationships": relationships,
    }
