"""Each upstream file once per capture (issue 19, defect 8): what a build list's go
command fetched is handed to its members' process jobs (app/fetch/handoff.py)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from app.fetch import handoff
from app.fetch.errors import FetchError
from app.ingest import ingest
from app.models import VersionState
from app.pipeline.buildlist import BuildList
from app.pipeline.capture import get_version
from app.pipeline.inline import InlineDispatcher
from app.pipeline.stages import Pipeline, buildlists
from app.resources import Services
from tests.fixtures.counting_upstream import CountingUpstream
from tests.fixtures.upstream import Upstream

# Files and the go command, not the database: one backend (the suite's time is bounded).
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


@pytest.fixture
def counted(services: Services, upstream: Upstream) -> Iterator[CountingUpstream]:
    """``services`` on an HTTP upstream that counts every file asked, checksums verified
    by the fixture checksum database."""
    with CountingUpstream(upstream.root) as up:
        services.settings = replace(services.settings, upstream=up.url)
        yield up


def module_files(up: CountingUpstream) -> dict[str, int]:
    return {path: n for path, n in up.counts().items() if "/@v/v" in path}


def test_an_ingest_with_its_dependencies_fetches_each_file_once(services: Services,
                                                                counted: CountingUpstream):
    report = ingest(services, "depot.test/chain/a", "v1.1.0", deps=True)
    assert [o.status for o in report.outcomes] == ["published"] * 3
    fetched = module_files(counted)
    # Before: chain/b's files twice each, chain/c's .info and .mod three times, its zip
    # twice (the build list's go command, then each member's process job and build list).
    assert set(fetched.values()) == {1}, fetched
    assert {p.rsplit("/@v/", 1)[0] for p in fetched} == {
        "/depot.test/chain/a", "/depot.test/chain/b", "/depot.test/chain/c"}
    # Each captured version's files stay AFTER_CAPTURE seconds more, then leave.
    folder = handoff.folder(services.settings)
    assert [p for p in folder.rglob("*") if p.is_file()]
    handoff.sweep(services.settings, keep=handoff.KEEP - handoff.AFTER_CAPTURE - 60)
    assert not [p for p in folder.rglob("*") if p.is_file()]


def test_a_handed_off_file_is_verified_like_any_download(services: Services,
                                                         counted: CountingUpstream,
                                                         upstream: Upstream):
    """A file in the handoff folder that is not what the checksum database vouches for is
    refused by the go command; Depot drops it and downloads from the upstream."""
    module, version = "depot.test/chain/c", "v1.0.0"
    vdir = handoff.folder(services.settings) / "depot.test" / "chain" / "c" / "@v"
    vdir.mkdir(parents=True)
    real = upstream.module(module, version)
    (vdir / f"{version}.info").write_bytes(real.info)
    (vdir / f"{version}.mod").write_bytes(real.go_mod + b"// tampered\n")
    report = ingest(services, module, version)
    assert report.outcomes[0].status == "published", report.outcomes
    held = services.store.read_bytes(module, version, "mod")
    assert held == real.go_mod
    assert module_files(counted)[f"/{module}/@v/{version}.mod"] == 1


def test_offer_hands_whole_files_and_captured_take_and_sweep_remove_them(services: Services,
                                                                tmp_path: Path):
    settings = services.settings
    cache = tmp_path / "modcache" / "cache" / "download" / "example.com" / "!m" / "@v"
    cache.mkdir(parents=True)
    for suffix in handoff.SUFFIXES:
        (cache / f"v1.0.0{suffix}").write_text(suffix)
    assert handoff.offer(settings, tmp_path / "modcache",
                         [("example.com/M", "v1.0.0"), ("example.com/absent", "v1.0.0")]) == 3
    assert handoff.offer(settings, tmp_path / "modcache", [("example.com/M", "v1.0.0")]) == 0
    kept = handoff.folder(settings) / "example.com" / "!m" / "@v"
    assert sorted(p.name for p in kept.iterdir()) == ["v1.0.0.info", "v1.0.0.mod", "v1.0.0.zip"]
    assert handoff.goproxy(settings, "https://up.example").startswith("file://")
    handoff.captured(settings, "example.com/M", "v1.0.0")
    assert handoff.sweep(settings, keep=handoff.KEEP - handoff.AFTER_CAPTURE + 60) == 0
    assert handoff.sweep(settings, keep=handoff.KEEP - handoff.AFTER_CAPTURE - 60) == 3
    handoff.offer(settings, tmp_path / "modcache", [("example.com/M", "v1.0.0")])
    handoff.take(settings, "example.com/M", "v1.0.0")
    assert not list(kept.iterdir())
    handoff.offer(settings, tmp_path / "modcache", [("example.com/M", "v1.0.0")])
    old = time.time() - handoff.KEEP - 1
    os.utime(kept / "v1.0.0.zip", (old, old))
    handoff.locks(settings).mkdir(parents=True)
    stale, fresh = handoff.locks(settings) / "a.lock", handoff.locks(settings) / "b.lock"
    stale.touch()
    fresh.touch()
    os.utime(stale, (old, old))
    assert handoff.sweep(settings) == 1
    assert [p.name for p in handoff.locks(settings).iterdir()] == ["b.lock"]
    assert sorted(p.name for p in kept.iterdir()) == ["v1.0.0.info", "v1.0.0.mod"]
    handoff.take(settings, "example.com/M", "v1.0.0")
    handoff.sweep(settings)
    assert list(handoff.folder(settings).iterdir()) == []  # emptied folders go too


def test_a_build_list_that_a_handed_off_file_breaks_is_worked_out_again(
        services: Services, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch):
    """The go command refuses a handed-off file (the real refusal is the test above):
    the build list is worked out again from the upstream, the folder emptied."""
    handoff.folder(services.settings).mkdir(parents=True)
    asked: list[str] = []

    def build_list(settings, workdir, module, version, goproxy, sums, tidy):  # type: ignore[no-untyped-def]
        asked.append(goproxy)
        if len(asked) == 1:
            raise FetchError("checksum mismatch with the checksum database: depot.test/x")
        return BuildList([("depot.test/chain/c", "v1.0.0")])

    monkeypatch.setattr(buildlists, "build_list", build_list)
    pipeline = Pipeline(services, InlineDispatcher(services))
    with caplog.at_level(logging.WARNING, logger="depot.pipeline"):
        members = pipeline._build_list("depot.test/chain/b", "v1.0.0", tidy=False)
    assert members.selected == [("depot.test/chain/c", "v1.0.0")]
    assert "again without handed-off files" in caplog.text
    assert handoff.folder(services.settings).resolve().as_uri() in asked[0]
    assert "handoff" not in asked[1]
    assert not handoff.folder(services.settings).exists()


def test_two_build_lists_at_once_fetch_each_file_once(services: Services,
                                                       counted: CountingUpstream):
    """Two requests whose trees share members, worked out at the same moment: each file
    once in all (before the relay, app/fetch/relay.py: twice, and 3-4 times before the
    handoff)."""
    counted.set_delay(0.1)  # both go commands ask while the other's fetches run
    outcomes: dict[str, list[str]] = {}

    def one(version: str) -> None:
        report = ingest(Services.from_settings(services.settings), "depot.test/chain/a",
                        version, deps=True)
        outcomes[version] = [o.status for o in report.outcomes]

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, ["v1.0.0", "v1.1.0"]))
    # A member the other request was validating at that moment may be reported so.
    assert all(set(statuses) <= {"published", "validating"} for statuses in outcomes.values())
    with services.db.session() as session:
        for module, version in [("depot.test/chain/a", "v1.0.0"), ("depot.test/chain/a", "v1.1.0"),
                                ("depot.test/chain/b", "v1.0.0"), ("depot.test/chain/c", "v1.0.0")]:
            assert get_version(session, module, version).state == VersionState.published
    fetched = module_files(counted)
    assert set(fetched.values()) == {1}, fetched
    assert "/depot.test/chain/c/@v/v1.0.0.mod" in fetched
