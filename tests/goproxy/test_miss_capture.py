"""Fetch mode answers a miss as soon as the asked version is captured (issue 18, item
5): downloaded and checksum-verified by the go command, stored, through the license
gate. Its build list and validation follow in the workers; concurrent clients whose
modules share a dependency all get their files."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import requests
from rq import Queue

from app.config import REPO_ROOT, Settings
from app.fetch import ahead
from app.models import VersionState
from app.pipeline.capture import get_version
from app.pipeline.stages import Pipeline
from app.queue import connect, job_id
from tests.conftest import go_client_env, make_app, run_go, settings_env, start_server
from tests.fixtures.upstream import (
    FixtureModule,
    fixture_module,
    func_name,
    go_source,
    list_like_the_proxy,
    module_files,
    upstream_of,
)
from tests.goproxy.test_ahead import loads_ended

SHARED = "depot.test/sharing/common"
LEFT = "depot.test/sharing/left"
RIGHT = "depot.test/sharing/right"


def _sharing_upstream(root: Path):  # type: ignore[no-untyped-def]
    return upstream_of(root, [
        fixture_module(SHARED, "v1.0.0"),
        fixture_module(LEFT, "v1.0.0", {SHARED: "v1.0.0"}),
        fixture_module(RIGHT, "v1.0.0", {SHARED: "v1.0.0"}),
    ])


def flask_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args],
                          cwd=REPO_ROOT, env=settings_env(settings), capture_output=True,
                          text=True, timeout=600)


def _left_mod(client):  # type: ignore[no-untyped-def]
    """A miss for LEFT's go.mod, answered with it (it requires SHARED)."""
    resp = client.get(f"/{LEFT}/@v/v1.0.0.mod")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert SHARED in resp.get_data(as_text=True)
    return resp


CAPTURING = (VersionState.pending, VersionState.fetching, VersionState.processing)


def _state(app, module: str, version: str) -> VersionState | None:  # type: ignore[no-untyped-def]
    with app.extensions["depot"].db.session() as session:
        row = get_version(session, module, version)
        return None if row is None else row.state


def test_a_miss_is_answered_once_captured_and_the_rest_follows(
    queued_settings: Settings, tmp_path: Path
) -> None:
    upstream = _sharing_upstream(tmp_path / "upstream")
    fetching = replace(queued_settings, upstream=upstream.url, gosumdb="off", on_miss="fetch")
    app = make_app(fetching)
    try:
        client = app.test_client()
        _left_mod(client)
        # Another client asking for the same version is served the captured files
        # (the zip waits for the license gate, which the go.mod did not).
        again = client.get(f"/{LEFT}/@v/v1.0.0.zip")
        assert again.status_code == 200 and again.data[:2] == b"PK"
        # Answered from the graph load's verified zip, or the captured version once the
        # client paused; its build list is the workers' job. The member's zip was
        # fetched with the graph ahead of the client (app/goproxy/ahead.py) and is
        # captured in this process too, never published here.
        assert _state(app, SHARED, "v1.0.0") in (None, *CAPTURING, VersionState.captured)
        loads_ended(fetching)
        assert _state(app, LEFT, "v1.0.0") == VersionState.captured
        assert _state(app, SHARED, "v1.0.0") == VersionState.captured
        process = Queue("process", connection=connect(fetching))
        # Queued once the misses pause (app/goproxy/behind.py).
        deadline = time.monotonic() + 10
        while (job_id("complete", (LEFT, "v1.0.0")) not in process.job_ids
               and time.monotonic() < deadline):
            time.sleep(0.05)
        assert job_id("complete", (LEFT, "v1.0.0")) in process.job_ids
        # Not shown as published: only the exact files a client asked for are served.
        page = client.get(f"/api/v1/modules/{LEFT}?version=v1.0.0").get_json()
        assert page["version"]["validated"] is False

        done = flask_cli(fetching, "worker", "--burst")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert _state(app, LEFT, "v1.0.0") == VersionState.published
        assert _state(app, SHARED, "v1.0.0") == VersionState.published
    finally:
        app.extensions["depot"].db.dispose()


