"""The go.mod files module graph loading reads without selecting their versions are in
the bundle too: a dependency whose go.mod predates graph pruning (go 1.16) makes the go
command read the whole graph, including a version of x that loses to a newer one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.bundle.test_bundle import offline_env, sums_ok, unpack
from tests.conftest import GO, app_on
from tests.fixtures.upstream import Upstream, fixture_module, upstream_of, write_consumer

X, Y, TOP = "depot.test/graph/x", "depot.test/graph/y", "depot.test/graph/top"


def _unpruned(path: str, version: str, requires: dict[str, str]):  # type: ignore[no-untyped-def]
    mod = fixture_module(path, version, requires)
    lines = [f"module {path}", "", "go 1.16", "", "require ("]
    lines += [f"\t{p} {v}" for p, v in sorted(requires.items())] + [")"]
    mod.files["go.mod"] = ("\n".join(lines) + "\n").encode()
    return mod


@pytest.fixture
def graph_upstream(tmp_path: Path) -> Upstream:
    return upstream_of(tmp_path / "graph-upstream", [
        fixture_module(X, "v1.0.0"),
        fixture_module(X, "v1.1.0"),
        fixture_module(Y, "v1.0.0", {X: "v1.0.0"}),
        _unpruned(TOP, "v1.0.0", {Y: "v1.0.0", X: "v1.1.0"}),
    ])


@pytest.fixture
def graph_app(settings, graph_upstream: Upstream):  # type: ignore[no-untyped-def]
    with app_on(settings, graph_upstream) as app:
        yield app


def test_unselected_go_mod_files_are_bundled(graph_app, tmp_path: Path):
    runner = graph_app.test_cli_runner()
    for target in (f"{X}@v1.0.0", f"{TOP}@v1.0.0"):
        done = runner.invoke(args=["ingest", target, "--deps"])
        assert done.exit_code == 0, done.output
    out = tmp_path / "top.tar.gz"
    done = runner.invoke(args=["bundle", f"{TOP}@v1.0.0", "-o", str(out)])
    assert done.exit_code == 0, done.output
    top = unpack(out, tmp_path / "unpacked")
    sums_ok(top)
    manifest = json.loads((top / "manifest.json").read_text())
    members = {(m["path"], m["version"]): m for m in manifest["members"]}
    assert members[(X, "v1.0.0")]["files"] == ["info", "mod"]  # read, not selected: no zip
    assert not members[(X, "v1.0.0")]["in_build_list"]
    assert "zip" in members[(X, "v1.1.0")]["files"]
    assert manifest["go_mod_only"] == 1
    # x v1.0.0 is not offered by @v/list: there is no zip of it to build with.
    assert (top / "goproxy" / X / "@v" / "list").read_text() == "v1.1.0\n"

    consumer = write_consumer(tmp_path / "consumer", {TOP: "v1.0.0"})
    env = offline_env(tmp_path / "go", top / "goproxy")
    done = subprocess.run([GO, "build", "./..."], cwd=consumer, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    built = set((consumer / "go.sum").read_text().splitlines())
    assert built == set((top / "go.sum").read_text().splitlines())
    assert f"{X} v1.0.0/go.mod" in " ".join(built)

    (top / "goproxy" / X / "@v" / "v1.0.0.mod").unlink()
    again = subprocess.run([GO, "build", "./..."], cwd=write_consumer(
        tmp_path / "consumer2", {TOP: "v1.0.0"}), env=offline_env(tmp_path / "go2",
                                                                  top / "goproxy"),
        capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and f"{X}@v1.0.0" in again.stderr, again.stderr
