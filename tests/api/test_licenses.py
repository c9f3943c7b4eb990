"""The dependency-license report in the API (JSON, CSV, SPDX), on a tree the real pipeline
ingested: MIT + Apache-2.0 root, GPL-3.0 and LGPL-3.0 dependencies, one custom license,
one module Depot never got."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from jsonschema import Draft202012Validator

from app.api.openapi import SCHEMAS
from tests.conftest import GO, make_app
from tests.fixtures.license_tree import (
    CUSTOM,
    GONE,
    GPL,
    LGPL,
    ROOT,
    UTIL,
    VERSION,
    license_depot,
)

# SPDX's reference validator wants a domain name in downloadLocation, as a deployed Depot has.
BASE = "https://depot.example.com"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                                  marks=pytest.mark.postgres)])
def tree(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp(f"license-tree-{request.param}")
    with license_depot(tmp, request.param, GO) as app:
        yield app


def assert_conforms(body: object, name: str) -> None:
    """``body`` holds to the OpenAPI description's schema ``name``."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": SCHEMAS}}
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(body)]
    assert errors == []


def get(app: Flask, url: str, status: int = 200):  # type: ignore[no-untyped-def]
    resp = app.test_client().get(url, base_url=BASE)
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp


def test_json_report(tree: Flask):
    body = get(tree, f"/api/v1/modules/{ROOT}/licenses").get_json()
    assert (body["path"], body["version"], body["hidden"], body["build_list_known"]) == (
        ROOT, VERSION, False, True)
    assert body["root_permissive"] is True and body["withheld"] == ""
    members = {m["path"]: m for m in body["members"]}
    assert list(members) == [ROOT, CUSTOM, GONE, GPL, LGPL, UTIL]
    assert members[ROOT]["root"] and members[ROOT]["spdx_ids"] == ["Apache-2.0", "MIT"]
    assert members[GPL]["spdx_ids"] == ["GPL-3.0-only"]
    assert members[GPL]["copyleft_in_permissive"] == "strong"
    assert members[LGPL]["copyleft_in_permissive"] == "weak"
    assert members[LGPL]["category"] == "weak-copyleft"
    assert members[UTIL]["flags"] == [] and members[UTIL]["state"] == "published"
    assert members[CUSTOM]["flags"] == ["unknown"]
    assert members[CUSTOM]["unknown"] == "unrecognised license in LICENSE"
    assert members[CUSTOM]["state"] == "staged" and members[CUSTOM]["in_depot"]
    assert members[GONE] == {**members[GONE], "in_depot": False, "state": None,
                             "unknown": "not in Depot", "zip_sha256": None, "spdx_ids": []}
    assert body["summary"] == {"members": 6, "unknown": 2, "not_redistributable": 0,
                               "copyleft_in_permissive": {"weak": 1, "strong": 1, "network": 0}}
    counts = {g["spdx_id"]: g["count"] for g in body["groups"]}
    assert counts == {"MIT": 2, "unknown": 2, "Apache-2.0": 1, "GPL-3.0-only": 1,
                      "LGPL-3.0-only": 1}
    assert_conforms(body, "LicenseReport")
    same = get(tree, f"/api/v1/modules/{ROOT}/licenses?version={VERSION}").get_json()
    assert same["members"] == body["members"]


def test_csv_download(tree: Flask):
    resp = get(tree, f"/api/v1/modules/{ROOT}/licenses.csv?version={VERSION}")
    assert resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == \
        'attachment; filename="depot.test_lic_app@v1.0.0-licenses.csv"'
    text = resp.get_data(as_text=True)
    header = next(csv.reader(io.StringIO(text)))
    assert header[:3] == ["module", "version", "root"]
    rows = {r["module"]: r for r in csv.DictReader(io.StringIO(text))}
    assert list(rows) == [ROOT, CUSTOM, GONE, GPL, LGPL, UTIL]
    assert rows[GPL]["licenses"] == "GPL-3.0-only"
    assert rows[GPL]["copyleft_in_permissive"] == "strong"
    assert rows[GONE]["flags"] == "unknown" and rows[GONE]["in_depot"] == "false"
    assert rows[ROOT]["licenses"] == "Apache-2.0;MIT"
    json_members = get(tree, f"/api/v1/modules/{ROOT}/licenses").get_json()["members"]
    assert [r["zip_sha256"] for r in rows.values()] == [m["zip_sha256"] or ""
                                                        for m in json_members]