def test_a_mod_and_an_info_miss_are_answered_before_the_license_gate(
    queued_settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    """Graph loading waits for each go.mod before asking the next level: a `.mod` miss
    is answered once the verified go.mod is stored, the gate and rows following in the
    capture's thread. A `.info` is answered from the load ahead once its go command has
    fetched it (metadata, as the go.mod is: the bytes the capture stores); the `.zip`
    once that load verified it and the capture's own checks judged it servable (a
    held version waits for its capture and gets its 410)."""
    upstream = _sharing_upstream(tmp_path / "upstream")
    fetching = replace(queued_settings, upstream=upstream.url, gosumdb="off", on_miss="fetch")
    gate_open = threading.Event()
    gate = Pipeline._license_gate

    def held_gate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        assert gate_open.wait(60), "the .mod answer never came"
        return gate(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "_license_gate", held_gate)
    app = make_app(fetching)
    try:
        client = app.test_client()
        resp = _left_mod(client)
        assert resp.headers["ETag"].strip('"') == hashlib.sha256(resp.data).hexdigest()
        assert _state(app, LEFT, "v1.0.0") in (None, *CAPTURING)  # the gate waits
        deadline = time.monotonic() + 30
        while (not any(load.ready_entry(LEFT, "v1.0.0") for load in ahead.active_loads(fetching))
               and time.monotonic() < deadline):
            time.sleep(0.02)
        info = client.get(f"/{LEFT}/@v/v1.0.0.info")
        assert info.status_code == 200, info.get_data(as_text=True)
        assert _state(app, LEFT, "v1.0.0") in (None, *CAPTURING)  # the gate still waits
        # The .zip too, judged by the capture's own checks and license verdict
        # (app/pipeline/gate.py) on the load's verified bytes; the capture's gate waits.
        zipped = client.get(f"/{LEFT}/@v/v1.0.0.zip")
        assert zipped.status_code == 200, zipped.get_data(as_text=True)
        assert _state(app, LEFT, "v1.0.0") in (None, *CAPTURING)  # the gate still waits
        assert client.get(f"/{LEFT}/@v/v1.0.0.mod").data == resp.data
        gate_open.set()
        loads_ended(fetching)
        assert _state(app, LEFT, "v1.0.0") == VersionState.captured
        store = app.extensions["depot"].store
        assert store.read_bytes(LEFT, "v1.0.0", "info") == info.data
        assert store.read_bytes(LEFT, "v1.0.0", "zip") == zipped.data
    finally:
        gate_open.set()
        app.extensions["depot"].db.dispose()


def _consumer(folder: Path, module: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "go.mod").write_text(
        f"module depot.test/consumer\n\ngo 1.21\n\nrequire {module} v1.0.0\n")
    return folder


def test_concurrent_misses_sharing_a_dependency_all_succeed(
    queued_settings: Settings, tmp_path: Path
) -> None:
    upstream = _sharing_upstream(tmp_path / "upstream")
    fetching = replace(queued_settings, upstream=upstream.url, gosumdb="off", on_miss="fetch")
    assert flask_cli(fetching, "migrate").returncode == 0
    server = start_server(fetching, tmp_path, workers=2)
    try:
        def client(module: str) -> subprocess.CompletedProcess:
            home = tmp_path / f"client-{module.rsplit('/', 1)[-1]}"
            work = _consumer(home / "work", module)
            return run_go(["mod", "download", "all"], work,
                          go_client_env(home, server.url, "off"), timeout=300)

        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(client, [LEFT, RIGHT]))
        took = time.monotonic() - began
        for done in results:
            assert done.returncode == 0, done.stderr
        print(f"two concurrent `go mod download all` through an empty Depot: {took:.1f} s")
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()


