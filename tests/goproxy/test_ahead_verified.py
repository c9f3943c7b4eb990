"""Graph loads ahead of a client with a checksum database (the default): the go command
loads the graph and verifies every go.mod, Depot fetches the zips itself and keeps
each only when it hashes to the database's record (app/fetch/verified.py), checked
and judged in a process of their own (app/fetch/zipchecker.py,
app/pipeline/zipjudge.judge_fetched). The fixture checksum database vouches for the
standard fixture modules."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import Settings
from app.fetch import ahead, zipchecker
from app.gomod.h1 import hash_zip
from app.gomod.paths import escape_path, escape_version
from app.models import GraphMod, VersionState
from app.pipeline import gate, zipjudge
from app.pipeline.capture import get_version
from tests.conftest import make_app
from tests.fixtures.counting_upstream import CountingUpstream
from tests.fixtures.upstream import Upstream, module_files, retag
from tests.goproxy.test_ahead import loads_ended

A, B, C = "depot.test/chain/a", "depot.test/chain/b", "depot.test/chain/c"
CHAIN = [(A, "v1.0.0"), (B, "v1.0.0"), (C, "v1.0.0")]


def _path(module: str, version: str, kind: str) -> str:
    return f"/{escape_path(module)}/@v/{escape_version(version)}.{kind}"


def _logging_go(settings: Settings, tmp_path: Path) -> tuple[Path, Path]:
    """A go command that notes its arguments in a file, and that file."""
    seen = tmp_path / "commands"
    wrapper = tmp_path / "go"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{seen}"\nexec "{settings.go_bin}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, seen


def _run(settings: Settings, name: str, checks: zipchecker.Checks | None = None
         ) -> tuple[list[dict], str, list[str], dict]:
    """A load of A's graph: its entries, its problem, what its module cache holds
    beside the download cache (unpacked modules), and the verdicts kept beside it."""
    loading = ahead.Loading(settings, name)
    try:
        entries, problem = loading.run(A, "v1.0.0", zips_max=64, checks=checks)
        unpacked = sorted(p.name for p in loading.load.modcache.iterdir() if p.name != "cache")
        verdicts = {key: json.loads(loading.load.gate_file(*key).read_text())
                    for key in CHAIN if loading.load.gate_file(*key).exists()}
    finally:
        loading.close()
    return entries, problem, unpacked, verdicts


def test_the_load_fetches_each_zip_itself_once_and_unpacks_none(
    settings: Settings, upstream: Upstream, tmp_path: Path
) -> None:
    wrapper, seen = _logging_go(settings, tmp_path)
    with CountingUpstream(upstream.root) as up:
        fetching = replace(settings, upstream=up.url, go_bin=str(wrapper))
        entries, problem, unpacked, verdicts = _run(fetching, "fetched")
        for module, version in CHAIN:
            assert up.count(_path(module, version, "zip")) == 1, up.counts()
    assert problem == ""
    assert sorted((e["Path"], e["Version"]) for e in entries) == CHAIN
    for entry in entries:
        truth = upstream.module(entry["Path"], entry["Version"]).zip_bytes()
        assert Path(entry["Zip"]).name.endswith(".zip")
        assert entry["Sum"] == hash_zip(io.BytesIO(truth))
    assert unpacked == [], "the load unpacked modules"
    commands = seen.read_text()
    assert "list -m -json all" in commands and "mod download" not in commands, commands
    assert verdicts == {}  # the default checks judge nothing


def test_a_zip_the_checksum_database_does_not_vouch_for_is_never_placed(
    settings: Settings, fresh_upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    """C's zip is changed upstream after the database recorded it: Depot's own fetch
    is refused, the go command gets it after all and refuses it too, and it is never
    in the load for a client (its miss then goes to the capture, which says why)."""
    retag(fresh_upstream.root, C, "v1.0.0",
          module_files(C, "v1.0.0") | {"evil.go": b"package c\n"})
    entries, problem, _unpacked, _verdicts = _run(
        replace(settings, upstream=fresh_upstream.url), "lied")
    assert sorted((e["Path"], e["Version"]) for e in entries) == CHAIN[:2]
    assert "SECURITY ERROR" in problem, problem
    assert f"{C}@v1.0.0: the upstream's zip hashes to" in caplog.text


def test_the_gates_verdicts_come_from_the_checks_process(
    settings: Settings, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the gate's checks every zip is judged where it is checked (here: each in
    the child), the verdict kept before the zip is in place; it is the verdict the web
    processes would give (app/pipeline/gate.judge_ahead)."""
    monkeypatch.setattr(zipchecker, "IN_PROCESS_MAX", -1)
    checks = zipchecker.Checks(zipjudge.__name__, zipjudge.judge_fetched,
                               {"license_allow": settings.license_allow})
    loading = ahead.Loading(replace(settings, upstream=upstream.url), "judged")
    try:
        entries, problem = loading.run(A, "v1.0.0", zips_max=64, checks=checks)
        assert problem == ""
        for entry in entries:
            kept = json.loads(loading.load.gate_file(entry["Path"], entry["Version"])
                              .read_text())
            assert kept == asdict(gate.judge_ahead(settings, entry))
            assert kept["served"] is True
            assert kept["sha256"] == hashlib.sha256(Path(entry["Zip"]).read_bytes()).hexdigest()
    finally:
        loading.close()