def test_sbom_download_is_valid_spdx(tree: Flask, tmp_path: Path):
    from tests.fixtures.spdx import spdx_problems

    resp = get(tree, f"/api/v1/modules/{ROOT}/sbom.spdx.json?version={VERSION}")
    assert resp.mimetype == "application/spdx+json"
    assert resp.headers["Content-Disposition"] == \
        'attachment; filename="depot.test_lic_app@v1.0.0-sbom.spdx.json"'
    text = resp.get_data(as_text=True)
    assert spdx_problems(text, tmp_path) == []
    doc = json.loads(text)
    assert_conforms(doc, "SpdxDocument")
    packages = {p["name"]: p for p in doc["packages"]}
    assert set(packages) == {ROOT, CUSTOM, GONE, GPL, LGPL, UTIL}
    gpl = packages[GPL]
    assert gpl["versionInfo"] == VERSION and gpl["licenseDeclared"] == "GPL-3.0-only"
    assert gpl["downloadLocation"] == f"{BASE}/depot.test/lic/gpl/@v/v1.0.0.zip"
    assert gpl["externalRefs"][0]["referenceLocator"] == f"pkg:golang/{GPL}@{VERSION}"
    assert packages[ROOT]["licenseConcluded"] == "Apache-2.0 AND MIT"
    assert packages[GONE]["licenseConcluded"] == "NOASSERTION"
    assert packages[GONE]["downloadLocation"] == "NOASSERTION"
    # The checksum is the zip Depot serves: fetch it through the GOPROXY and hash it.
    served = get(tree, "/depot.test/lic/gpl/@v/v1.0.0.zip").data
    assert gpl["checksums"] == [{"algorithm": "SHA256",
                                 "checksumValue": hashlib.sha256(served).hexdigest()}]
    assert doc["creationInfo"]["creators"][0].startswith("Tool: Depot-")
    other = json.loads(get(tree, f"/api/v1/modules/{ROOT}/sbom.spdx.json").data)
    assert other["documentNamespace"] != doc["documentNamespace"]
    assert doc["documentNamespace"].startswith(f"{BASE}/spdx/{ROOT}@{VERSION}/")


def test_a_module_without_dependencies(tree: Flask):
    body = get(tree, f"/api/v1/modules/{UTIL}/licenses").get_json()
    assert [m["path"] for m in body["members"]] == [UTIL] and body["build_list_known"]
    rows = list(csv.DictReader(io.StringIO(
        get(tree, f"/api/v1/modules/{UTIL}/licenses.csv").get_data(as_text=True))))
    assert [r["module"] for r in rows] == [UTIL]


def test_hidden_version_shows_its_own_license_and_refuses_the_files(tree: Flask):
    body = get(tree, f"/api/v1/modules/{CUSTOM}/licenses").get_json()
    assert body["hidden"] is True and [m["path"] for m in body["members"]] == [CUSTOM]
    assert "not redistributable" in body["withheld"]
    assert_conforms(body, "LicenseReport")
    for name in ("licenses.csv", "sbom.spdx.json"):
        resp = get(tree, f"/api/v1/modules/{CUSTOM}/{name}", 409)
        assert "not redistributable" in resp.get_json()["error"]


@pytest.mark.parametrize(("url", "status", "says"), [
    (f"/api/v1/modules/{ROOT}/licenses?version=v9.9.9", 404, "not in Depot"),
    (f"/api/v1/modules/{ROOT}/licenses.csv?version=latest", 400, "canonical"),
    (f"/api/v1/modules/{ROOT}/sbom.spdx.json?version=v1", 400, "canonical"),
    ("/api/v1/modules/depot.test/nothing/licenses", 404, "not in Depot"),
    (f"/api/v1/modules/{GONE}/sbom.spdx.json", 404, "not in Depot"),
    ("/api/v1/modules/-bad-/licenses.csv", 400, ""),
])
def test_bad_input(tree: Flask, url: str, status: int, says: str):
    resp = get(tree, url, status)
    assert resp.mimetype == "application/json" and says in resp.get_json()["error"]


def test_the_configured_policy_flags_what_it_would_not_serve(tmp_path: Path):
    with license_depot(tmp_path, "sqlite", GO) as app:
        # The same rows, read by a Depot whose allow-list is narrower than when it ingested.
        settings = app.extensions["depot"].settings
        narrow = make_app(replace(settings, license_allow="MIT,Apache-2.0,LGPL-3.0-or-later"))
        try:
            body = get(narrow, f"/api/v1/modules/{ROOT}/licenses").get_json()
        finally:
            narrow.extensions["depot"].db.dispose()
    members = {m["path"]: m for m in body["members"]}
    assert members[GPL]["not_redistributable"] == ["GPL-3.0-only"]
    assert members[GPL]["flags"] == ["not_redistributable", "copyleft_in_permissive"]
    assert members[LGPL]["not_redistributable"] == []  # the GNU family counts as one
    assert body["summary"]["not_redistributable"] == 1
