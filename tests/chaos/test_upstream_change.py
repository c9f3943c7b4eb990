"""Issue 8, scenario 3: immutability under upstream change.

Depot captures and publishes a version from an HTTP upstream; then the upstream
(a) re-tags it with new .info/.mod/.zip bytes, (b) serves a truncated zip and
(c) deletes the module. After each, Depot is made to look again (the
``ingest --refetch`` command, GOPROXY requests in fetch mode, a real go client)
and must keep serving the captured bytes, from store files never rewritten.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from app.config import REPO_ROOT, Settings
from app.models import Drift, VersionState
from app.pipeline.capture import get_version
from app.resources import Services
from tests.chaos.pods import counting_upstream, sha256, start_pods  # noqa: F401 (fixture)
from tests.chaos.test_single_flight import file_path
from tests.conftest import go_client_env, run_go, settings_env
from tests.fixtures.counting_upstream import CountingUpstream
from tests.fixtures.receiver import Receiver, receiver  # noqa: F401 (fixture)
from tests.fixtures.sumdb import SumDB
from tests.fixtures.upstream import (
    FixtureModule,
    fixture_module,
    go_mod_text,
    module_files,
    write_module,
)

MODULE, VERSION = "depot.test/chain/c", "v1.0.0"
FRESH = ("depot.test/deprecated", "v1.0.0")  # never captured: its first zip is truncated
KINDS = ("info", "mod", "zip")
HOOK = "/hooks/upstream-change"


def flask_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=REPO_ROOT, env=settings_env(settings), capture_output=True, text=True, timeout=600,
    )


def served(base: str, module: str = MODULE, version: str = VERSION) -> dict[str, str]:
    """sha256 of each file as Depot serves it (200 required)."""
    out = {}
    for kind in KINDS:
        resp = requests.get(base + file_path(module, version, kind), timeout=300)
        assert resp.status_code == 200, (kind, resp.status_code, resp.text)
        out[kind] = sha256(resp.content)
    return out


def on_disk(svc: Services) -> dict[str, tuple[int, int, str]]:
    """(inode, mtime_ns, sha256) of each store file: a rewrite would change one of them."""
    out = {}
    for kind in KINDS:
        path = svc.store.local_path(MODULE, VERSION, kind)
        assert path is not None, kind
        st = os.stat(path)
        out[kind] = (st.st_ino, st.st_mtime_ns, sha256(path.read_bytes()))
    return out


def retagged(module: str, version: str) -> FixtureModule:
    """New bytes for every file: another source file, go.mod and commit time."""
    files = module_files(module, version) | {"retagged.go": b"package c\n\nconst X = 1\n"}
    files["go.mod"] = go_mod_text(module) + b"// re-tagged upstream\n"
    when = FixtureModule(module, version, {}).time.replace(year=2025)
    return FixtureModule(module, version, files, when)


def look_again(settings: Settings, base: str, tmp: Path, gosumdb: str) -> str:
    """Every way Depot can be made to ask the upstream again; returns the command's output."""
    done = flask_cli(settings, "ingest", f"{MODULE}@{VERSION}", "--refetch")
    assert done.returncode == 0, done.stdout + done.stderr
    for tail in ("@v/list", "@latest"):
        resp = requests.get(f"{base}/{MODULE}/{tail}", timeout=300)
        assert resp.status_code == 200 and (VERSION in resp.text), (tail, resp.text)
    env = go_client_env(tmp, base, gosumdb)
    got = run_go(["mod", "download", "-json", f"{MODULE}@{VERSION}"], tmp / "work", env,
                 timeout=600)
    assert got.returncode == 0, got.stderr
    return done.stdout + done.stderr


def drifts(svc: Services) -> list[tuple[str, str, str]]:
    with svc.db.session() as s:
        rows = s.scalars(select(Drift).order_by(Drift.id)).all()
        return [(d.kind.value, d.stored_sha256, d.upstream_sha256) for d in rows]


def events(rec: Receiver) -> list[str]:
    """The webhook texts received, one string each (Slack-compatible JSON)."""
    return [json.dumps(body) for body in rec.bodies(HOOK)]


