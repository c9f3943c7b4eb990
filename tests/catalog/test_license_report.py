"""The dependency-license report's logic and its CSV and SPDX forms, on plain holdings."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from app.catalog.license_exports import (
    CSV_HEADER,
    file_name,
    purl,
    report_csv,
    report_sbom,
)
from app.catalog.license_report import UNKNOWN, Holding, build_report
from app.licenses import REDISTRIBUTABLE
from app.licenses.policy import allow_list_from_env

SHA = "ab" * 32


def held(path: str, *files: tuple[str, str | None], state: str = "published",
         version: str = "v1.0.0") -> Holding:
    return Holding(path, version, state, tuple(files), SHA, "h1:x=")


ROOT = held("example.com/app", ("LICENSE-MIT", "MIT"), ("LICENSE-APACHE", "Apache-2.0"),
            state="published", version="v2.0.0")
MEMBERS = [
    held("example.com/gpl", ("COPYING", "GPL-3.0-only")),
    held("example.com/lgpl", ("LICENSE", "LGPL-2.1-or-later")),
    held("example.com/agpl", ("LICENSE", "AGPL-3.0-only")),
    held("example.com/mixed", ("LICENSE", "MIT,MPL-2.0")),
    held("example.com/custom", ("LICENSE", ""), state="staged"),
    held("example.com/nolicense", state="staged"),
    held("example.com/busl", ("LICENSE", "BUSL-1.1"), state="staged"),
    Holding("example.com/gone", "v0.1.0"),  # no row at all
    held("example.com/util", ("LICENSE", "MIT")),
]


def by_path(report):  # type: ignore[no-untyped-def]
    return {m.path: m for m in report.members}


def test_members_flags_and_groups():
    report = build_report(ROOT, MEMBERS, REDISTRIBUTABLE)
    assert report.root_permissive and report.complete
    rows = by_path(report)
    assert [m.path for m in report.members][:2] == ["example.com/app", "example.com/agpl"]
    assert rows["example.com/app"].root and rows["example.com/app"].flags == ()
    assert rows["example.com/gpl"].copyleft_in_permissive == "strong"
    assert rows["example.com/lgpl"].copyleft_in_permissive == "weak"
    assert rows["example.com/agpl"].copyleft_in_permissive == "network"
    assert rows["example.com/mixed"].copyleft_in_permissive == "weak"
    assert rows["example.com/mixed"].category == "weak-copyleft"
    assert rows["example.com/util"].flags == ()
    assert rows["example.com/custom"].unknown == "unrecognised license in LICENSE"
    assert rows["example.com/nolicense"].unknown == "no license file"
    gone = rows["example.com/gone"]
    assert (gone.unknown, gone.in_depot, gone.state, gone.spdx_ids) == (
        "not in Depot", False, None, ())
    busl = rows["example.com/busl"]
    assert busl.not_redistributable == ("BUSL-1.1",) and busl.category == "other"
    assert busl.flags == ("not_redistributable",)
    assert busl.copyleft_in_permissive is None  # source-available is not copyleft

    assert len(report.unknown) == 3 and len(report.not_redistributable) == 1
    assert report.copyleft_counts() == {"weak": 2, "strong": 1, "network": 1}
    groups = {g.spdx_id: g for g in report.groups}
    assert groups["MIT"].count == 3 and report.groups[0].spdx_id == "MIT"  # most first
    assert groups[UNKNOWN].count == 3 and groups[UNKNOWN].category is None
    assert groups["GPL-3.0-only"].members == ("example.com/gpl@v1.0.0",)
    assert groups["Apache-2.0"].category == "permissive"


def test_the_configured_allow_list_decides_what_is_redistributable():
    report = build_report(ROOT, MEMBERS, allow_list_from_env("MIT,Apache-2.0,GPL-3.0"))
    rows = by_path(report)
    assert rows["example.com/gpl"].not_redistributable == ()  # GPL-3.0 allows -only
    assert rows["example.com/lgpl"].not_redistributable == ("LGPL-2.1-or-later",)
    assert rows["example.com/mixed"].not_redistributable == ("MPL-2.0",)
    assert rows["example.com/custom"].not_redistributable == ()  # unknown is its own flag


def test_copyleft_is_flagged_only_under_a_permissive_root():
    for root in (held("example.com/app", ("COPYING", "GPL-3.0-only")),
                 held("example.com/app", ("LICENSE", "")),
                 held("example.com/app", ("LICENSE", "MIT"), ("NOTICE", "")),
                 held("example.com/app")):
        report = build_report(root, MEMBERS, REDISTRIBUTABLE)
        assert not report.root_permissive
        assert report.copyleft_in_permissive == []
    public_domain = build_report(held("example.com/app", ("LICENSE", "CC0-1.0")), MEMBERS,
                                 REDISTRIBUTABLE)
    assert public_domain.root_permissive


def test_unclassified_files_are_unknown_until_the_gate_ran():
    report = build_report(ROOT, [held("example.com/new", ("LICENSE", None), state="processing")],
                          REDISTRIBUTABLE)
    assert by_path(report)["example.com/new"].unknown == "not classified yet: LICENSE"


def test_hidden_and_unfinished_reports_hold_the_root_only():
    hidden = build_report(ROOT, MEMBERS, REDISTRIBUTABLE, hidden=True)
    assert [m.path for m in hidden.members] == ["example.com/app"] and not hidden.complete
    early = build_report(ROOT, [], REDISTRIBUTABLE, build_list_known=False)
    assert not early.complete


def test_csv_has_a_header_and_a_row_per_member():
    report = build_report(ROOT, MEMBERS, REDISTRIBUTABLE)
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == 1 + len(MEMBERS) + 1
    records = {r["module"]: r for r in csv.DictReader(io.StringIO(report_csv(report)))}
    assert records["example.com/app"]["root"] == "true"
    assert records["example.com/app"]["licenses"] == "MIT;Apache-2.0"
    assert records["example.com/gpl"]["flags"] == "copyleft_in_permissive"
    assert records["example.com/gpl"]["copyleft_in_permissive"] == "strong"
    assert records["example.com/gone"]["in_depot"] == "false"
    assert records["example.com/gone"]["unknown_reason"] == "not in Depot"
    assert records["example.com/mixed"]["zip_sha256"] == SHA


def test_csv_cells_never_start_a_formula():
    evil = Holding("example.com/app", "v1.0.0", "published", (("=cmd|' /C calc'!A0", ""),), SHA)
    text = report_csv(build_report(evil, [], REDISTRIBUTABLE))
    row = list(csv.DictReader(io.StringIO(text)))[0]
    assert row["unknown_reason"].startswith("unrecognised license in =cmd")  # not at the start
    assert not any(cell.startswith("=") for cell in row.values())


def test_file_names_and_purls():
    report = build_report(held("github.com/Foo/bar", ("LICENSE", "MIT"),
                               version="v2.0.0+incompatible"), [], REDISTRIBUTABLE)
    assert file_name(report, "-licenses.csv") == \
        "github.com_Foo_bar@v2.0.0+incompatible-licenses.csv"
    assert purl("github.com/Foo/bar", "v2.0.0+incompatible") == \
        "pkg:golang/github.com/Foo/bar@v2.0.0%2Bincompatible"


def _sbom(report):  # type: ignore[no-untyped-def]
    return report_sbom(
        report, zip_url=lambda p, v: f"https://depot.example.com/{p}/@v/{v}.zip",
        namespace_base="https://depot.example.com/", tool="Depot-test",
        created=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))


def test_sbom_shape():
    report = build_report(ROOT, MEMBERS, REDISTRIBUTABLE)
    doc = _sbom(report)
    assert doc["spdxVersion"] == "SPDX-2.3" and doc["dataLicense"] == "CC0-1.0"
    assert doc["creationInfo"] == {**doc["creationInfo"], "created": "2026-01-02T03:04:05Z",
                                   "creators": ["Tool: Depot-test"]}
    packages = {p["name"]: p for p in doc["packages"]}
    assert len(packages) == len(MEMBERS) + 1
    app = packages["example.com/app"]
    assert app["licenseDeclared"] == app["licenseConcluded"] == "MIT AND Apache-2.0"
    assert app["downloadLocation"] == "https://depot.example.com/example.com/app/@v/v2.0.0.zip"
    assert app["checksums"] == [{"algorithm": "SHA256", "checksumValue": SHA}]
    assert app["externalRefs"][0]["referenceLocator"] == "pkg:golang/example.com/app@v2.0.0"
    assert app["filesAnalyzed"] is False
    assert packages["example.com/custom"]["licenseConcluded"] == "NOASSERTION"
    assert packages["example.com/custom"]["downloadLocation"] == "NOASSERTION"  # not served
    assert "checksums" not in packages["example.com/gone"]
    kinds = [(r["spdxElementId"], r["relationshipType"]) for r in doc["relationships"]]
    assert kinds[0] == ("SPDXRef-DOCUMENT", "DESCRIBES")
    assert kinds[1:] == [(app["SPDXID"], "DEPENDS_ON")] * len(MEMBERS)
    assert len({p["SPDXID"] for p in doc["packages"]}) == len(doc["packages"])
    assert _sbom(report)["documentNamespace"] != doc["documentNamespace"]
    json.dumps(doc)  # plain JSON values only


def test_sbom_passes_the_spdx_validator(tmp_path):
    from tests.fixtures.spdx import spdx_problems

    doc = _sbom(build_report(ROOT, MEMBERS, REDISTRIBUTABLE))
    assert spdx_problems(json.dumps(doc), tmp_path) == []


def test_withheld_says_why():
    assert build_report(ROOT, MEMBERS, REDISTRIBUTABLE).withheld == ""
    hidden = build_report(ROOT, [], REDISTRIBUTABLE, hidden=True)
    assert hidden.withheld.endswith("is not redistributable, so Depot does not show its "
                                    "build list")
    queued = build_report(held("example.com/app", state="pending"), [], REDISTRIBUTABLE,
                          build_list_known=False)
    assert queued.withheld == "the build list of example.com/app@v1.0.0 is not known yet (pending)"
    rejected = build_report(held("example.com/app", state="rejected"), [], REDISTRIBUTABLE,
                            build_list_known=False)
    assert "the version was rejected before Depot worked it out" in rejected.withheld
