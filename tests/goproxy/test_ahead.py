"""A cold `.mod` miss loads its version's graph and build-list zips in one go command,
ahead of the client walking it (app/goproxy/ahead.py, app/fetch/ahead.py): the next
levels' go.mod files come from that load, and every version of the build list is
captured from the zips it fetched, each downloaded from the upstream once."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import Settings
from app.fetch import ahead
from app.gomod.paths import escape_path, escape_version
from app.goproxy import ahead as goproxy_ahead
from app.models import GraphMod, VersionState
from app.pipeline.capture import get_version
from app.pipeline.gate import Servable
from tests.conftest import make_app
from tests.fixtures.counting_upstream import CountingUpstream
from tests.fixtures.upstream import fixture_module, upstream_of

TOP = "depot.test/ahead/top"
MIDDLE = "depot.test/ahead/middle"
BOTTOM = "depot.test/ahead/bottom"
OTHER = "depot.test/ahead/other"


def _upstream(root: Path) -> CountingUpstream:
    """TOP → MIDDLE → BOTTOM (three levels of go.mod files), and OTHER on its own."""
    tree = upstream_of(root, [
        fixture_module(BOTTOM, "v1.0.0"),
        fixture_module(MIDDLE, "v1.0.0", {BOTTOM: "v1.0.0"}),
        fixture_module(TOP, "v1.0.0", {MIDDLE: "v1.0.0"}),
        fixture_module(OTHER, "v1.0.0"),
    ])
    return CountingUpstream(tree.root)


def file_path(module: str, version: str, kind: str) -> str:
    return f"/{escape_path(module)}/@v/{escape_version(version)}.{kind}"


def loads_ended(settings: Settings, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while ahead.active_loads(settings) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not ahead.active_loads(settings), "a graph load ahead never ended"


@contextmanager
def _walked(queued_settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fetch-mode Depot on the fixture upstream whose client has walked TOP's graph
    (TOP's go.mod, then each next level's): the app, its client, settings, upstream."""
    with _upstream(tmp_path / "upstream") as up:
        fetching = replace(queued_settings, upstream=up.url, gosumdb="off", on_miss="fetch")
        app = make_app(fetching)
        try:
            client = app.test_client()
            for module in (TOP, MIDDLE, BOTTOM):
                resp = client.get(file_path(module, "v1.0.0", "mod"))
                assert resp.status_code == 200, resp.get_data(as_text=True)
            yield app, client, fetching, up
        finally:
            app.extensions["depot"].db.dispose()


def _state(app, module: str) -> VersionState | None:  # type: ignore[no-untyped-def]
    with app.extensions["depot"].db.session() as session:
        row = get_version(session, module, "v1.0.0")
        return None if row is None else row.state


def test_a_walk_is_answered_from_one_load_and_each_zip_is_fetched_once(
    queued_settings: Settings, tmp_path: Path
) -> None:
    with _upstream(tmp_path / "upstream") as up:
        fetching = replace(queued_settings, upstream=up.url, gosumdb="off", on_miss="fetch")
        app = make_app(fetching)
        try:
            client = app.test_client()
            for module in (TOP, MIDDLE, BOTTOM):  # the walk, one level after the other
                resp = client.get(file_path(module, "v1.0.0", "mod"))
                assert resp.status_code == 200, resp.get_data(as_text=True)
                assert f"module {module}" in resp.get_data(as_text=True)
            loads_ended(fetching)
            # Every member was captured from the load's zips, none by a miss of its own.
            for module in (TOP, MIDDLE, BOTTOM):
                assert _state(app, module) == VersionState.captured
                assert up.count(file_path(module, "v1.0.0", "zip")) == 1, up.counts()
                assert up.count(file_path(module, "v1.0.0", "mod")) == 1, up.counts()
            with app.extensions["depot"].db.session() as session:
                kept = set(session.scalars(select(GraphMod.module_path)))
            assert {MIDDLE, BOTTOM} <= kept  # answered from the load: kept as graph files
            up.reset_counts()
            for module in (TOP, MIDDLE, BOTTOM):
                for kind in ("info", "zip"):
                    resp = client.get(file_path(module, "v1.0.0", kind))
                    assert resp.status_code == 200, resp.get_data(as_text=True)
            assert not up.counts(), "the captured versions went to the upstream again"
        finally:
            app.extensions["depot"].db.dispose()


