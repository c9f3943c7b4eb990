"""Complete graphs: the go.mod of a version that loading a build list reads without
selecting it is kept and served, so a consumer whose only GOPROXY is Depot loads the
graph.

Every module here says go 1.16 (no graph pruning: the go command reads the go.mod of
every version any version in the graph requires). x v1.0.0 is required only by
y v1.0.0, whose own graph also reaches x v1.1.0 (through z), so no build list selects
x v1.0.0 and no process job ever fetches it, yet every consumer of top, y, z or
x v1.1.0 reads its go.mod: the shape of testify's and objx's cycle in the real graph
(a consumer of bytedance/sonic v1.11.6 reads seven such go.mod files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.fsck import check
from app.models import GraphMod, VersionState
from app.pipeline.capture import get_version
from tests.conftest import app_on, go_client_env, run_go, start_server
from tests.fixtures.upstream import FixtureModule, fixture_module, upstream_of, write_consumer

X, Y, Z, TOP = ("depot.test/graphmod/x", "depot.test/graphmod/y", "depot.test/graphmod/z",
                "depot.test/graphmod/top")


def old_module(path: str, version: str, requires: dict[str, str]) -> FixtureModule:
    """A go 1.16 module whose go.mod requires modules its code does not import."""
    mod = fixture_module(path, version)
    lines = [f"module {path}", "", "go 1.16", ""]
    lines += [f"require {p} {v}" for p, v in sorted(requires.items())]
    mod.files["go.mod"] = ("\n".join(lines) + "\n").encode()
    return mod


@pytest.fixture
def graph_app(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    upstream = upstream_of(tmp_path / "graph-upstream", [
        old_module(X, "v1.0.0", {}),
        old_module(X, "v1.1.0", {Y: "v1.0.0"}),
        old_module(Y, "v1.0.0", {X: "v1.0.0", Z: "v1.0.0"}),
        old_module(Z, "v1.0.0", {X: "v1.1.0"}),
        old_module(TOP, "v1.0.0", {Y: "v1.0.0"}),
    ])
    with app_on(settings, upstream) as app:
        yield app, upstream


def test_a_go_mod_read_but_not_selected_is_kept_and_served(graph_app):
    graph_app, graph_upstream = graph_app
    done = graph_app.test_cli_runner().invoke(args=["ingest", f"{TOP}@v1.0.0", "--deps"])
    assert done.exit_code == 0, done.output
    svc = graph_app.extensions["depot"]
    with svc.db.session() as session:
        assert get_version(session, TOP, "v1.0.0").state == VersionState.published
        assert get_version(session, X, "v1.0.0") is None  # no version of its own
        kept = [(g.module_path, g.version) for g in session.scalars(select(GraphMod))]
    assert kept == [(X, "v1.0.0")]

    client = graph_app.test_client()
    want = (graph_upstream.root / X / "@v" / "v1.0.0.mod").read_bytes()
    mod = client.get(f"/{X}/@v/v1.0.0.mod")
    assert mod.status_code == 200 and mod.data == want
    assert "immutable" in mod.headers["Cache-Control"]
    assert client.get(f"/{X}/@v/v1.0.0.zip").status_code == 404
    assert client.get(f"/{X}/@v/v1.0.0.info").status_code == 404
    assert client.get(f"/{X}/@v/list").data == b"v1.1.0\n"  # only what can be built
    for path in (Y, Z):
        assert client.get(f"/{path}/@v/v1.0.0.zip").status_code == 200
    report = check(svc)
    assert report.ok and not report.problems, report.summary()

    # A second build list that reads the same file keeps it once.
    again = graph_app.test_cli_runner().invoke(args=["ingest", f"{TOP}@v1.0.0", "--deps"])
    assert again.exit_code == 0, again.output
    with svc.db.session() as session:
        assert len(session.scalars(select(GraphMod)).all()) == 1


def test_a_consumer_loads_an_unpruned_graph_through_depot_alone(graph_app, tmp_path: Path):
    graph_app, _upstream = graph_app
    done = graph_app.test_cli_runner().invoke(args=["ingest", f"{TOP}@v1.0.0", "--deps"])
    assert done.exit_code == 0, done.output
    svc = graph_app.extensions["depot"]
    server = start_server(svc.settings, tmp_path)
    try:
        consumer = write_consumer(tmp_path / "consumer", {TOP: "v1.0.0"})
        env = go_client_env(tmp_path / "client", server.url, "off")
        # Loading the whole graph (what `go mod tidy`, `go list -m all` and a build of
        # a package that needs it do) reads x v1.0.0's go.mod from Depot.
        listed = run_go(["list", "-m", "all"], consumer, env)
        assert listed.returncode == 0, listed.stderr
        assert f"{X} v1.1.0" in listed.stdout.splitlines()
        assert (tmp_path / "client" / "modcache" / "cache" / "download" / X / "@v"
                / "v1.0.0.mod").is_file()
        built = run_go(["build", "./..."], consumer, env)
        assert built.returncode == 0, built.stderr
    finally:
        server.stop()