def test_judged_in_the_checks_process_a_refused_license_is_not_served(
    settings: Settings, upstream: Upstream, tmp_path: Path
) -> None:
    """An allow-list without the fixture's license: each zip is still checked and kept
    (verified), its verdict says not to serve it before its capture."""
    path = tmp_path / "a.zip"
    path.write_bytes(upstream.module(A, "v1.0.0").zip_bytes())
    info = tmp_path / "a.info"
    info.write_bytes(upstream.module(A, "v1.0.0").info)
    request = {"path": str(path), "module": A, "version": "v1.0.0", "info": str(info)}
    allowed = zipjudge.judge_fetched({**request, "license_allow": settings.license_allow})
    refused = zipjudge.judge_fetched({**request, "license_allow": "0BSD"})
    assert allowed["verdict"]["served"] is True
    assert refused == {"h1": allowed["h1"], "verdict": {"served": False, "sha256": "",
                                                        "size": 0}}


def test_a_cold_walk_is_answered_from_a_verified_load(
    queued_settings: Settings, upstream: Upstream
) -> None:
    """Through the app: each go.mod comes from the load as the go command verified it
    (kept as a graph file once the zips are in), each .info and .zip from what the load
    fetched, and every version is captured from those files afterwards."""
    with CountingUpstream(upstream.root) as up:
        fetching = replace(queued_settings, upstream=up.url, on_miss="fetch")
        app = make_app(fetching)
        try:
            client = app.test_client()
            for module, version in CHAIN:
                resp = client.get(_path(module, version, "mod"))
                assert resp.status_code == 200, resp.get_data(as_text=True)
                assert resp.get_data() == upstream.module(module, version).go_mod
            for module, version in CHAIN:
                for kind in ("info", "zip"):
                    resp = client.get(_path(module, version, kind))
                    assert resp.status_code == 200, resp.get_data(as_text=True)
                truth = upstream.module(module, version).zip_bytes()
                assert resp.get_data() == truth
            loads_ended(fetching)
            with app.extensions["depot"].db.session() as session:
                for module, version in CHAIN:
                    row = get_version(session, module, version)
                    assert row is not None and row.state == VersionState.captured, module
                kept = set(session.scalars(select(GraphMod.module_path)))
            assert {B, C} <= kept
            for module, version in CHAIN:
                assert up.count(_path(module, version, "zip")) == 1, up.counts()
        finally:
            app.extensions["depot"].db.dispose()

