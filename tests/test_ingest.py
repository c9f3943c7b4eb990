"""Ingest with the real toolchain from the fixture upstream, verified by the fixture sumdb."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from app.ingest import InvalidRequest, ingest
from app.models import (
    Artifact,
    ArtifactKind,
    Drift,
    DriftKind,
    LicenseFile,
    Module,
    ModuleVersion,
    Requirement,
    Retraction,
    VersionState,
)
from app.resources import Services
from app.store import FilesystemStore
from tests.fixtures.receiver import Receiver, receiver  # noqa: F401 (fixture)
from tests.fixtures.upstream import PSEUDO_VERSION, Upstream, module_files, retag


def _row(services: Services, path: str, version: str) -> ModuleVersion | None:
    with services.db.session() as s:
        return s.scalar(
            select(ModuleVersion)
            .join(Module)
            .where(Module.path == path, ModuleVersion.version == version)
        )


def _store_files(services: Services) -> list[str]:
    assert isinstance(services.store, FilesystemStore)
    root = services.store.root
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".tmp" not in p.parts
    )


def test_ingest_with_deps_stores_the_whole_build_list(services: Services, upstream: Upstream):
    report = ingest(services, "depot.test/chain/a", "v1.1.0", deps=True)
    assert report.ok, report.outcomes
    assert {(o.path, o.version, o.status) for o in report.outcomes} == {
        ("depot.test/chain/a", "v1.1.0", "published"),
        ("depot.test/chain/b", "v1.0.0", "published"),
        ("depot.test/chain/c", "v1.0.0", "published"),
    }
    for path in ("a", "b", "c"):
        version = "v1.1.0" if path == "a" else "v1.0.0"
        mod = upstream.module(f"depot.test/chain/{path}", version)
        stored = services.store.read_bytes(mod.path, version, "zip")
        assert stored == mod.zip_bytes()
    with services.db.session() as s:
        row = s.scalar(
            select(ModuleVersion).join(Module).where(Module.path == "depot.test/chain/a")
        )
        assert row.state == VersionState.published and row.go_version == "1.21"
        assert row.readme_name == "README.md"
        assert [lf.name for lf in s.scalars(select(LicenseFile).where(
            LicenseFile.version_id == row.id))] == ["LICENSE"]
        reqs = {(r.path, r.required_version, r.indirect) for r in s.scalars(
            select(Requirement).where(Requirement.version_id == row.id))}
        assert reqs == {
            ("depot.test/chain/b", "v1.0.0", False),
            ("depot.test/chain/c", "v1.0.0", True),
        }
        arts = {a.kind: a for a in s.scalars(select(Artifact).where(Artifact.version_id == row.id))}
        zip_bytes = upstream.module("depot.test/chain/a", "v1.1.0").zip_bytes()
        assert arts[ArtifactKind.zip].sha256 == hashlib.sha256(zip_bytes).hexdigest()
        assert arts[ArtifactKind.zip].h1.startswith("h1:")
        assert arts[ArtifactKind.mod].h1.startswith("h1:")


def test_second_ingest_makes_no_upstream_call(services: Services):
    assert ingest(services, "depot.test/chain/a", "v1.1.0", deps=True).ok
    # No upstream and no checksum database at all now: everything must come from Depot.
    offline = replace(services, settings=replace(
        services.settings, upstream="off", gosumdb="depot.test.sumdb+00000000+AAAA http://127.0.0.1:9"
    ))
    plain = ingest(offline, "depot.test/chain/a", "v1.1.0")
    assert not plain.upstream_called and plain.ok
    assert [o.status for o in plain.outcomes] == ["present"]
    with_deps = ingest(offline, "depot.test/chain/a", "v1.1.0", deps=True)
    assert with_deps.ok, with_deps.outcomes
    assert {o.status for o in with_deps.outcomes} == {"present"}


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("depot.test/MixedCase/Lib", "v1.2.0"),
        ("depot.test/major/v2", "v2.1.0"),
        ("depot.test/legacy", "v2.0.0+incompatible"),
        ("depot.test/pseudo", PSEUDO_VERSION),
    ],
)
def test_ingest_special_versions(services: Services, upstream: Upstream, path: str, version: str):
    report = ingest(services, path, version)
    assert [o.status for o in report.outcomes] == ["published"], report.outcomes
    assert services.store.read_bytes(path, version, "mod") == upstream.module(path, version).go_mod
    row = _row(services, path, version)
    assert row is not None and row.state == VersionState.published
    assert row.is_pseudo == (version == PSEUDO_VERSION)


def test_latest_resolves_and_records_retractions_and_deprecation(services: Services):
    report = ingest(services, "depot.test/retract", "latest")
    assert report.target and report.target.version == "v1.1.0"
    with services.db.session() as s:
        row = s.scalar(
            select(ModuleVersion).join(Module).where(Module.path == "depot.test/retract")
        )
        retracts = s.scalars(select(Retraction).where(Retraction.version_id == row.id)).all()
        assert [(r.low, r.high, r.rationale) for r in retracts] == [
            ("v1.0.1", "v1.0.1", "broken release")
        ]
    ingest(services, "depot.test/deprecated", "v1.0.0")
    row = _row(services, "depot.test/deprecated", "v1.0.0")
    assert row.deprecated == "use depot.test/chain/a instead."


@pytest.mark.parametrize(
    ("path", "query", "reason"),
    [
        ("Depot.test/x", "v1.0.0", "malformed module path"),
        ("depot.test/x/../y", "v1.0.0", "malformed module path"),
        ("depot.test/major/v2", "v1.0.0", "should be v2"),
        ("depot.test/x", "v1.0", "not a canonical version"),
        ("depot.test/x", "master", "not a canonical version"),
    ],
)
def test_invalid_requests_are_refused_before_any_work(
    services: Services, path: str, query: str, reason: str
):
    with pytest.raises(InvalidRequest, match=reason):
        ingest(services, path, query)
    assert _store_files(services) == []


def test_unknown_module_is_not_found_and_nothing_recorded(services: Services):
    report = ingest(services, "depot.test/nope", "v1.0.0")
    assert [o.status for o in report.outcomes] == ["not_found"]
    assert "no such file" in report.outcomes[0].reason or "not found" in report.outcomes[0].reason
    assert _row(services, "depot.test/nope", "v1.0.0") is None
    assert _store_files(services) == []


def test_lying_upstream_is_refused_and_nothing_partial_is_left(
    services: Services, fresh_upstream: Upstream
):
    """The upstream serves a zip whose hash differs from the checksum database's."""
    retag(fresh_upstream.root, "depot.test/chain/c", "v1.0.0",
          module_files("depot.test/chain/c", "v1.0.0") | {"evil.go": b"package c\n"})
    svc = replace(services, settings=replace(services.settings, upstream=fresh_upstream.url))
    report = ingest(svc, "depot.test/chain/c", "v1.0.0")
    outcome = report.outcomes[0]
    assert outcome.status == "rejected"
    assert "checksum mismatch" in outcome.reason
    assert _store_files(svc) == []
    row = _row(svc, "depot.test/chain/c", "v1.0.0")
    assert row.state == VersionState.rejected and "SECURITY ERROR" in row.reason


