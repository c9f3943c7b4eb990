"""Prove the fake upstream and fixture sumdb with the real go command.

Other tests trust these fixtures to behave like proxy.golang.org and
sum.golang.org; if the go command accepts them here (GOSUMDB on, empty module
cache), it will accept Depot serving the same bytes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
import zipfile
from pathlib import Path

import pytest

from app.fetch.gotool import parse_json_stream
from tests.conftest import run_go
from tests.fixtures.sumdb import SumDB, go_env, start_sumdb
from tests.fixtures.upstream import (
    CONSUMER_REQUIRES,
    DEPRECATION,
    PSEUDO_VERSION,
    RETRACT_RATIONALE,
    Upstream,
    build_standard_upstream,
    greeting,
    module_dir,
    module_files,
    retag,
    write_consumer,
)


def _cache_dir(config: pytest.Config) -> Path:
    return Path(config.cache.mkdir("fixturesumdb"))


def test_tree_layout_matches_proxy_protocol(upstream: Upstream, truth: Upstream) -> None:
    root = upstream.root
    assert (root / "depot.test/!mixed!case/!lib/@v/v1.2.0.zip").is_file()
    assert (root / "depot.test/!mixed!case/!lib/@v/list").read_text() == "v1.2.0\n"
    assert (root / "depot.test/retract/@v/list").read_text() == "v1.0.0\nv1.0.1\nv1.1.0\n"
    assert (root / "depot.test/legacy/@v/list").read_text() == "v1.0.0\nv2.0.0+incompatible\n"
    assert (root / "depot.test/pseudo/@v/list").read_text() == ""
    assert json.loads((root / "depot.test/pseudo/@latest").read_text())["Version"] == (
        PSEUDO_VERSION
    )
    info = json.loads((root / "depot.test/chain/a/@v/v1.1.0.info").read_text())
    assert info == {"Version": "v1.1.0", "Time": "2024-01-02T03:04:05Z"}

    legacy = module_dir(root, "depot.test/legacy")
    with zipfile.ZipFile(legacy / "v2.0.0+incompatible.zip") as zf:
        names = set(zf.namelist())
    prefix = "depot.test/legacy@v2.0.0+incompatible/"
    assert names == {prefix + "LICENSE", prefix + "README.md", prefix + "legacy.go"}
    assert (legacy / "v2.0.0+incompatible.mod").read_bytes() == b"module depot.test/legacy\n"

    # Deterministic: two independent builds are byte-identical.
    files = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(truth.root) for p in truth.root.rglob("*") if p.is_file())
    for rel in files:
        assert (root / rel).read_bytes() == (truth.root / rel).read_bytes(), rel


def test_download_every_module_verified_by_sumdb(
    upstream: Upstream, sumdb: SumDB, tmp_path: Path
) -> None:
    env = go_env(tmp_path, goproxy=upstream.url, gosumdb=sumdb.gosumdb)
    specs = [f"{m.path}@{m.version}" for m in upstream.modules]
    proc = run_go(["mod", "download", "-json", *specs], tmp_path / "work", env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = parse_json_stream(proc.stdout)
    assert sorted(f"{r['Path']}@{r['Version']}" for r in results) == sorted(specs)
    for r in results:
        assert "Error" not in r, r
        assert str(r["Sum"]).startswith("h1:")

    # The go command really consulted our database...
    assert (tmp_path / "gopath/pkg/sumdb/depot.test.sumdb/latest").is_file()
    # ...and the database agrees with what was downloaded (case-encoded lookup).
    mixed = next(r for r in results if r["Path"] == "depot.test/MixedCase/Lib")
    with urllib.request.urlopen(f"{sumdb.url}/lookup/depot.test/!mixed!case/!lib@v1.2.0") as resp:
        record = resp.read().decode()
    assert f"depot.test/MixedCase/Lib v1.2.0 {mixed['Sum']}\n" in record
    assert f"depot.test/MixedCase/Lib v1.2.0/go.mod {mixed['GoModSum']}\n" in record


def test_versions_retractions_and_deprecation(
    upstream: Upstream, sumdb: SumDB, tmp_path: Path
) -> None:
    env = go_env(tmp_path, goproxy=upstream.url, gosumdb=sumdb.gosumdb)
    work = tmp_path / "work"

    def go_out(*args: str) -> str:
        proc = run_go(list(args), work, env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    assert go_out("list", "-m", "-versions", "depot.test/retract").split() == [
        "depot.test/retract",
        "v1.0.0",
        "v1.1.0",
    ]
    assert go_out("list", "-m", "-retracted", "-versions", "depot.test/retract").split() == [
        "depot.test/retract",
        "v1.0.0",
        "v1.0.1",
        "v1.1.0",
    ]
    retracted = json.loads(go_out("list", "-m", "-json", "-retracted", "depot.test/retract@v1.0.1"))
    assert retracted["Retracted"] == [RETRACT_RATIONALE]
    deprecated = json.loads(go_out("list", "-m", "-json", "-u", "depot.test/deprecated@v1.0.0"))
    assert deprecated["Deprecated"] == DEPRECATION
    assert go_out("list", "-m", "depot.test/pseudo@latest").split() == [
        "depot.test/pseudo",
        PSEUDO_VERSION,
    ]
    # +incompatible is listed, but not "latest" while a go.mod-bearing v1 exists.
    assert go_out("list", "-m", "depot.test/legacy@latest").split() == [
        "depot.test/legacy",
        "v1.0.0",
    ]


def test_consumer_builds_and_runs(upstream: Upstream, sumdb: SumDB, tmp_path: Path) -> None:
    env = go_env(tmp_path, goproxy=upstream.url, gosumdb=sumdb.gosumdb)
    consumer = write_consumer(tmp_path / "consumer", CONSUMER_REQUIRES)
    proc = run_go(["run", "."], consumer, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(CONSUMER_REQUIRES)
    for path, version in CONSUMER_REQUIRES.items():
        assert any(line.startswith(greeting(path, version)) for line in lines), (path, lines)
    chain = greeting("depot.test/chain/a", "v1.1.0")
    chain += " <- " + greeting("depot.test/chain/b", "v1.0.0")
    chain += " <- " + greeting("depot.test/chain/c", "v1.0.0")
    assert chain in lines
    go_sum = (consumer / "go.sum").read_text()
    assert "depot.test/chain/c v1.0.0/go.mod h1:" in go_sum


def _forged_c() -> dict[str, bytes]:
    files = module_files("depot.test/chain/c", "v1.0.0")
    files["c.go"] = files["c.go"].replace(b"hello from", b"pwned by")
    return files


def _assert_checksum_refused(proc: subprocess.CompletedProcess[str]) -> None:
    """With -json the go command reports the failure in the object's Error, not on stderr."""
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "SECURITY ERROR" in output, output
    assert "verifying" in output and "checksum mismatch" in output, output


