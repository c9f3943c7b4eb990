"""The relay: each upstream file fetched once for all the host's go commands asking at
once (issue 19, defect 8), everything else passed through, no trace of it in reasons."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from app.config import Settings
from app.fetch import handoff, relay
from app.fetch.download import Failed, Fetched, download
from app.fetch.relay import Relay
from tests.fixtures.counting_upstream import CountingUpstream
from tests.fixtures.upstream import Upstream

# Files and the go command, not the database.
one_database = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)

MODULE, VERSION = "depot.test/chain/c", "v1.0.0"


@pytest.fixture
def counted(settings: Settings, upstream: Upstream
            ) -> Iterator[tuple[Settings, CountingUpstream]]:
    with CountingUpstream(upstream.root) as up:
        yield replace(settings, upstream=up.url), up


def version_files(up: CountingUpstream) -> dict[str, int]:
    return {path: n for path, n in up.counts().items() if "/@v/v" in path}


@one_database
def test_go_commands_asking_at_once_fetch_each_file_once(
        counted: tuple[Settings, CountingUpstream], tmp_path: Path):
    settings, up = counted
    up.set_delay(0.3)  # slow: every go command asks while the first fetch runs

    def one(n: int) -> Fetched | Failed:
        return download(settings, tmp_path / f"job{n}", MODULE, VERSION)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(6)))
    assert all(isinstance(r, Fetched) for r in results), results
    # Before the relay: six of each (every go command fetched for itself).
    assert version_files(up) == {f"/{MODULE}/@v/{VERSION}.{kind}": 1
                                 for kind in ("info", "mod", "zip")}
    assert handoff.holds(settings, MODULE, VERSION)  # for the capture to take


@one_database
def test_a_reason_names_the_upstream_not_the_relay(counted: tuple[Settings, CountingUpstream],
                                                    tmp_path: Path):
    settings, up = counted
    failed = download(settings, tmp_path, MODULE, "v1.9.9")
    assert isinstance(failed, Failed)
    urls = set(re.findall(r"http://127\.0\.0\.1:\d+", failed.error.reason))
    assert urls == {up.url}, failed.error.reason
    assert failed.error.kind == "not_found"


@one_database
def test_a_refused_file_is_not_served_again(counted: tuple[Settings, CountingUpstream],
                                            tmp_path: Path):
    settings, up = counted
    up.truncate_zip(MODULE, VERSION)
    failed = download(settings, tmp_path / "first", MODULE, VERSION)
    assert isinstance(failed, Failed)
    assert not handoff.holds(settings, MODULE, VERSION)
    before = up.count(f"/{MODULE}/@v/{VERSION}.zip")  # the relay's, and Depot's diagnosis
    up.serve_whole_zip(MODULE, VERSION)
    assert isinstance(download(settings, tmp_path / "again", MODULE, VERSION), Fetched)
    assert up.count(f"/{MODULE}/@v/{VERSION}.zip") == before + 1


@one_database
def test_the_drift_check_downloads_past_the_relay(counted: tuple[Settings, CountingUpstream],
                                                  tmp_path: Path):
    settings, up = counted
    assert isinstance(download(settings, tmp_path / "a", MODULE, VERSION), Fetched)
    assert isinstance(download(settings, tmp_path / "b", MODULE, VERSION, shared=False),
                      Fetched)
    assert up.count(f"/{MODULE}/@v/{VERSION}.zip") == 2


@one_database
def test_lists_and_misses_pass_through_and_oversize_files_are_not_kept(
        counted: tuple[Settings, CountingUpstream], upstream: Upstream,
        monkeypatch: pytest.MonkeyPatch):
    settings, up = counted
    with Relay(settings) as running:
        base = running.goproxy()
        assert base.startswith("http://127.0.0.1:") and base != up.url
        listed = requests.get(f"{base}/{MODULE}/@v/list", timeout=10)
        assert listed.status_code == 200
        assert listed.text == (upstream.root / MODULE / "@v" / "list").read_text()
        missing = requests.get(f"{base}/{MODULE}/@v/v1.9.9.info", timeout=10)
        assert (missing.status_code, missing.text) == (404, "not found\n")
        assert requests.get(f"{running.url}/7/{MODULE}/@v/list", timeout=10).status_code == 404
        monkeypatch.setitem(relay.LIMITS, "zip", 100)
        cut = requests.get(f"{base}/{MODULE}/@v/{VERSION}.zip", timeout=10)
        assert (cut.status_code, len(cut.content)) == (200, 101)
        assert not handoff.file(settings, MODULE, VERSION, "zip").exists()
    assert relay.restore(base) == base  # stopped: nothing is rewritten any more


@one_database
def test_a_file_upstream_keeps_the_handoff_folder_ahead(settings: Settings):
    with Relay(settings) as running:
        assert running.goproxy() == handoff.goproxy(settings, settings.upstream)


def test_which_entries_are_relayed():
    """http(s) entries, once each; not plain http with credentials, which the go command
    refuses to send (relayed, they would be sent)."""
    value = "https://u:t0k3n@a.example,http://b.example|http://u:p@c.example,direct,off"
    assert relay._http_entries(value) == ["https://u:t0k3n@a.example", "http://b.example"]


@one_database
def test_what_go_prints_names_the_upstream_without_its_password(settings: Settings):
    credentialed = replace(settings, upstream="https://u:t0k3n-secret@a.example/p,direct")
    with Relay(credentialed) as running:
        assert running.goproxy() == f"{running.url}/0,direct"
        said = relay.restore(f"reading {running.url}/0/x.test/m/@v/list: 404 Not Found")
    assert said == "reading https://***@a.example/p/x.test/m/@v/list: 404 Not Found"
