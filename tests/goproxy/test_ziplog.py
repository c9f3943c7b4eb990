"""The sidecar's zip log becomes download counts: each line once, across processes,
restarts and log rotation; and only canonical URLs of published zips skip Depot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask

from app.goproxy.accel import servable
from app.goproxy.ziplog import ZipLog, parse_line
from app.ingest import ingest


@pytest.mark.parametrize(("line", "module"), [
    ("200 GET /depot.test/!mixed!case/!lib/@v/v1.2.0.zip", "depot.test/MixedCase/Lib"),
    ("206 GET /depot.test/chain/c/@v/v1.0.0.zip", "depot.test/chain/c"),
    ("200 HEAD /depot.test/chain/c/@v/v1.0.0.zip", None),
    ("304 GET /depot.test/chain/c/@v/v1.0.0.zip", None),
    ("200 GET /depot.test/chain/c/@v/v1.0.0.mod", None),
    ("200 GET /depot.test/Bad/@v/v1.0.0.zip", None),
    ("garbage", None),
])
def test_parse_line(line: str, module: str | None):
    assert parse_line(line) == module


def test_lines_are_counted_once_and_rotation_starts_over(tmp_path: Path):
    log = tmp_path / "zips.log"
    log.write_text("200 GET /depot.test/a/@v/v1.0.0.zip\n200 GET /depot.test/a/@v/v1.0.1.zip\n"
                   "200 GET /depot.test/b/@v/v1.0.0.zip\n200 GET /depot.test/b/@v/v1")
    first = ZipLog(log, tmp_path)
    assert first.read_new() == {"depot.test/a": 2, "depot.test/b": 1}
    assert first.read_new() == {}  # the half-written line waits
    with open(log, "a") as fh:
        fh.write(".1.zip\n")
    # Another process (a new reader on the same state) continues where the first stopped.
    assert ZipLog(log, tmp_path).read_new() == {"depot.test/b": 1}
    rotated = tmp_path / "zips.log.1"
    os.rename(log, rotated)
    log.write_text("200 GET /depot.test/c/@v/v1.0.0.zip\n")
    assert first.read_new() == {"depot.test/c": 1}
    assert ZipLog(tmp_path / "absent.log", tmp_path).read_new() == {}


def test_only_canonical_urls_of_published_zips_may_skip_depot(app: Flask):
    assert ingest(app.extensions["depot"], "depot.test/MixedCase/Lib", "v1.2.0").ok
    with app.app_context():
        assert servable("/depot.test/!mixed!case/!lib/@v/v1.2.0.zip") == (
            "depot.test/MixedCase/Lib", "v1.2.0")
        for uri in ("/depot.test/!mixed!case/!lib/@v/v1.2.0.mod",
                    "/depot.test/!mixed!case/!lib/@v/v1.2.1.zip",  # not in Depot
                    "/depot.test/%21mixed%21case/%21lib/@v/v1.2.0.zip",
                    "/depot.test/!mixed!case/!lib/@v/../@v/v1.2.0.zip",
                    "/depot.test/!mixed!case/!lib/@v/v1.2.0.zip?x=1",
                    "//depot.test/!mixed!case/!lib/@v/v1.2.0.zip",
                    "/depot.test/MixedCase/Lib/@v/v1.2.0.zip", ""):
            assert servable(uri) is None, uri


def test_each_pod_keeps_its_own_position_in_a_shared_data_folder(tmp_path: Path):
    shared = tmp_path / "locks"  # on the volume every web pod mounts
    shared.mkdir()
    logs = {}
    for pod in ("web-1", "web-2"):  # each sidecar logs into its own folder
        logs[pod] = tmp_path / pod / "zips.log"
        logs[pod].parent.mkdir()
        logs[pod].write_text(f"200 GET /depot.test/{pod}/@v/v1.0.0.zip\n")
    readers = {pod: ZipLog(logs[pod], shared, host=pod) for pod in logs}
    for _ in range(3):  # taking turns must not reset each other's position
        assert readers["web-1"].read_new() in ({"depot.test/web-1": 1}, {})
        assert readers["web-2"].read_new() in ({"depot.test/web-2": 1}, {})
    with open(logs["web-1"], "a") as fh:
        fh.write("200 GET /depot.test/web-1/@v/v1.0.1.zip\n")
    assert readers["web-2"].read_new() == {}
    assert readers["web-1"].read_new() == {"depot.test/web-1": 1}
