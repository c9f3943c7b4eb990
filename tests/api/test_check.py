"""POST /api/v1/check: a pasted go.mod and go.sum judged against a filled Depot, as JSON
in the shape the OpenAPI document promises; bad and oversize input in one-line errors."""

from __future__ import annotations

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from sqlalchemy import select

from app.api.openapi import SCHEMAS
from app.models import Artifact, ArtifactKind, Module, ModuleVersion
from tests.fixtures.catalog import REJECTED, UNLICENSED, WIDGETS

WRONG = "h1:" + "A" * 43 + "="
GO_MOD = f"""module example.com/app

go 1.21

toolchain go1.22.1

require (
\tdepot.test/chain/a v1.1.0
\t{WIDGETS} v1.2.0
\t{UNLICENSED} v1.0.0 // indirect
\t{REJECTED} v1.0.0
\tdepot.test/nothere v1.0.0
\tdepot.test/local v1.0.0
)

replace depot.test/local => ./local

exclude depot.test/chain/c v0.9.0
"""


def valid(body: dict, schema: str) -> None:
    document = {"$ref": f"#/components/schemas/{schema}", "components": {"schemas": SCHEMAS}}
    Draft202012Validator(document).validate(body)


def post(app: Flask, body: object, status: int = 200, **kwargs: object) -> dict:
    resp = app.test_client().post("/api/v1/check", json=body, **kwargs)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    found = resp.get_json()
    valid(found, "Check" if status == 200 else "Error")
    return found


def zip_hash(app: Flask, path: str, version: str) -> str:
    with app.extensions["depot"].db.session() as session:
        return session.scalar(
            select(Artifact.h1).join(ModuleVersion).join(Module)
            .where(Module.path == path, ModuleVersion.version == version,
                   Artifact.kind == ArtifactKind.zip))


def test_every_module_of_the_build_list_with_its_status(catalog_app: Flask):
    body = post(catalog_app, {"go_mod": GO_MOD})
    assert (body["module"], body["go"], body["toolchain"], body["pruned"]) == (
        "example.com/app", "1.21", "go1.22.1", True)
    entries = {e["module"]: e for e in body["entries"]}
    assert {m: (e["status"], e["direct"]) for m, e in entries.items()} == {
        "depot.test/chain/a": ("served", True), WIDGETS: ("served", True),
        UNLICENSED: ("held", True), REJECTED: ("held", True),
        "depot.test/nothere": ("missing", True), "depot.test/local": ("replaced", True),
        "depot.test/chain/b": ("served", False), "depot.test/chain/c": ("served", False)}
    assert entries["depot.test/chain/b"]["via"] == "depot.test/chain/a@v1.1.0"
    assert entries[UNLICENSED]["indirect"] and entries[UNLICENSED]["reason"].startswith(
        "held: license not redistributable")
    assert entries["depot.test/local"]["replacement"] == "./local"
    assert entries["depot.test/chain/a"]["url"] == "http://localhost/depot.test/chain/a@v1.1.0"
    assert body["counts"] == {"served": 4, "held": 2, "missing": 1, "replaced": 1,
                              "mismatch": 0}
    assert body["to_request"] == 1 and not body["mismatch"] and not body["complete"]
    assert {"module": "depot.test/nothere", "version": "v1.0.0"} in body["incomplete"]
    assert body["local"] == [{"module": "depot.test/local", "version": "v1.0.0"}]
    assert body["limits"]["go_mod_bytes"] == 256 * 1024 and body["limits"]["nodes"] == 5000
    assert body["go_sum"] == {"lines": [], "counts": {"match": 0, "mismatch": 0,
                                                      "unknown": 0}}


def test_a_go_sum_mismatch_is_flagged(catalog_app: Flask):
    good = zip_hash(catalog_app, "depot.test/chain/c", "v1.0.0")
    go_sum = (f"depot.test/chain/c v1.0.0 {good}\n"
              f"depot.test/chain/b v1.0.0 {WRONG}\n"
              f"depot.test/nothere v1.0.0/go.mod {WRONG}\n")
    body = post(catalog_app, {"go_mod": GO_MOD, "go_sum": go_sum})
    assert body["mismatch"] is True and body["counts"]["mismatch"] == 1
    lines = body["go_sum"]["lines"]
    assert [(s["module"], s["kind"], s["status"]) for s in lines] == [
        ("depot.test/chain/c", "zip", "match"), ("depot.test/chain/b", "zip", "mismatch"),
        ("depot.test/nothere", "go.mod", "unknown")]
    assert lines[1]["line"] == 2 and lines[1]["hash"] == WRONG
    assert lines[1]["depot_hash"] == zip_hash(catalog_app, "depot.test/chain/b", "v1.0.0")
    assert lines[2]["depot_hash"] is None
    assert body["go_sum"]["counts"] == {"match": 1, "mismatch": 1, "unknown": 1}


@pytest.mark.parametrize("body, message", [
    ({}, '"go_mod" is required'),
    ({"go_mod": 1}, '"go_mod" is required'),
    ({"go_mod": "module example.com/x\n", "go_sum": ["x"]}, '"go_sum" must be'),
    ({"go_mod": ""}, "the go.mod text is empty"),
    ({"go_mod": "module example.com/x\nrequire example.com/y v2.0.0\n"}, "go.mod:2"),
    ({"go_mod": "module example.com/x\n", "go_sum": "example.com/y v1.0.0 h1:AA==\n"},
     "go.sum line 1: "),
    (["not", "an", "object"], "send JSON"),
])
def test_bad_input_is_a_400_saying_what_to_change(catalog_app: Flask, body: object,
                                                  message: str):
    found = post(catalog_app, body, 400)
    assert message in found["error"]


def test_not_json_is_a_400(catalog_app: Flask):
    resp = catalog_app.test_client().post("/api/v1/check", data="go_mod=x",
                                          content_type="text/plain")
    assert resp.status_code == 400 and "send JSON" in resp.get_json()["error"]


def test_over_a_limit_is_a_413_stating_the_limits(catalog_app: Flask):
    big = "module example.com/x\n" + "// x\n" * 60_000
    found = post(catalog_app, {"go_mod": big}, 413)
    assert "go.mod is" in found["error"] and "over the limit of 256 KiB" in found["error"]
    found = post(catalog_app, {"go_mod": "x" * (1100 * 1024)}, 413)
    assert "over the limit of 1024 KiB" in found["error"]
    assert "go.sum up to 512 KiB" in found["error"]


def test_the_check_is_in_the_openapi_document(catalog_app: Flask):
    spec = catalog_app.test_client().get("/api/openapi.json").get_json()
    post_check = spec["paths"]["/api/v1/check"]["post"]
    assert set(post_check["responses"]) == {"200", "400", "413", "503"}
    assert "256 KiB" in post_check["responses"]["413"]["description"]
    assert {"Check", "CheckBody", "CheckEntry", "CheckSum"} <= set(spec["components"]["schemas"])