def test_lying_upstream_is_refused(upstream: Upstream, sumdb: SumDB, tmp_path: Path) -> None:
    spec = ["mod", "download", "-json", "depot.test/chain/c@v1.0.0"]
    honest = run_go(
        spec, tmp_path / "w1", go_env(tmp_path / "h1", goproxy=upstream.url, gosumdb=sumdb.gosumdb)
    )
    assert honest.returncode == 0, honest.stdout + honest.stderr

    liar = tmp_path / "liar"
    shutil.copytree(upstream.root, liar)
    retag(liar, "depot.test/chain/c", "v1.0.0", _forged_c())
    lied = run_go(
        spec, tmp_path / "w2", go_env(tmp_path / "h2", goproxy=liar.as_uri(), gosumdb=sumdb.gosumdb)
    )
    _assert_checksum_refused(lied)


def test_sumdb_pins_first_lookup(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """With truth == served tree, a retag after the first lookup is still caught."""
    up = build_standard_upstream(tmp_path / "proxy")
    spec = ["mod", "download", "-json", "depot.test/chain/c@v1.0.0"]
    with start_sumdb(up.root, _cache_dir(request.config)) as db:
        first = run_go(
            spec, tmp_path / "w1", go_env(tmp_path / "h1", goproxy=up.url, gosumdb=db.gosumdb)
        )
        assert first.returncode == 0, first.stdout + first.stderr
        retag(up.root, "depot.test/chain/c", "v1.0.0", _forged_c())
        second = run_go(
            spec, tmp_path / "w2", go_env(tmp_path / "h2", goproxy=up.url, gosumdb=db.gosumdb)
        )
    _assert_checksum_refused(second)
