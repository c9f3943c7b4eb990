"""The counting upstream's switches do what the chaos tests rely on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.fixtures.counting_upstream import CountingUpstream, split_request
from tests.fixtures.upstream import build_standard_upstream

ZIP = "/depot.test/!mixed!case/!lib/@v/v1.2.0.zip"
MODULE = "depot.test/MixedCase/Lib"


@pytest.fixture
def up(tmp_path: Path) -> Iterator[CountingUpstream]:
    with CountingUpstream(build_standard_upstream(tmp_path / "tree").root) as server:
        yield server


def test_split_request_decodes_case_escapes() -> None:
    assert split_request(ZIP) == (MODULE, "v1.2.0")
    assert split_request("/depot.test/chain/c/@v/list") == ("depot.test/chain/c", None)
    assert split_request("/depot.test/chain/c/@latest") == ("depot.test/chain/c", None)
    assert split_request("/sumdb/x/supported") == (None, None)


def test_serves_and_counts_percent_encoded_paths(up: CountingUpstream) -> None:
    whole = up.body_of(ZIP)
    assert whole
    resp = requests.get(up.url + ZIP.replace("!", "%21"), timeout=10)
    assert resp.status_code == 200 and resp.content == whole
    requests.head(up.url + ZIP, timeout=10)
    assert up.count(ZIP) == 2 and up.count_ending(".zip") == 2
    assert requests.get(up.url + "/../../etc/passwd", timeout=10).status_code == 404
    up.reset_counts()
    assert up.counts() == {}


def test_switches(up: CountingUpstream) -> None:
    whole = up.body_of(ZIP) or b""
    up.truncate_zip(MODULE, "v1.2.0", keep=0.25)
    short = requests.get(up.url + ZIP, timeout=10).content
    assert short == whole[: len(whole) // 4]
    up.serve_whole_zip(MODULE, "v1.2.0")

    up.set_status(503, MODULE)
    assert requests.get(up.url + ZIP, timeout=10).status_code == 503
    assert requests.get(up.url + "/depot.test/chain/c/@v/list", timeout=10).status_code == 200
    up.set_status(None, MODULE)

    up.delete_module(MODULE)
    assert requests.get(up.url + ZIP, timeout=10).status_code == 404
    up.restore_module(MODULE)

    up.set_delay(0.5)
    began = time.monotonic()
    assert requests.get(up.url + ZIP, timeout=10).status_code == 200
    assert time.monotonic() - began >= 0.5
    up.clear_switches()
    assert requests.get(up.url + ZIP, timeout=10).content == whole
