"""The JSON API says what the pages say: modules, versions, dependencies, used-by, search."""

from __future__ import annotations

from flask import Flask

from app.ingest import ingest
from app.models import ModuleVersion, VersionState
from app.pipeline.capture import get_version
from tests.api.jsonget import get
from tests.conftest import read_only_instance


def load(app: Flask) -> Flask:
    svc = app.extensions["depot"]
    for path, version in [("depot.test/chain/a", "v1.0.0"), ("depot.test/chain/a", "v1.1.0"),
                          ("depot.test/retract", "v1.0.1"), ("depot.test/retract", "v1.1.0")]:
        assert ingest(svc, path, version, deps=True).ok, (path, version)
    return app


loaded_settings, loaded, loaded_own = read_only_instance(load, "api-loaded")


def test_module_and_its_latest_version(loaded: Flask):
    body = get(loaded, "/api/v1/modules/depot.test/chain/a")
    assert body["path"] == "depot.test/chain/a"
    assert body["latest"] == "v1.1.0"
    assert (body["version_count"], body["published_count"]) == (2, 2)
    assert body["downloads"] == 0
    v = body["version"]
    assert v["version"] == "v1.1.0" and v["state"] == "published" and v["validated"]
    assert v["go_get"] == "go get depot.test/chain/a@v1.1.0"
    assert v["spdx_ids"] == ["MIT"] and v["licenses"][0]["file"] == "LICENSE"
    assert v["go_version"] == "1.21"
    older = get(loaded, "/api/v1/modules/depot.test/chain/a?version=v1.0.0")
    assert older["version"]["version"] == "v1.0.0"


def test_versions_dependencies_and_used_by(loaded: Flask):
    versions = get(loaded, "/api/v1/modules/depot.test/retract/versions")
    by_version = {v["version"]: v for v in versions["versions"]}
    assert list(by_version) == ["v1.1.0", "v1.0.1"]  # newest first
    assert by_version["v1.0.1"]["retracted"] is True
    assert by_version["v1.0.1"]["retraction_rationale"]
    assert by_version["v1.1.0"]["retracted"] is False

    deps = get(loaded, "/api/v1/modules/depot.test/chain/a/dependencies")
    assert deps["version"] == "v1.1.0"
    assert [(d["path"], d["indirect"], d["in_depot"]) for d in deps["dependencies"]] == [
        ("depot.test/chain/b", False, True), ("depot.test/chain/c", True, True)]

    users = get(loaded, "/api/v1/modules/depot.test/chain/b/used-by")
    # Two published versions of chain/a require chain/b: one user, counted once.
    assert users["total"] == 1
    assert users["items"] == [{"path": "depot.test/chain/a", "version": "v1.1.0",
                               "requires": "v1.0.0"}]
    # chain/c is only an indirect requirement of chain/a: b is its one direct user.
    assert get(loaded, "/api/v1/modules/depot.test/chain/c/used-by")["total"] == 1


def test_non_redistributable_version_hides_its_files_not_its_requirements(loaded_own: Flask):
    svc = loaded_own.extensions["depot"]
    with svc.db.session() as session:
        row: ModuleVersion = get_version(session, "depot.test/chain/a", "v1.0.0")
        row.state, row.redistributable, row.reason = (
            VersionState.staged, False, "license not redistributable: none found")
    body = get(loaded_own, "/api/v1/modules/depot.test/chain/a/dependencies?version=v1.0.0")
    # Its go.mod is served for graph loading and its page lists them: so does the API.
    assert body["hidden"] is True
    assert [d["path"] for d in body["dependencies"]] == ["depot.test/chain/b",
                                                        "depot.test/chain/c"]
    detail = get(loaded_own, "/api/v1/modules/depot.test/chain/a?version=v1.0.0")["version"]
    assert detail["state"] == "staged" and detail["reason"].startswith("license not")


def test_search(loaded: Flask):
    body = get(loaded, "/api/v1/search?q=chain")
    assert body["total"] == 3
    assert {r["path"] for r in body["results"]} == {
        "depot.test/chain/a", "depot.test/chain/b", "depot.test/chain/c"}
    first = get(loaded, "/api/v1/search?q=depot.test/chain/b")["results"][0]
    assert first["path"] == "depot.test/chain/b" and first["used_by"] == 1
    assert first["licenses"] == ["MIT"]
    assert get(loaded, "/api/v1/search?q=chain&license=Apache-2.0")["total"] == 0
    assert get(loaded, "/api/v1/search?q=chain&per_page=1&page=2")["results"][0]["path"]


BAD = [
    ("/api/v1/modules/depot.test/nothing", 404),
    ("/api/v1/modules/depot.test/chain/a?version=v9.9.9", 404),
    ("/api/v1/modules/depot.test/chain/a?version=latest", 400),
    ("/api/v1/modules/Not/A/Module", 400),
    ("/api/v1/modules/depot.test/chain/b/used-by?page=0", 400),
    ("/api/v1/modules/depot.test/chain/b/used-by?per_page=1000", 400),
    ("/api/v1/search?q=" + "x" * 201, 400),
    ("/api/v1/search?q=a&license=%3Cscript%3E", 400),
]


def test_bad_input_gets_a_json_4xx(loaded: Flask):
    """Every case on one loaded instance (one per case cost seconds of ingest each)."""
    for url, status in BAD:
        assert get(loaded, url, status)["error"], url


def test_a_module_named_like_a_subresource_is_that_module(app: Flask):
    """/api/v1/modules/x/versions means module x/versions when Depot has it."""
    svc = app.extensions["depot"]
    from app.models import Module

    with svc.db.session() as session:
        mod = Module(path="depot.test/chain/versions")
        session.add(mod)
        session.flush()
        session.add(ModuleVersion(module_id=mod.id, version="v1.0.0",
                                  state=VersionState.pending))
    body = get(app, "/api/v1/modules/depot.test/chain/versions")
    assert body["path"] == "depot.test/chain/versions"
    assert body["version"]["state"] == "pending"