UNTAGGED = "depot.test/untagged/tomb"
UNTAGGED_PSEUDO = "v0.0.0-20161208151619-d5d1b5820637"
NO_GO_MOD = "depot.test/old/mgo"


def test_an_import_from_an_untagged_module_resolves_through_depot_alone(
    queued_settings: Settings, tmp_path: Path
) -> None:
    """gopkg.in/mgo.v2 has no go.mod and imports gopkg.in/tomb.v2, which has no tag: the
    go command finds tomb's module by asking @v/list (200 from the upstream, pseudo-versions
    only) and then the newest pseudo-version. Depot in fetch mode answered the list 404, so
    `go list -deps` of an mgo consumer failed with Depot alone and passed upstream."""
    old = module_files(NO_GO_MOD, "v1.0.0", with_go_mod=False)
    old["mgo.go"] = go_source(NO_GO_MOD, "v1.0.0", {UNTAGGED: UNTAGGED_PSEUDO})
    root = tmp_path / "upstream"
    upstream = upstream_of(root, [
        fixture_module(UNTAGGED, UNTAGGED_PSEUDO), FixtureModule(NO_GO_MOD, "v1.0.0", old),
    ])
    list_like_the_proxy(root, UNTAGGED)
    fetching = replace(queued_settings, upstream=upstream.url, gosumdb="off", on_miss="fetch")
    assert flask_cli(fetching, "migrate").returncode == 0
    server = start_server(fetching, tmp_path, workers=2)
    try:
        home = tmp_path / "client"
        work = _consumer(home / "work", NO_GO_MOD)
        (work / "main.go").write_text(
            f'package main\n\nimport m "{NO_GO_MOD}"\n\n'
            f"func main() {{ println(m.{func_name(NO_GO_MOD)}()) }}\n")
        env = go_client_env(home, server.url, "off")
        listed = run_go(["list", "-deps", "./..."], work, env)
        assert listed.returncode == 0, listed.stderr
        assert UNTAGGED in listed.stdout
        assert f"{UNTAGGED} {UNTAGGED_PSEUDO}" in (work / "go.mod").read_text()
        built = run_go(["build", "-o", str(home / "consumer"), "."], work, env)
        assert built.returncode == 0, built.stderr
        # Probing a path the upstream does not list still answers 404.
        assert requests.get(f"{server.url}/{UNTAGGED}/sub/@v/list", timeout=30).status_code == 404
    finally:
        server.stop()


def test_a_capture_a_killed_process_left_half_done_is_taken_over(
    queued_settings: Settings, tmp_path: Path
) -> None:
    """A web process killed mid-capture leaves its version `fetching` with no job behind
    it: the next miss starts it over at once, instead of waiting for the workers' sweep
    (twenty minutes, each miss a 404 after two)."""
    # Its own path per parametrization: an earlier one's jobs (held back in this
    # process, or queued in a shared Redis) would rightly stop the take-over.
    lone = "depot.test/takeover/" + tmp_path.name.lower()
    upstream = upstream_of(tmp_path / "upstream", [fixture_module(lone, "v1.0.0")])
    fetching = replace(queued_settings, upstream=upstream.url, gosumdb="off", on_miss="fetch")
    for stage in ("process", "complete"):  # an earlier parametrization's, in this Redis
        connect(fetching).delete(f"rq:job:{job_id(stage, (lone, 'v1.0.0'))}")
    app = make_app(fetching)
    try:
        svc = app.extensions["depot"]
        with svc.db.session() as session:
            row, _ = Pipeline(svc, None).ensure_pending(session, lone, "v1.0.0")
            row.state = VersionState.fetching  # where the killed capture left it
        began = time.monotonic()
        resp = app.test_client().get(f"/{lone}/@v/v1.0.0.info")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert time.monotonic() - began < 30
        assert _state(app, lone, "v1.0.0") == VersionState.captured
    finally:
        app.extensions["depot"].db.dispose()
