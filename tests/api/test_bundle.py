"""GET /api/v1/modules/<path>/bundle(.tar.gz): the same bytes as the CLI, proper headers,
clear 4xx on bad input, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.models import Module, ModuleVersion, VersionState

TOP = "depot.test/chain/a"


def _ingest(app) -> None:  # type: ignore[no-untyped-def]
    done = app.test_cli_runner().invoke(args=["ingest", f"{TOP}@v1.1.0", "--deps"])
    assert done.exit_code == 0, done.output


def test_download_matches_the_cli(app, tmp_path: Path):
    _ingest(app)
    client = app.test_client()
    about = client.get(f"/api/v1/modules/{TOP}/bundle?version=v1.1.0")
    assert about.status_code == 200, about.get_json()
    body = about.get_json()
    assert body["module_count"] == 3 and body["version"] == "v1.1.0"
    assert {m["path"] for m in body["members"]} == {
        "depot.test/chain/a", "depot.test/chain/b", "depot.test/chain/c"}
    assert body["file_count"] > 9 and body["total_bytes"] > 0

    resp = client.get(body["download_url"])
    assert resp.status_code == 200
    assert resp.mimetype == "application/gzip"
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="depot.test_chain_a@v1.1.0.bundle.tar.gz"')
    assert resp.headers["ETag"] == f'"{body["sha256"]}"'
    assert len(resp.data) == body["size"]

    out = tmp_path / "cli.tar.gz"
    done = app.test_cli_runner().invoke(args=["bundle", f"{TOP}@v1.1.0", "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert out.read_bytes() == resp.data

    again = client.get(body["download_url"], headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304
    # The default version is the latest published one.
    latest = client.get(f"/api/v1/modules/{TOP}/bundle").get_json()
    assert latest["sha256"] == body["sha256"]


def test_bad_input_and_unpublished(app):
    _ingest(app)
    client = app.test_client()
    for url, status, words in [
        (f"/api/v1/modules/{TOP}/bundle.tar.gz?version=yesterday", 400, "canonical"),
        ("/api/v1/modules/Not/A/Module/bundle", 400, "malformed"),
        ("/api/v1/modules/depot.test/nothing/bundle.tar.gz", 404, "not in Depot"),
        (f"/api/v1/modules/{TOP}/bundle?version=v9.9.9", 404, "not in Depot"),
    ]:
        resp = client.get(url)
        assert resp.status_code == status, (url, resp.data)
        assert words in resp.get_json()["error"], (url, resp.get_json())
    svc = app.extensions["depot"]
    with svc.db.session() as session:
        row = session.scalar(select(ModuleVersion).join(Module).where(
            Module.path == "depot.test/chain/b", ModuleVersion.version == "v1.0.0"))
        row.state = VersionState.validation_failed  # a published member is vouched for
    resp = client.get(f"/api/v1/modules/{TOP}/bundle.tar.gz?version=v1.1.0")
    assert resp.status_code == 404
    assert "depot.test/chain/b@v1.0.0 is validation_failed" in resp.get_json()["error"]
    resp = client.get("/api/v1/modules/depot.test/chain/b/bundle?version=v1.0.0")
    assert resp.status_code == 404 and "not published" in resp.get_json()["error"]
