"""The drift sweep end to end, in-process: real publications from a local upstream,
then the upstream re-tags one version, deletes another and leaves a third alone; the
sweep (the job's own function) records the right outcomes, notifies each finding once
(a real webhook receiver), and Depot keeps serving the bytes it captured. The API, the
CLI and the module page show it. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

from sqlalchemy import func, select

from app.config import REPO_ROOT
from app.drift.sweep import check_module, sweep
from app.ingest import ingest
from app.models import Drift, DriftCheck, DriftKind, DriftOutcome
from app.resources import Services
from tests.chaos.test_single_flight import file_path
from tests.conftest import make_app, settings_env
from tests.drift.helpers import (
    CHANGED,
    DELETED,
    HOOK,
    SAME,
    delete_version,
    force_push,
    on_private_upstream,
)
from tests.fixtures.receiver import Receiver, receiver  # noqa: F401 (fixture)
from tests.fixtures.upstream import Upstream, fixture_module, write_module


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _outcomes(results) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    return {(r.module, r.version): r.outcome.value for r in results}


def drift_alerts(rec: Receiver) -> list[dict]:
    """The upstream_drift webhooks received (publications are announced too)."""
    return [b for b in rec.bodies(HOOK) if "] Upstream " in b["text"]]


def _counts(svc: Services) -> tuple[int, int]:
    with svc.db.session() as s:
        return (s.scalar(select(func.count()).select_from(DriftCheck)),
                s.scalar(select(func.count()).select_from(Drift)))


def drift_cli(svc: Services, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "drift", "check", *args],
        cwd=REPO_ROOT, env=settings_env(svc.settings), capture_output=True, text=True,
        timeout=600,
    )


def test_sweep_finds_retag_and_deletion_keeps_serving_and_notifies_once(
    services: Services, fresh_upstream: Upstream, receiver: Receiver  # noqa: F811
):
    svc = on_private_upstream(services, fresh_upstream, gosumdb="off",
                              notify_webhooks=receiver.url(HOOK))
    for module, version in (CHANGED, DELETED, SAME):
        assert ingest(svc, module, version).ok
    app = make_app(svc.settings)
    client = app.test_client()
    captured = {k: client.get(file_path(*CHANGED, k)).data for k in ("info", "mod", "zip")}

    # Never-checked versions first, then the least recently checked.
    first = sweep(svc, 2)
    assert [(r.module, r.version) for r in first] == [CHANGED, DELETED]
    second = sweep(svc, 2)
    assert [(r.module, r.version) for r in second] == [SAME, CHANGED]
    assert {r.outcome for r in first + second} == {DriftOutcome.same}
    assert drift_alerts(receiver) == []

    force_push(fresh_upstream, *CHANGED)
    delete_version(fresh_upstream, *DELETED)
    found = _outcomes(sweep(svc, 10))
    assert found == {CHANGED: "differs", DELETED: "gone", SAME: "same"}
    with svc.db.session() as s:
        rows = {(d.module_path, d.kind): d for d in s.scalars(select(Drift))}
        assert set(rows) == {(CHANGED[0], DriftKind.zip), (DELETED[0], DriftKind.gone)}
        moved = rows[(CHANGED[0], DriftKind.zip)]
        assert moved.stored_sha256 == _sha(captured["zip"])
        assert moved.upstream_sha256 == _sha(fresh_upstream.root.joinpath(
            file_path(*CHANGED, "zip").lstrip("/")).read_bytes())
        assert moved.stored_h1.startswith("h1:") and moved.upstream_h1.startswith("h1:")
        assert moved.stored_h1 != moved.upstream_h1
    alerts = drift_alerts(receiver)
    assert len(alerts) == 2, receiver.bodies(HOOK)
    texts = json.dumps(alerts)
    assert "Upstream drift: depot.test/chain/c@v1.0.0 .zip" in texts
    assert "Upstream gone: depot.test/retract@v1.0.0" in texts

    # The next sweep sees the same: recorded as checks, not as new findings or alerts.
    checks, drifts = _counts(svc)
    assert _outcomes(sweep(svc, 10)) == found
    assert _counts(svc) == (checks + 3, drifts)
    assert len(drift_alerts(receiver)) == 2

    # Depot serves what it captured, the deleted version too, from the store untouched.
    for kind, data in captured.items():
        assert client.get(file_path(*CHANGED, kind)).data == data
    assert svc.store.read_bytes(*CHANGED, "zip") == captured["zip"]
    assert client.get(file_path(*DELETED, "zip")).status_code == 200

    # The JSON API.
    body = client.get(f"/api/v1/modules/{CHANGED[0]}?version={CHANGED[1]}").get_json()
    up = body["upstream"]
    assert up["drifted"] and up["outcome"] == "differs" and up["captured_at"]
    assert [d["kind"] for d in up["drifts"]] == ["zip"]
    assert up["drifts"][0]["stored_sha256"] == _sha(captured["zip"])
    gone = client.get(f"/api/v1/modules/{DELETED[0]}?version={DELETED[1]}").get_json()
    assert gone["upstream"]["outcome"] == "gone"
    assert [d["kind"] for d in gone["upstream"]["drifts"]] == ["gone"]
    calm = client.get(f"/api/v1/modules/{SAME[0]}").get_json()["upstream"]
    assert calm["outcome"] == "same" and not calm["drifted"] and calm["drifts"] == []
    listing = client.get(f"/api/v1/modules/{CHANGED[0]}/drift").get_json()
    assert listing["last_checked_at"]
    [v] = listing["versions"]
    assert [c["outcome"] for c in v["checks"]] == ["differs", "differs", "same", "same"]
    assert v["drifted"] and v["checks"][0]["trigger"] == "sweep"

    # The module page: the notice on the version, the mark on the Versions tab.
    page = client.get(f"/{CHANGED[0]}@{CHANGED[1]}").get_data(as_text=True)
    assert "Upstream now differs from what Depot captured on" in page
    assert "Depot keeps serving the original." in page
    assert _sha(captured["zip"])[:16] in page and moved.upstream_h1 in page
    page = client.get(f"/{DELETED[0]}@{DELETED[1]}").get_data(as_text=True)
    assert "The upstream no longer has this version" in page
    assert "Upstream now differs" not in client.get(f"/{SAME[0]}").get_data(as_text=True)
    tab = client.get(f"/{CHANGED[0]}?tab=versions").get_data(as_text=True)
    assert "upstream drifted" in tab and "Last compared with the upstream" in tab
    assert "Check upstream now" in tab

    # The CLI: exit 1 on drift, 0 when the same; no second alert for a known finding.
    done = drift_cli(svc, CHANGED[0], "--json")
    assert done.returncode == 1, done.stderr
    [result] = json.loads(done.stdout)["results"]
    assert result["outcome"] == "differs" and result["files"][0]["kind"] == "zip"
    done = drift_cli(svc, f"{SAME[0]}@{SAME[1]}")
    assert done.returncode == 0, done.stderr
    assert "same" in done.stdout and "1 version(s) checked: 1 same" in done.stderr
    assert drift_cli(svc, "not a module").returncode == 2
    assert drift_cli(svc, "depot.test/nothing-here").returncode == 2
    assert len(drift_alerts(receiver)) == 2

    # The tag is moved back: the next check sees Depot's bytes again and lifts the notice;
    # the finding stays on record.
    write_module(fresh_upstream.root, fixture_module(*CHANGED))
    assert drift_cli(svc, CHANGED[0]).returncode == 0
    up = client.get(f"/api/v1/modules/{CHANGED[0]}").get_json()["upstream"]
    assert up["outcome"] == "same" and not up["drifted"] and len(up["drifts"]) == 1
    assert "Upstream now differs" not in client.get(f"/{CHANGED[0]}").get_data(as_text=True)
    assert "upstream drifted" not in client.get(f"/{CHANGED[0]}?tab=versions").get_data(
        as_text=True)
    assert "upstream drifted" in client.get(f"/{DELETED[0]}?tab=versions").get_data(
        as_text=True)
    app.extensions["depot"].db.dispose()


def test_checksum_database_refusing_a_retag_is_drift(
    services: Services, fresh_upstream: Upstream  # (checksums verified: the default here)
):
    svc = on_private_upstream(services, fresh_upstream)
    assert ingest(svc, *CHANGED).ok
    force_push(fresh_upstream, *CHANGED)
    [result] = check_module(svc, CHANGED[0], CHANGED[1], 5, "cli")
    assert result.outcome == DriftOutcome.differs, result
    assert "checksum mismatch" in result.detail
    # The go command refused the bytes; Depot read the proxy's files to name the change.
    assert [f.kind for f in result.files] == ["zip"] and result.files[0].upstream_sha256
    with svc.db.session() as s:
        assert [d.kind for d in s.scalars(select(Drift))] == [DriftKind.zip]