@pytest.mark.parametrize("checksums", ["off", "verified"])
def test_captured_bytes_survive_retag_truncation_and_deletion(
    settings: Settings, db_backend: str, sumdb: SumDB, checksums: str, receiver: Receiver,  # noqa: F811
    counting_upstream: CountingUpstream, tmp_path: Path,  # noqa: F811
) -> None:
    """``off``: a private upstream (drift is seen and recorded); ``verified``: the checksum
    database refuses the new bytes before Depot sees them (a checksum_mismatch alert)."""
    gosumdb = "off" if checksums == "off" else sumdb.gosumdb
    depot = replace(settings, upstream=counting_upstream.url, on_miss="fetch", gosumdb=gosumdb,
                    notify_webhooks=receiver.url(HOOK))
    [pod] = start_pods(depot, tmp_path, db_backend, count=1)
    svc = Services.from_settings(depot)
    try:
        captured = served(pod.url)
        # .mod and .zip byte for byte; .info is rewritten by the go command (same facts).
        upstream_bytes = {k: sha256(counting_upstream.body_of(file_path(MODULE, VERSION, k))
                                    or b"") for k in ("mod", "zip")}
        assert {k: captured[k] for k in ("mod", "zip")} == upstream_bytes
        files = on_disk(svc)
        assert {k: v[2] for k, v in files.items()} == captured

        def unchanged() -> None:
            assert served(pod.url) == captured
            assert on_disk(svc) == files
            with svc.db.session() as s:
                assert get_version(s, MODULE, VERSION).state == VersionState.published

        # (a) the tag is moved to new content
        write_module(counting_upstream.root, retagged(MODULE, VERSION))
        out = look_again(depot, pod.url, tmp_path / "client-a", gosumdb)
        unchanged()
        if checksums == "off":
            assert "drift" in out
            seen = drifts(svc)
            assert sorted(k for k, _, _ in seen) == sorted(KINDS)
            assert all(stored == captured[k] and theirs != stored for k, stored, theirs in seen)
            alerts = [e for e in events(receiver) if "drift" in e.lower()]
            assert len(alerts) == len(KINDS) and all(captured["zip"] in e for e in alerts
                                                     if "zip" in e)
        else:
            assert "checksum mismatch" in out and drifts(svc) == []
            assert any("checksum" in e.lower() and MODULE in e for e in events(receiver))
        recorded = drifts(svc)

        # (b) the tag moves back, but the zip comes cut short: refused with a reason,
        # nothing replaced, nothing new stored
        write_module(counting_upstream.root, fixture_module(MODULE, VERSION))
        counting_upstream.truncate_zip(MODULE, VERSION)
        out = look_again(depot, pod.url, tmp_path / "client-b", gosumdb)
        assert "upstream now fails" in out and "zip" in out.lower()
        said = [out.splitlines()[0]]
        unchanged()
        assert drifts(svc) == recorded
        counting_upstream.truncate_zip(*FRESH)
        resp = requests.get(pod.url + file_path(*FRESH, "zip"), timeout=300)
        assert resp.status_code in (404, 410) and "zip" in resp.text.lower(), resp.text
        assert all(svc.store.stat(*FRESH, k) is None for k in KINDS)

        # (c) the module is deleted upstream
        counting_upstream.delete_module(MODULE)
        out = look_again(depot, pod.url, tmp_path / "client-c", gosumdb)
        assert "upstream now fails" in out and "404" in out
        said.append(out.splitlines()[0])
        unchanged()
        assert drifts(svc) == recorded
        titles = [body["text"] for body in receiver.bodies(HOOK)]
        print(f"[{db_backend}, checksums {checksums}] served sha256 kept: {captured}; "
              f"drift rows {len(recorded)}; webhooks {titles}; "
              f"upstream requests {counting_upstream.counts()}; refetch said {said}")
    finally:
        pod.stop()
        svc.db.dispose()
    assert "Traceback" not in pod.log.read_text(errors="replace")
