"""`flask --app app fsck`: the database and the store agree, and each kind of
disagreement is found and named (on SQLite and PostgreSQL, a real ingest first)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask

from app.config import Settings
from app.fsck import Report, check
from app.ingest import ingest
from app.migrate import upgrade
from app.resources import Services
from tests.conftest import make_app, settings_env
from tests.fixtures.counting_upstream import CountingUpstream
from tests.fixtures.s3 import create_bucket
from tests.fixtures.stuck_job import kill_group, start_stuck_ingest
from tests.fixtures.upstream import PSEUDO_VERSION, fixture_module, upstream_of

C_DIR = "depot.test/chain/c/@v"


@pytest.fixture
def filled(services: Services) -> Services:
    """chain/b and chain/c (tagged) and a pseudo-version, published by the real pipeline."""
    assert ingest(services, "depot.test/chain/b", "v1.0.0", deps=True).ok
    assert ingest(services, "depot.test/pseudo", PSEUDO_VERSION).ok
    return services


def store_root(services: Services) -> Path:
    return services.settings.data_dir / "store"


def kinds(report: Report) -> dict[str, int]:
    return report.counts()


def fsck_cli(services: Services, *args: str):  # type: ignore[no-untyped-def]
    app: Flask = make_app(services.settings)
    try:
        return app.test_cli_runner().invoke(args=["fsck", *args])
    finally:
        app.extensions["depot"].db.dispose()


def test_a_clean_store_passes(filled: Services) -> None:
    report = check(filled)
    assert report.ok and report.problems == [], report.summary()
    assert report.artifacts == 9  # three versions, three files each
    assert report.lists == 3  # the pseudo-version's module has an empty list
    assert report.hashed_bytes > 0
    assert filled.store.read_list("depot.test/pseudo") == []  # pseudo-versions are not listed
    done = fsck_cli(filled)
    assert done.exit_code == 0, done.output
    assert "database and store agree" in done.output
    as_json = json.loads(fsck_cli(filled, "--json").output)
    assert as_json["ok"] is True and as_json["artifacts"] == 9


def test_a_changed_byte_is_found(filled: Services) -> None:
    target = store_root(filled) / C_DIR / "v1.0.0.zip"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size, one bit different
    target.write_bytes(bytes(data))
    report = check(filled)
    assert kinds(report) == {"sha256": 1}
    assert report.errors[0].key == f"{C_DIR}/v1.0.0.zip"
    done = fsck_cli(filled)
    assert done.exit_code == 1
    assert "error: 1 sha256" in done.output and f"{C_DIR}/v1.0.0.zip" in done.output
    assert "DISAGREE" in done.output
    assert kinds(check(filled, hash_files=False)) == {}  # --quick compares sizes only


def test_a_missing_file_is_found(filled: Services) -> None:
    (store_root(filled) / C_DIR / "v1.0.0.mod").unlink()
    report = check(filled)
    assert kinds(report) == {"missing": 1}
    assert report.errors[0].key == f"{C_DIR}/v1.0.0.mod"
    (store_root(filled) / "depot.test/chain/b/@v/v1.0.0.info").write_bytes(b"{}")
    assert kinds(check(filled)) == {"missing": 1, "size": 1}


def test_a_list_naming_an_unpublished_version_is_found_and_repaired(filled: Services) -> None:
    filled.store.set_list("depot.test/chain/c", ["v1.0.0", "v1.9.0"])
    filled.store.set_list("depot.test/chain/b", [])
    report = check(filled)
    assert kinds(report) == {"list_extra": 1, "list_missing": 1}
    details = {p.kind: (p.key, p.detail) for p in report.problems}
    assert details["list_extra"][0] == f"{C_DIR}/list" and "v1.9.0" in details["list_extra"][1]
    assert "v1.0.0" in details["list_missing"][1]
    done = fsck_cli(filled, "--json")
    assert done.exit_code == 1
    assert {p["kind"] for p in json.loads(done.output)["problems"]} == {
        "list_extra", "list_missing"}
    repaired = check(filled, repair=True)
    assert len(repaired.repaired) == 2
    assert check(filled).ok
    assert filled.store.read_list("depot.test/chain/c") == ["v1.0.0"]
    assert filled.store.read_list("depot.test/chain/b") == ["v1.0.0"]


def test_a_file_no_row_knows_is_an_orphan_not_an_error(filled: Services) -> None:
    filled.store.put_bytes("depot.test/ghost", "v1.0.0", "zip", b"stored before a crash")
    report = check(filled)
    assert report.ok
    assert kinds(report) == {"orphan": 1}
    assert report.problems[0].key == "depot.test/ghost/@v/v1.0.0.zip"
    done = fsck_cli(filled)
    assert done.exit_code == 0 and "notice: 1 orphan" in done.output
    check(filled, repair=True)
    assert filled.store.stat("depot.test/ghost", "v1.0.0", "zip") is not None  # kept


def test_a_stale_temporary_file_is_found_and_repair_removes_only_old_ones(
    filled: Services,
) -> None:
    tmp = store_root(filled) / ".tmp"
    (tmp / "0123abcd").write_bytes(b"half a zip")
    hour_ago = time.time() - 3600
    os.utime(tmp / "0123abcd", (hour_ago, hour_ago))
    (tmp / "4567ef01").write_bytes(b"a write in progress")
    report = check(filled)
    assert report.ok and kinds(report) == {"tmp_leftover": 2}
    assert {p.key for p in report.problems} == {".tmp/0123abcd", ".tmp/4567ef01"}
    done = fsck_cli(filled, "--repair", "--tmp-age", "600")
    assert done.exit_code == 0, done.output
    assert "repaired: .tmp/0123abcd removed" in done.output
    assert sorted(p.name for p in tmp.iterdir()) == ["4567ef01"]
    assert check(filled).ok


def test_work_folders_of_killed_jobs_are_found_and_repair_removes_only_theirs(
    services: Services, tmp_path: Path
) -> None:
    """A job killed mid-download leaves its work folder (its module cache) under the data
    dir: a notice, removed by --repair. A job still running beside fsck keeps its own."""
    killed, running = "depot.test/stuck/killed", "depot.test/stuck/running"
    tree = upstream_of(tmp_path / "upstream", [fixture_module(killed, "v1.0.0"),
                                               fixture_module(running, "v1.0.0")])
    data_dir = services.settings.data_dir
    with CountingUpstream(tree.root) as up:
        env = settings_env(replace(services.settings, upstream=up.url, gosumdb="off"))
        dead, left = start_stuck_ingest(env, data_dir, killed, up)
        kill_group(dead)
        live, in_use = start_stuck_ingest(env, data_dir, running, up)
        try:
            report = check(services)
            assert report.ok and kinds(report) == {"work_leftover": 1}, report.summary()
            assert report.problems[0].key == f"work/{left.name}"
            assert "left by a killed job" in report.problems[0].detail
            done = fsck_cli(services, "--repair")
            assert done.exit_code == 0, done.output
            assert f"repaired: work/{left.name} removed" in done.output
            assert not left.exists()
            assert in_use.exists() and live.poll() is None  # in use: neither told nor touched
            assert check(services).problems == []
        finally:
            kill_group(live)
    assert kinds(check(services)) == {"work_leftover": 1}  # now it is a killed job's too


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_on_s3_the_same_problems_are_found(settings: Settings, s3_env: str) -> None:
    """The checks go through the store interface: an S3 bucket (the real test server)."""
    bucket = create_bucket(s3_env)
    on_s3 = replace(settings, store_url=f"s3://{bucket}/depot", s3_endpoint=s3_env)
    svc = Services.from_settings(on_s3)
    upgrade(svc.db.engine)
    try:
        assert ingest(svc, "depot.test/chain/b", "v1.0.0", deps=True).ok
        assert check(svc).ok and check(svc).artifacts == 6
        client = svc.store.client  # type: ignore[attr-defined]
        zip_key = f"depot/{C_DIR}/v1.0.0.zip"
        body = bytearray(client.get_object(Bucket=bucket, Key=zip_key)["Body"].read())
        body[10] ^= 0x01
        client.put_object(Bucket=bucket, Key=zip_key, Body=bytes(body))
        client.delete_object(Bucket=bucket, Key=f"depot/{C_DIR}/v1.0.0.mod")
        svc.store.put_bytes("depot.test/ghost", "v1.0.0", "info", b"{}")
        svc.store.set_list("depot.test/chain/c", ["v1.0.0", "v2.0.0"])
        report = check(svc)
        assert kinds(report) == {"list_extra": 1, "missing": 1, "orphan": 1, "sha256": 1}
        assert {p.key for p in report.errors} == {
            f"{C_DIR}/v1.0.0.zip", f"{C_DIR}/v1.0.0.mod", f"{C_DIR}/list"}
    finally:
        svc.store.close()
        svc.db.dispose()
