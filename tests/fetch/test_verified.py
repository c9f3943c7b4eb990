"""A graph load's zips fetched by Depot itself and kept only when they hash to what
the checksum database's verified record says (app/fetch/verified.py)."""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from app.config import Settings
from app.fetch import verified
from app.gomod.h1 import hash_zip
from app.gomod.paths import escape_path, escape_version
from tests.fixtures.upstream import Upstream, fixture_module, upstream_of

MODULE = "depot.test/verified/Lib"
VERSION = "v1.2.0"


def _record(modcache: Path, module: str, version: str, zip_h1: str,
            database: str = "sum.example.test") -> None:
    """A lookup record as the go command keeps one it verified (a signed note follows
    the record's lines; its contents do not matter here)."""
    folder = modcache / "cache" / "download" / "sumdb" / database / "lookup"
    name = f"{escape_path(module)}@{escape_version(version)}"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(
        f"1234\n{module} {version} {zip_h1}\n{module} {version}/go.mod h1:gomodhash=\n\n"
        "go.sum database tree\n5678\nroothash=\n\n— sum.example.test signature\n")


def _stem(modcache: Path, module: str, version: str) -> Path:
    return (modcache / "cache" / "download" / escape_path(module) / "@v"
            / escape_version(version))


@pytest.fixture
def tree(tmp_path: Path) -> Upstream:
    return upstream_of(tmp_path / "upstream", [fixture_module(MODULE, VERSION)])


@pytest.fixture
def own(tree: Upstream, tmp_path: Path) -> Settings:
    return Settings.from_env({"DEPOT_DATA_DIR": str(tmp_path / "data"),
                              "DEPOT_UPSTREAM": tree.url})


def test_the_zip_hash_is_read_from_the_verified_record(tmp_path: Path) -> None:
    _record(tmp_path, MODULE, VERSION, "h1:zipzipzip=")
    assert verified.vouched_h1(tmp_path, MODULE, VERSION) == "h1:zipzipzip="
    # The record's escaped name (upper case as !l), and nothing for another version.
    assert any("!lib@v1.2.0" in str(p) for p in tmp_path.rglob("*@v1.2.0"))
    assert verified.vouched_h1(tmp_path, MODULE, "v1.2.1") is None
    assert verified.vouched_h1(tmp_path / "elsewhere", MODULE, VERSION) is None


def test_a_record_of_another_module_says_nothing(tmp_path: Path) -> None:
    """Only a line naming this module and version counts, whatever the file holds."""
    _record(tmp_path, "depot.test/other", VERSION, "h1:other=")
    other = (tmp_path / "cache/download/sumdb/sum.example.test/lookup"
             / f"depot.test/other@{VERSION}")
    mine = other.parent / "verified" / f"!lib@{VERSION}"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(other.read_bytes())
    assert verified.vouched_h1(tmp_path, MODULE, VERSION) is None


def test_a_vouched_zip_is_put_in_place_as_the_go_command_would(
    own: Settings, tree: Upstream, tmp_path: Path
) -> None:
    modcache = tmp_path / "modcache"
    expected = hash_zip(io.BytesIO(tree.module(MODULE, VERSION).zip_bytes()))
    _record(modcache, MODULE, VERSION, expected)
    stem = _stem(modcache, MODULE, VERSION)
    seen_before: list[bool] = []

    def keep(answer: dict) -> None:
        seen_before.append(stem.with_name(stem.name + ".zip").exists())
        assert answer["h1"] == expected

    assert verified.fetch_verified(own, modcache, MODULE, VERSION, keep=keep) == ""
    zip_path = stem.with_name(stem.name + ".zip")
    assert zip_path.read_bytes() == tree.module(MODULE, VERSION).zip_bytes()
    assert stem.with_name(stem.name + ".ziphash").read_text() == expected
    assert stem.with_name(stem.name + ".info").is_file()  # fetched: none was there
    assert seen_before == [False], "keep must come before the zip is visible"
    assert not list(stem.parent.glob("*.partial"))
    # Asked again: it is there already, nothing is fetched.
    assert verified.fetch_verified(replace(own, upstream="off"), modcache, MODULE,
                                   VERSION) == ""