def test_retagged_upstream_after_capture_is_drift_and_original_kept(
    services: Services, fresh_upstream: Upstream, receiver: Receiver  # noqa: F811
):
    """A private upstream (no checksum database) force-pushes a tag after Depot captured it."""
    svc = replace(services, settings=replace(
        services.settings, upstream=fresh_upstream.url, gosumdb="off",
        notify_webhooks=receiver.url("/hooks/drift"),
    ))
    original = fresh_upstream.module("depot.test/chain/c", "v1.0.0").zip_bytes()
    assert ingest(svc, "depot.test/chain/c", "v1.0.0").ok
    retag(fresh_upstream.root, "depot.test/chain/c", "v1.0.0",
          module_files("depot.test/chain/c", "v1.0.0") | {"changed.go": b"package c\n"})
    report = ingest(svc, "depot.test/chain/c", "v1.0.0", refetch=True)
    assert [o.status for o in report.outcomes] == ["drift"]
    assert svc.store.read_bytes("depot.test/chain/c", "v1.0.0", "zip") == original
    with svc.db.session() as s:
        drifts = s.scalars(select(Drift)).all()
        assert [(d.module_path, d.version, d.kind) for d in drifts] == [
            ("depot.test/chain/c", "v1.0.0", DriftKind.zip)
        ]
        assert drifts[0].stored_sha256 == hashlib.sha256(original).hexdigest()
        assert drifts[0].upstream_sha256 != drifts[0].stored_sha256
    assert _row(svc, "depot.test/chain/c", "v1.0.0").state == VersionState.published
    alerts = json.dumps(receiver.bodies("/hooks/drift"))
    assert "drift" in alerts.lower() and drifts[0].stored_sha256 in alerts


