"""A held member does not sink a module: a version whose build list holds a module
Depot may not redistribute is published, and its request ends "published" with a mark
naming what its consumers must get from the origin (GOPROXY=<this Depot>,direct)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.models import RequestSource, VersionState
from app.pipeline.capture import get_version
from app.pipeline.inline import InlineDispatcher
from app.pipeline.requests import status, submit
from app.pipeline.stages import Pipeline
from tests.conftest import go_client_env, make_app, run_go, services_on, start_server
from tests.fixtures.upstream import (
    fixture_module,
    func_name,
    go_mod_text,
    upstream_of,
)
from tests.pipeline.queued import AsWorkers, NoCrawl

HELD = "depot.test/heldmember/unlicensed"
TOP = "depot.test/heldmember/top"
# Requires HELD without importing it (as client_golang v1.11.1 reaches kr/logfmt, which
# only a test of one of its members imports): its consumers never build HELD's code.
LOOSE = "depot.test/heldmember/loose"


@pytest.fixture
def held_services(services, tmp_path: Path):  # type: ignore[no-untyped-def]
    held = fixture_module(HELD, "v1.0.0")
    del held.files["LICENSE"]
    loose = fixture_module(LOOSE, "v1.0.0")
    # go 1.16: no graph pruning, so a consumer's go command reads HELD's go.mod.
    loose.files["go.mod"] = go_mod_text(LOOSE, {HELD: "v1.0.0"}).replace(b"go 1.21", b"go 1.16")
    modules = [held, fixture_module(TOP, "v1.0.0", {HELD: "v1.0.0"}), loose]
    return services_on(services, upstream_of(tmp_path / "held-upstream", modules))


def test_a_held_member_is_named_not_fatal(held_services):
    dispatcher = InlineDispatcher(held_services)
    done = submit(held_services, dispatcher, TOP, "v1.0.0", RequestSource.api)
    dispatcher.drain(Pipeline(held_services, dispatcher))
    with held_services.db.session() as session:
        assert get_version(session, TOP, "v1.0.0").state == VersionState.published
        held = get_version(session, HELD, "v1.0.0")
        assert held.state == VersionState.staged and held.redistributable is False
    asked = status(held_services, done.request_id)
    assert asked["state"] == "published"
    assert asked["reason"].startswith(
        f"1 module of its build list is not served here: {HELD}@v1.0.0 — license not "
        "redistributable")
    assert "GOPROXY=<this Depot>,direct" in asked["reason"]
    assert [u["module"] for u in asked["unserved"]] == [HELD]

    app = make_app(held_services.settings)
    try:
        client = app.test_client()
        tab = client.get(f"/{TOP}@v1.0.0?tab=dependencies").get_data(as_text=True)
        line = tab[tab.index(f'<span class="path">{HELD}</span>'):].split("</li>")[0]
        assert ">held</span>" in line and "license not redistributable" in line
        assert "not in Depot" not in line
        api = client.get(f"/api/v1/modules/{TOP}/dependencies?version=v1.0.0").get_json()
        (dep,) = api["dependencies"]
        assert dep["in_depot"] is False and dep["held"].startswith("license not redistributable")

        # The version's page and its API say it is published with a held member.
        page = client.get(f"/{TOP}@v1.0.0").get_data(as_text=True)
        notice = page[page.index('id="unserved"'):].split("</div>")[0]
        assert "Published with 1 held module" in notice
        assert "GOPROXY=http://localhost,direct" in notice
        assert f"{HELD}@v1.0.0</a> — license not redistributable" in notice
        assert 'id="bundle-download"' not in page  # it could not be built: no dead button
        (unserved,) = client.get(f"/api/v1/modules/{TOP}?version=v1.0.0").get_json()["version"][
            "unserved"]
        assert unserved["module"] == HELD and unserved["reason"].startswith("license not")
        # The request's reason names this server, as its asker reaches it.
        asked = client.get(f"/api/v1/requests/{done.request_id}").get_json()
        assert "GOPROXY=http://localhost,direct" in asked["reason"]
        shown = client.get(f"/request/{done.request_id}").get_data(as_text=True)
        assert "<strong>Published with 1 held module.</strong>" in shown
    finally:
        app.extensions["depot"].db.dispose()


def test_a_held_member_still_captured_is_named_when_the_request_ends(held_services):
    """As the workers run it, the member is stored and gated, its own build list left to
    a crawl: still `captured` when the request ends, held all the same (viper v1.19.0's
    request said "published" with nothing named while pascaldekloe/goe answered 410)."""
    dispatcher = NoCrawl(held_services)
    done = submit(held_services, dispatcher, TOP, "v1.0.0", RequestSource.api)
    dispatcher.drain(AsWorkers(held_services, dispatcher))
    with held_services.db.session() as session:
        held = get_version(session, HELD, "v1.0.0")
        assert held.state == VersionState.captured and held.redistributable is False
    asked = status(held_services, done.request_id)
    assert asked["state"] == "published"
    assert asked["reason"].startswith(f"1 module of its build list is not served here: {HELD}")
    assert [u["module"] for u in asked["unserved"]] == [HELD]


def test_a_held_member_s_go_mod_is_served_so_a_consumer_that_never_builds_it_builds(
    held_services, tmp_path: Path
) -> None:
    """github.com/prometheus/client_golang@v1.11.1's consumers failed `go get` through
    Depot alone: graph loading reads github.com/kr/logfmt's go.mod, which Depot answered
    410 (no license file). The gate keeps the code (the zip) back; the go.mod, a list of
    requirements, is served, as for any version graph loading reads."""
    dispatcher = InlineDispatcher(held_services)
    submit(held_services, dispatcher, LOOSE, "v1.0.0", RequestSource.api)
    dispatcher.drain(Pipeline(held_services, dispatcher))
    app = make_app(held_services.settings)
    try:
        client = app.test_client()
        mod = client.get(f"/{HELD}/@v/v1.0.0.mod")
        assert mod.status_code == 200 and mod.data.startswith(f"module {HELD}".encode())
        for kind in ("zip", "info"):
            refused = client.get(f"/{HELD}/@v/v1.0.0.{kind}")
            assert refused.status_code == 410
            assert "license not redistributable" in refused.get_data(as_text=True)
    finally:
        app.extensions["depot"].db.dispose()

    server = start_server(held_services.settings, tmp_path, workers=1)
    try:
        home = tmp_path / "client"
        work = home / "work"
        work.mkdir(parents=True)
        (work / "go.mod").write_text("module depot.test/consumer\n\ngo 1.21\n")
        (work / "main.go").write_text(f'package main\n\nimport l "{LOOSE}"\n\n'
                                      f"func main() {{ println(l.{func_name(LOOSE)}()) }}\n")
        env = go_client_env(home, server.url, "off")
        got = run_go(["get", f"{LOOSE}@v1.0.0"], work, env)
        assert got.returncode == 0, got.stderr
        built = run_go(["build", "-o", str(home / "consumer"), "."], work, env)
        assert built.returncode == 0, built.stderr
        # What needs the held code still gets the 410 and its reason.
        whole = run_go(["mod", "download", "all"], work, env)
        assert whole.returncode != 0 and "license not redistributable" in whole.stderr
    finally:
        server.stop()