def test_a_miss_outside_every_load_does_not_wait_for_one(
    queued_settings: Settings, tmp_path: Path
) -> None:
    """A load that never reads a go.mod keeps no one waiting for it: OTHER is answered
    while TOP's load is held up upstream."""
    with _upstream(tmp_path / "upstream") as up:
        fetching = replace(queued_settings, upstream=up.url, gosumdb="off", on_miss="fetch")
        up.set_delay(1.5, MIDDLE)
        app = make_app(fetching)
        try:
            client = app.test_client()
            top = threading.Thread(target=client.get, args=(file_path(TOP, "v1.0.0", "mod"),))
            top.start()
            time.sleep(0.3)
            began = time.monotonic()
            resp = client.get(file_path(OTHER, "v1.0.0", "mod"))
            took = time.monotonic() - began
            assert resp.status_code == 200, resp.get_data(as_text=True)
            assert took < 1.0, f"OTHER waited {took:.1f} s for TOP's load"
            top.join(60)
            loads_ended(fetching)
        finally:
            app.extensions["depot"].db.dispose()


def test_a_version_upstream_lacks_gets_the_captures_answer(
    queued_settings: Settings, tmp_path: Path
) -> None:
    """No load reads a go.mod that does not exist: the miss falls back to its own
    capture, which says why."""
    with _upstream(tmp_path / "upstream") as up:
        fetching = replace(queued_settings, upstream=up.url, gosumdb="off", on_miss="fetch")
        app = make_app(fetching)
        try:
            began = time.monotonic()
            resp = app.test_client().get(file_path(TOP, "v1.9.9", "mod"))
            assert time.monotonic() - began < 5, "the miss waited for a load that had ended"
            assert resp.status_code == 404
            assert "not found" in resp.get_data(as_text=True)
            loads_ended(fetching)
        finally:
            app.extensions["depot"].db.dispose()


def test_without_loads_ahead_every_miss_is_a_capture(
    queued_settings: Settings, tmp_path: Path
) -> None:
    with _upstream(tmp_path / "upstream") as up:
        fetching = replace(queued_settings, upstream=up.url, gosumdb="off", on_miss="fetch",
                           miss_ahead=0)
        app = make_app(fetching)
        try:
            resp = app.test_client().get(file_path(TOP, "v1.0.0", "mod"))
            assert resp.status_code == 200
            assert not ahead.loads_root(fetching).exists()
            assert _state(app, MIDDLE) is None  # nobody fetched the member ahead
        finally:
            app.extensions["depot"].db.dispose()