def test_retag_refused_by_the_checksum_database_on_refetch_is_alerted(
    services: Services, fresh_upstream: Upstream, receiver: Receiver  # noqa: F811
):
    """With checksums verified the go command refuses the moved tag: no drift row (Depot
    never sees the bytes), but a critical checksum_mismatch reaches the webhooks."""
    svc = replace(services, settings=replace(
        services.settings, upstream=fresh_upstream.url,
        notify_webhooks=receiver.url("/hooks/mismatch"),
    ))
    original = fresh_upstream.module("depot.test/chain/c", "v1.0.0").zip_bytes()
    assert ingest(svc, "depot.test/chain/c", "v1.0.0").ok
    retag(fresh_upstream.root, "depot.test/chain/c", "v1.0.0",
          module_files("depot.test/chain/c", "v1.0.0") | {"changed.go": b"package c\n"})
    [outcome] = ingest(svc, "depot.test/chain/c", "v1.0.0", refetch=True).outcomes
    assert outcome.status == "present" and "checksum mismatch" in outcome.reason
    assert svc.store.read_bytes("depot.test/chain/c", "v1.0.0", "zip") == original
    with svc.db.session() as s:
        assert s.scalars(select(Drift)).all() == []
    alerts = json.dumps(receiver.bodies("/hooks/mismatch"))
    assert "Checksum mismatch: depot.test/chain/c@v1.0.0" in alerts


def test_zip_breaking_the_rules_is_rejected_with_reason(
    services: Services, fresh_upstream: Upstream, tmp_path: Path
):
    """A module whose go.mod names another module: go itself refuses it; reason recorded."""
    from tests.fixtures.upstream import FixtureModule, write_module

    files = module_files("depot.test/liar", "v1.0.0")
    files["go.mod"] = b"module depot.test/somebody/else\n\ngo 1.21\n"
    write_module(fresh_upstream.root, FixtureModule("depot.test/liar", "v1.0.0", files))
    svc = replace(services, settings=replace(
        services.settings, upstream=fresh_upstream.url, gosumdb="off"
    ))
    report = ingest(svc, "depot.test/liar", "v1.0.0")
    outcome = report.outcomes[0]
    assert outcome.status == "rejected", outcome
    assert "depot.test/somebody/else" in outcome.reason
    assert _store_files(svc) == []


def test_info_time_beyond_the_capture_is_rejected_and_nothing_kept(
    services: Services, fresh_upstream: Upstream
):
    """An upstream .info dated 9999-12-31T23:59:59-23:59 (it earned full release recency
    in the insight score): the capture is refused with a reason naming the module, the
    version and the time, and nothing of the version is stored."""
    from tests.fixtures.upstream import FixtureModule, write_module

    absurd = "9999-12-31T23:59:59-23:59"
    write_module(fresh_upstream.root, FixtureModule(
        "depot.test/future", "v1.0.0", module_files("depot.test/future", "v1.0.0"),
        info_time=absurd))
    svc = replace(services, settings=replace(
        services.settings, upstream=fresh_upstream.url, gosumdb="off"
    ))
    [outcome] = ingest(svc, "depot.test/future", "v1.0.0").outcomes
    assert outcome.status == "rejected", outcome
    assert "depot.test/future@v1.0.0" in outcome.reason and absurd in outcome.reason
    assert _store_files(svc) == []
    row = _row(svc, "depot.test/future", "v1.0.0")
    assert row.state == VersionState.rejected and row.reason == outcome.reason
    assert row.time is None
    with svc.db.session() as s:
        assert s.scalars(select(Artifact).where(Artifact.version_id == row.id)).all() == []