def test_a_zip_that_hashes_to_something_else_is_never_placed(
    own: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    modcache = tmp_path / "modcache"
    _record(modcache, MODULE, VERSION, "h1:notthezipatall=")
    problem = verified.fetch_verified(own, modcache, MODULE, VERSION)
    assert problem.startswith("checksum mismatch"), problem
    stem = _stem(modcache, MODULE, VERSION)
    assert not stem.with_name(stem.name + ".zip").exists()
    assert not stem.with_name(stem.name + ".ziphash").exists()
    assert not list(stem.parent.glob("*.partial"))
    assert "checksum database says h1:notthezipatall=" in caplog.text


def test_without_a_verified_record_nothing_is_fetched(own: Settings, tmp_path: Path) -> None:
    problem = verified.fetch_verified(own, tmp_path / "modcache", MODULE, VERSION)
    assert problem == "no verified checksum-database record"
    assert not (tmp_path / "modcache" / "cache" / "download" / "depot.test").exists()


def test_a_zip_breaking_the_rules_is_never_placed(own: Settings, tmp_path: Path) -> None:
    modcache = tmp_path / "modcache"
    _record(modcache, MODULE, VERSION, "h1:whatever=")

    def refuse(request: dict) -> dict:
        return {"error": "file is in vendor directory"}

    problem = verified.fetch_verified(own, modcache, MODULE, VERSION, check=refuse)
    assert problem == "the zip breaks the module-zip rules: file is in vendor directory"
    stem = _stem(modcache, MODULE, VERSION)
    assert not stem.with_name(stem.name + ".zip").exists()


def test_an_upstream_without_the_zip_is_said(own: Settings, tmp_path: Path) -> None:
    modcache = tmp_path / "modcache"
    _record(modcache, MODULE, "v9.9.9", "h1:whatever=")
    problem = verified.fetch_verified(own, modcache, MODULE, "v9.9.9")
    assert problem.startswith("the upstream has no such"), problem


def test_prefetch_fetches_the_leading_version_of_each_path_in_path_order(
    own: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offered go.mod files: each path's highest version so far is fetched, one at a
    time here, in path order (the client's); a lower version offered later is not."""
    modcache = tmp_path / "modcache"
    order: list[tuple[str, str]] = []
    started, gate = threading.Event(), threading.Event()

    def fetched(settings: Settings, cache: Path, module: str, version: str,
                check: object, keep: object) -> str:
        started.set()
        gate.wait(10)
        order.append((module, version))
        return ""

    monkeypatch.setattr(verified, "fetch_verified", fetched)
    monkeypatch.setattr(verified, "connect", lambda settings: None)
    for module, version in [("b.test/x", "v1.0.0"), ("a.test/y", "v1.1.0"),
                            ("a.test/y", "v1.0.0"), ("c.test/z", "v0.1.0")]:
        _record(modcache, module, version, "h1:x=")
    prefetch = verified.Prefetch(own, modcache, 1, 64, check=lambda request: {})
    try:
        # The one worker takes the first offered at once; the rest wait in path order.
        prefetch.offer([("c.test/z", "v0.1.0")])
        assert started.wait(10)
        prefetch.offer([("b.test/x", "v1.0.0"), ("a.test/y", "v1.1.0"),
                        ("a.test/y", "v1.0.0"), ("d.test/none", "v1.0.0")])
        gate.set()
        problems = prefetch.fetch([("a.test/y", "v1.1.0"), ("b.test/x", "v1.0.0"),
                                   ("c.test/z", "v0.1.0")])
    finally:
        prefetch.close()
    assert problems == ["", "", ""]
    assert order == [("c.test/z", "v0.1.0"), ("a.test/y", "v1.1.0"), ("b.test/x", "v1.0.0")]


def test_prefetch_tells_of_each_zip_it_put_in_place_and_of_no_other(
    own: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load's owner judges each zip as it is placed (app/goproxy/ahead.py) rather than
    scanning the module cache for it: a zip that was not placed is not told of."""
    modcache = tmp_path / "modcache"

    def fetched(settings: Settings, cache: Path, module: str, version: str,
                check: object, keep: object) -> str:
        return "checksum mismatch" if module == "b.test/x" else ""

    monkeypatch.setattr(verified, "fetch_verified", fetched)
    monkeypatch.setattr(verified, "connect", lambda settings: None)
    members = [("a.test/y", "v1.1.0"), ("b.test/x", "v1.0.0"), ("c.test/z", "v0.1.0")]
    for module, version in members:
        _record(modcache, module, version, "h1:x=")
    told: list[tuple[str, str]] = []
    prefetch = verified.Prefetch(own, modcache, 2, 64, check=lambda request: {},
                                 placed=lambda *key: told.append(key))
    try:
        problems = prefetch.fetch(members)
    finally:
        prefetch.close()
    assert problems == ["", "checksum mismatch", ""]
    assert sorted(told) == [("a.test/y", "v1.1.0"), ("c.test/z", "v0.1.0")]