def test_a_dead_owners_folder_is_litter_and_swept(tmp_path: Path, settings: Settings) -> None:
    """A load's folder whose owner lock nobody holds (its process was killed) is not a
    load; once old it is removed. A held one is a load, whatever its age."""
    here = replace(settings, data_dir=tmp_path / "data")
    held = ahead.Loading(here, "held")
    root = ahead.loads_root(here)
    dead = root / "dead"
    dead.mkdir()
    (dead / "owner.lock").touch()
    old = time.time() - ahead.LITTER_AGE - 5
    for folder in (dead, held.load.folder):
        os.utime(folder, (old, old))
    try:
        assert ahead.active_loads(here) == [held.load]
        assert not dead.exists()
        # Another open file description of the lock conflicts with the owner's.
        fd = os.open(held.load.folder / "owner.lock", os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                raise AssertionError("the owner's lock was not held")
            except BlockingIOError:
                pass
        finally:
            os.close(fd)
    finally:
        held.close()
    assert not held.load.folder.exists()
    assert ahead.active_loads(here) == []


def test_a_walk_is_over_after_a_short_pause_once_it_had_every_zip_else_a_long_one(
    tmp_path: Path, settings: Settings
) -> None:
    """Captures wait for the client: a client unpacking a big zip pauses for a second
    and more, so a short pause ends its walk only once it was served every zip the
    load verified (marked for every web process); otherwise a long one, or the load
    having ended long ago."""
    over = goproxy_ahead.walk_over
    quiet, unfinished, longest = (goproxy_ahead.QUIET, goproxy_ahead.QUIET_UNFINISHED,
                                  goproxy_ahead.LONGEST)
    assert quiet < unfinished < longest
    assert not over(quiet, lambda: False, None)
    assert over(quiet, lambda: True, None)
    assert not over(quiet - 0.1, lambda: True, None)
    assert over(unfinished, lambda: False, None)
    assert not over(0.0, lambda: False, longest - 1)
    assert over(0.0, lambda: False, longest)

    here = replace(settings, data_dir=tmp_path / "data")
    loading = ahead.Loading(here, "served")
    try:
        load = loading.load
        assert not load.all_zips_served()  # nothing verified yet
        for module in ("depot.test/a", "depot.test/b"):
            at = load.modcache / "cache" / "download" / escape_path(module) / "@v"
            at.mkdir(parents=True)
            (at / "v1.0.0.zip").write_bytes(b"zip")
        time.sleep(ahead.SCAN_FRESH)  # the scans of a running load are shared that long
        load.note_served("depot.test/a", "v1.0.0")
        assert not load.all_zips_served()
        ahead.Load(load.folder).note_served("depot.test/b", "v1.0.0")  # another process
        assert load.all_zips_served()
    finally:
        loading.close()
    load.note_served("depot.test/a", "v1.0.0")  # the load ended: nothing, no error


def test_a_scan_is_shared_while_the_load_runs_and_made_again_once_it_is_done(
    tmp_path: Path, settings: Settings
) -> None:
    """The threads polling a load share one scan of its files for a few milliseconds;
    one who saw the load end and looks once more sees what came last at once."""
    here = replace(settings, data_dir=tmp_path / "data")
    loading = ahead.Loading(here, "scans")
    try:
        load = loading.load

        def add(module: str) -> None:
            at = load.modcache / "cache" / "download" / escape_path(module) / "@v"
            at.mkdir(parents=True)
            (at / "v1.0.0.zip").write_bytes(b"zip")

        add("depot.test/a")
        assert load.verified_zips() == {("depot.test/a", "v1.0.0")}
        add("depot.test/b")
        seen = load.verified_zips()  # within SCAN_FRESH: the shared scan (or a new one)
        time.sleep(ahead.SCAN_FRESH)
        assert load.verified_zips() == {("depot.test/a", "v1.0.0"), ("depot.test/b", "v1.0.0")}
        assert seen <= load.verified_zips()
        add("depot.test/c")
        (load.folder / "done").touch()
        assert ("depot.test/c", "v1.0.0") in load.verified_zips()  # no wait after the end
    finally:
        loading.close()


def test_a_zip_is_judged_once_however_many_ask_for_its_verdict_at_once(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner's thread judging a zip and a client's `.zip` miss asking for the same
    verdict meanwhile: the miss waits for that verdict instead of judging again."""
    here = replace(settings, data_dir=tmp_path / "data")
    app = make_app(here)
    calls: list[str] = []

    def slow_judge(_settings: Settings, entry: dict) -> Servable:
        calls.append(entry["Path"])
        time.sleep(0.3)
        return Servable(True, "ab" * 32, 3)

    monkeypatch.setattr(goproxy_ahead, "judge_ahead", slow_judge)
    loading = ahead.Loading(here, "judged")
    try:
        loads = app.extensions["depot"].ahead
        entry = {"Path": "depot.test/a", "Version": "v1.0.0"}
        seen: list[Servable] = []
        askers = [threading.Thread(target=lambda: seen.append(
            loads._judged(loading.load, entry))) for _ in range(3)]
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join()
        assert calls == ["depot.test/a"]
        assert seen == [Servable(True, "ab" * 32, 3)] * 3
    finally:
        loading.close()
        app.extensions["depot"].db.dispose()


def test_loads_go_to_memory_when_it_has_room_and_leave_nothing_there(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DEPOT_MISS_AHEAD_DIR=auto: a folder of /dev/shm per data dir when it has room (a
    load unpacks every zip it fetches, as the client does, and on one disk the two took
    turns), removed with the last load; else under the data dir; or the path given."""
    shm = tmp_path / "shm"
    shm.mkdir()
    monkeypatch.setattr(ahead, "SHM", shm)
    monkeypatch.setattr(ahead, "SHM_FREE", 0)
    ahead._loads_root.cache_clear()
    here = replace(settings, data_dir=tmp_path / "data", miss_ahead_dir="auto")
    other = replace(here, data_dir=tmp_path / "other")
    try:
        root = ahead.loads_root(here)
        assert root.parent.parent == shm and root.name == "ahead"
        assert ahead.loads_root(other) != root  # one folder per Depot
        first, second = ahead.Loading(here, "first"), ahead.Loading(here, "second")
        assert first.load.folder.parent == root
        first.close()
        assert root.is_dir()  # the second load still runs there
        second.close()
        assert list(shm.iterdir()) == []

        monkeypatch.setattr(ahead, "SHM_FREE", 1 << 62)  # no room: the data dir
        ahead._loads_root.cache_clear()
        assert ahead.loads_root(here) == here.data_dir / "cache" / "ahead"
        chosen = replace(here, miss_ahead_dir=str(tmp_path / "scratch"))
        assert ahead.loads_root(chosen) == tmp_path / "scratch" / "ahead"
        loading = ahead.Loading(chosen, "kept")
        loading.close()
        assert (tmp_path / "scratch" / "ahead").is_dir()  # an operator's folder stays
    finally:
        ahead._loads_root.cache_clear()


def test_loads_left_in_memory_by_killed_processes_are_swept_whichever_depot_made_them(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Depot killed with loads running and never started again on its data dir (a
    test's, a benchmark's) left its unpacked modules in memory: any serve's start or
    worker's maintenance removes loads whose owner is gone, old enough not to be new
    ones, and the folders they leave empty; a live load stays."""
    shm = tmp_path / "shm"
    shm.mkdir()
    monkeypatch.setattr(ahead, "SHM", shm)
    monkeypatch.setattr(ahead, "SHM_FREE", 0)
    ahead._loads_root.cache_clear()
    try:
        live = replace(settings, data_dir=tmp_path / "live", miss_ahead_dir="auto")
        held = ahead.Loading(live, "held")
        old = time.time() - ahead.LITTER_AGE - 5
        dead = []
        for depot_tag, name in (("depot-gone", "dead"), ("depot-gone", "dead2"),
                                (ahead.loads_root(live).parent.name, "dead3")):
            folder = shm / depot_tag / "ahead" / name
            (folder / "modcache").mkdir(parents=True)
            (folder / "owner.lock").touch()
            os.utime(folder, (old, old))
            dead.append(folder)
        young = shm / "depot-young" / "ahead" / "new"
        young.mkdir(parents=True)  # being made by a process that has not locked it yet
        (shm / "depot-empty" / "ahead").mkdir(parents=True)
        (shm / "PostgreSQL.1234").touch()  # not Depot's
        os.utime(held.load.folder, (old, old))
        try:
            assert ahead.sweep_memory_loads() == 3
            assert not any(folder.exists() for folder in dead)
            assert held.load.folder.is_dir() and young.is_dir()
            assert sorted(p.name for p in shm.iterdir()) == sorted(
                ["PostgreSQL.1234", "depot-young", ahead.loads_root(live).parent.name])
        finally:
            held.close()
        assert ahead.sweep_memory_loads() == 0
        assert sorted(p.name for p in shm.iterdir()) == ["PostgreSQL.1234", "depot-young"]
    finally:
        ahead._loads_root.cache_clear()


def test_another_web_process_helps_capture_a_load_it_served_from(
    queued_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two apps on one data dir stand for gunicorn's two web processes: the one that
    serves a go.mod from the other's load (or one that load kept) captures its build
    list from the front while the owner goes from the back; each zip still comes from
    the upstream once."""
    caplog.set_level(logging.INFO, logger="depot.goproxy")
    with _upstream(tmp_path / "upstream") as up:
        fetching = replace(queued_settings, upstream=up.url, gosumdb="off", on_miss="fetch")
        up.set_delay(0.5, BOTTOM)  # the load is still running when the other app is asked
        owner, other = make_app(fetching), make_app(fetching)
        try:
            resp = owner.test_client().get(file_path(TOP, "v1.0.0", "mod"))
            assert resp.status_code == 200, resp.get_data(as_text=True)
            for module in (MIDDLE, BOTTOM):
                resp = other.test_client().get(file_path(module, "v1.0.0", "mod"))
                assert resp.status_code == 200, resp.get_data(as_text=True)
            loads_ended(fetching)
            deadline = time.monotonic() + 30
            while (any(_state(owner, m) != VersionState.captured for m in (TOP, MIDDLE, BOTTOM))
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            deadline = time.monotonic() + 30
            while "went through" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "helping the load" in caplog.text and "went through" in caplog.text
            for module in (TOP, MIDDLE, BOTTOM):
                assert _state(owner, module) == VersionState.captured
                assert up.count(file_path(module, "v1.0.0", "zip")) == 1, up.counts()
            assert "ahead failed" not in caplog.text
            # The owner never helps its own load.
            assert caplog.text.count("helping the load") == 1
        finally:
            owner.extensions["depot"].db.dispose()
            other.extensions["depot"].db.dispose()


def test_a_load_keeps_the_go_mod_files_it_verifies_before_the_client_asks(
    queued_settings: Settings, tmp_path: Path
) -> None:
    """The client's next levels are hits: the load keeps each go.mod its command
    verified as graph files while it runs, before anyone asks for them."""
    with _upstream(tmp_path / "upstream") as up:
        fetching = replace(queued_settings, upstream=up.url, gosumdb="off", on_miss="fetch")
        app = make_app(fetching)
        try:
            client = app.test_client()
            assert client.get(file_path(TOP, "v1.0.0", "mod")).status_code == 200
            loads_ended(fetching)
            with app.extensions["depot"].db.session() as session:
                kept = set(session.scalars(select(GraphMod.module_path)))
            # Nobody asked for MIDDLE's go.mod yet. (BOTTOM's is not read: the graph is
            # pruned, go 1.21 everywhere, so what MIDDLE requires is not loaded.)
            assert MIDDLE in kept
            resp = client.get(file_path(MIDDLE, "v1.0.0", "mod"))
            assert resp.status_code == 200
            assert f"module {MIDDLE}" in resp.get_data(as_text=True)
            assert up.count(file_path(MIDDLE, "v1.0.0", "mod")) == 1, up.counts()
        finally:
            app.extensions["depot"].db.dispose()


SLOW_ZIP = 7.0


def test_versions_are_captured_as_the_load_verifies_their_zips(
    queued_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load's versions are captured as its go command verifies each zip, not once
    the command has fetched them all: ROOT and FAST are captured (and a client's
    `.info` for ROOT answered) while SLOW's zip is still on its way. (The client here
    stops after the go.mod files: how long a pause ends a walk is another test's.)"""
    monkeypatch.setattr(goproxy_ahead, "QUIET_UNFINISHED", goproxy_ahead.QUIET)
    root, fast, slow = "depot.test/flat/root", "depot.test/flat/fast", "depot.test/flat/slow"
    tree = upstream_of(tmp_path / "upstream", [
        fixture_module(fast, "v1.0.0"),
        fixture_module(slow, "v1.0.0"),
        fixture_module(root, "v1.0.0", {fast: "v1.0.0", slow: "v1.0.0"}),
    ])
    with CountingUpstream(tree.root) as up:
        fetching = replace(queued_settings, upstream=up.url, gosumdb="off", on_miss="fetch")
        # SLOW's zip comes SLOW_ZIP seconds late; ROOT and FAST have to be captured well
        # before (on a slow CI machine their captures took more than 3 s).
        up.set_zip_delay(SLOW_ZIP, slow)
        app = make_app(fetching)
        try:
            client = app.test_client()
            began = time.monotonic()
            for module in (root, fast, slow):
                resp = client.get(file_path(module, "v1.0.0", "mod"))
                assert resp.status_code == 200, resp.get_data(as_text=True)
            deadline = time.monotonic() + SLOW_ZIP - 1.5
            while (any(_state(app, m) != VersionState.captured for m in (root, fast))
                   and time.monotonic() < deadline):
                time.sleep(0.02)
            assert _state(app, root) == _state(app, fast) == VersionState.captured
            resp = client.get(file_path(root, "v1.0.0", "info"))
            assert resp.status_code == 200, resp.get_data(as_text=True)
            assert time.monotonic() - began < SLOW_ZIP - 0.5, "ROOT waited for SLOW's zip"
            assert ahead.active_loads(fetching), "the load ended before SLOW's zip came"
            loads_ended(fetching)
            assert _state(app, slow) == VersionState.captured
            for module in (root, fast, slow):
                assert up.count(file_path(module, "v1.0.0", "zip")) == 1, up.counts()
        finally:
            app.extensions["depot"].db.dispose()


def test_a_cold_walk_is_answered_from_the_load_while_its_captures_are_held(
    queued_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold walk's `.info` and `.zip` are the load's own files (the bytes the capture
    stores), judged by the capture's own checks, while the captures are still held back
    here: a client once waited for each version's capture (zip checks, license scan,
    store and database writes) with the zip verified beside it."""
    release = threading.Event()
    real_capture = goproxy_ahead.capture_on_miss

    def held_capture(*args, **kwargs):  # type: ignore[no-untyped-def]
        release.wait(30)
        return real_capture(*args, **kwargs)

    monkeypatch.setattr(goproxy_ahead, "capture_on_miss", held_capture)
    with _walked(queued_settings, tmp_path) as (app, client, fetching, up):
        try:
            resp = client.get(file_path(TOP, "v1.0.0", "info"))
            assert resp.status_code == 200, resp.get_data(as_text=True)
            early_info = resp.get_data()
            resp = client.get(file_path(TOP, "v1.0.0", "zip"))
            assert resp.status_code == 200, resp.get_data(as_text=True)
            early_zip = resp.get_data()
            assert resp.headers["ETag"] == f'"{hashlib.sha256(early_zip).hexdigest()}"'
            assert _state(app, TOP) == VersionState.pending, "the answer waited for a capture"
            release.set()
            loads_ended(fetching)
            assert _state(app, TOP) == VersionState.captured
            store = app.extensions["depot"].store
            assert store.read_bytes(TOP, "v1.0.0", "info") == early_info
            assert store.read_bytes(TOP, "v1.0.0", "zip") == early_zip
            assert up.count(file_path(TOP, "v1.0.0", "zip")) == 1, up.counts()
        finally:
            release.set()


def test_a_zip_the_license_gate_refuses_is_not_answered_from_the_load(
    queued_settings: Settings, tmp_path: Path
) -> None:
    """A member without a license file: its verified zip is judged not servable, so its
    miss waits for the capture, which refuses it and says why (410)."""
    root, bare = "depot.test/judged/root", "depot.test/judged/bare"
    unlicensed = fixture_module(bare, "v1.0.0")
    del unlicensed.files["LICENSE"]
    tree = upstream_of(tmp_path / "upstream", [
        unlicensed, fixture_module(root, "v1.0.0", {bare: "v1.0.0"})])
    with CountingUpstream(tree.root) as up:
        fetching = replace(queued_settings, upstream=up.url, gosumdb="off", on_miss="fetch")
        app = make_app(fetching)
        try:
            client = app.test_client()
            for module in (root, bare):
                assert client.get(file_path(module, "v1.0.0", "mod")).status_code == 200
            resp = client.get(file_path(bare, "v1.0.0", "zip"))
            assert resp.status_code == 410, resp.get_data(as_text=True)
            assert "no license file" in resp.get_data(as_text=True)
            assert client.get(file_path(root, "v1.0.0", "zip")).status_code == 200
            loads_ended(fetching)
        finally:
            app.extensions["depot"].db.dispose()


def test_an_info_dated_far_ahead_is_not_answered_from_the_load(
    queued_settings: Settings, tmp_path: Path
) -> None:
    """A member whose upstream .info says 9999-12-31T23:59:59-23:59: the load's go
    command passed that Time through, but its .info miss is not answered from the load;
    it waits for the capture, which refuses the version and says why (410), and nothing
    of it is stored."""
    root, future = "depot.test/dated/root", "depot.test/dated/future"
    absurd = "9999-12-31T23:59:59-23:59"
    dated = fixture_module(future, "v1.0.0")
    dated.info_time = absurd
    tree = upstream_of(tmp_path / "upstream", [
        dated, fixture_module(root, "v1.0.0", {future: "v1.0.0"})])
    with CountingUpstream(tree.root) as up:
        fetching = replace(queued_settings, upstream=up.url, gosumdb="off", on_miss="fetch")
        app = make_app(fetching)
        try:
            client = app.test_client()
            for module in (root, future):
                assert client.get(file_path(module, "v1.0.0", "mod")).status_code == 200
            for kind in ("info", "zip"):
                resp = client.get(file_path(future, "v1.0.0", kind))
                assert resp.status_code == 410, resp.get_data(as_text=True)
                said = resp.get_data(as_text=True)
                assert f"{future}@v1.0.0" in said and absurd in said, said
            assert client.get(file_path(root, "v1.0.0", "info")).status_code == 200
            loads_ended(fetching)
            assert _state(app, future) == VersionState.rejected
            store = app.extensions["depot"].store
            assert all(store.stat(future, "v1.0.0", kind) is None for kind in ("info", "zip"))
        finally:
            app.extensions["depot"].db.dispose()


def test_captures_wait_while_a_client_walks_through_the_host(
    queued_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The captures' CPU is kept off a client's walk: none starts while the walk goes
    on (any request of a walk marks it), and all follow once it pauses."""
    # When the load ends is the load's business: LONGEST after it captures go ahead
    # whatever the walk does, and on a busy machine that fell inside this walk (a flaky
    # "captured mid-walk"). A pause of QUIET is what is tested here. The walk is marked
    # by a thread of its own every 20 ms, so that a slow database look below (CI, two
    # cores shared with the chaos tests: over a second once) is not taken for a pause.
    monkeypatch.setattr(goproxy_ahead, "LONGEST", 60.0)
    monkeypatch.setattr(goproxy_ahead, "QUIET", 3.0)
    with _walked(queued_settings, tmp_path) as (app, _client, fetching, _up):
        walking = threading.Event()
        walking.set()

        def walk() -> None:
            while walking.is_set():
                ahead.note_walk(fetching)
                time.sleep(0.02)

        walker = threading.Thread(target=walk, daemon=True)
        walker.start()
        try:
            walking_until = time.monotonic() + 1.2
            while time.monotonic() < walking_until:
                assert _state(app, TOP) in (None, VersionState.pending), "captured mid-walk"
                time.sleep(0.05)
        finally:
            walking.clear()
            walker.join()
        loads_ended(fetching)
        for module in (TOP, MIDDLE, BOTTOM):
            assert _state(app, module) == VersionState.captured


def test_a_loads_go_command_yields_the_cpu_to_the_client(
    queued_settings: Settings, tmp_path: Path
) -> None:
    """The load's go command runs at a lower priority than the web processes (and the
    client), so the client's own work comes first when the cores are busy."""
    seen = tmp_path / "niceness"
    wrapper = tmp_path / "go"
    wrapper.write_text(f'#!/bin/sh\nsleep 0.2\necho "$(nice) $*" >> "{seen}"\n'
                       f'exec "{queued_settings.go_bin}" "$@"\n')
    wrapper.chmod(0o755)
    with _upstream(tmp_path / "upstream") as up:
        fetching = replace(queued_settings, upstream=up.url, gosumdb="off", on_miss="fetch",
                           data_dir=tmp_path / "data")
        loading = ahead.Loading(replace(fetching, go_bin=str(wrapper)), "niced")
        try:
            entries, problem = loading.run(BOTTOM, "v1.0.0", zips_max=64)
        finally:
            loading.close()
    assert problem == "" and entries, problem
    own = os.getpriority(os.PRIO_PROCESS, 0)
    download = [line for line in seen.read_text().splitlines() if "mod download" in line]
    assert download, seen.read_text()
    assert int(download[0].split()[0]) == min(own + ahead.LOAD_NICENESS, 19)
