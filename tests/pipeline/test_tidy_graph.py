"""`go mod tidy` in a consumer needs more than `go get` does: the modules the tests of
its dependencies import, at the versions their go.mod files require; and what it needs
follows what the consumer imports.

The shape of viper v1.19.0 in the real graph: top (go 1.21, a pruned graph) imports
yaml in its root package and etcd in top/remote; yaml's and etcd's own code imports
nothing, their tests import check, and their go.mod files (no go line, so go 1.16:
tidy loads their packages' tests) require check v1.0.0 and v1.1.0. `go list -m all` of
a consumer that requires top names top, yaml and etcd only (pruning leaves their
requirements out), so Depot never fetched check, and through a 404-mode Depot alone a
tidy of viper's consumer failed where the upstream alone passed ("gopkg.in/check.v1 …
not at required version v1.0.0-2019…"). A consumer importing both packages tidies with
check v1.1.0; one importing the root package only promotes yaml alone, and tidies with
check v1.0.0 (viper's root package: go-cmp v0.5.9, its remote package too: v0.6.0).
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from flask import Flask

from app.catalog.graph import build_list_of
from app.config import Settings
from app.models import RequestSource, VersionState, vouched
from app.pipeline.buildlist import clean_room
from app.pipeline.capture import get_version
from app.pipeline.inline import InlineDispatcher
from app.pipeline.requests import status, submit
from app.resources import Services
from tests.bundle.test_bundle import offline_env, unpack
from tests.conftest import (
    BACKENDS,
    GO,
    app_on,
    fresh_app,
    go_client_env,
    loaded_once,
    run_go,
    services_on,
    start_server,
)
from tests.fixtures.catalog import portal_settings
from tests.fixtures.upstream import (
    FixtureModule,
    fixture_module,
    func_name,
    package_name,
    upstream_of,
    write_consumer,
)
from tests.pipeline.queued import AsWorkers, NoCrawl

CHECK, YAML, ETCD, TOP = ("depot.test/tidy/check", "depot.test/tidy/yaml",
                          "depot.test/tidy/etcd", "depot.test/tidy/top")


def helped_in_tests(path: str, version: str, helper: str, helper_version: str) -> FixtureModule:
    """A module whose code imports nothing and whose test imports ``helper``."""
    mod = fixture_module(path, version)
    # Like gopkg.in/yaml.v3's, a go.mod older than graph pruning (no go line: go 1.16):
    # `go mod tidy` loads the tests of such a module's packages in a consumer.
    mod.files["go.mod"] = f"module {path}\n\nrequire {helper} {helper_version}\n".encode()
    pkg = package_name(path)
    mod.files[f"{pkg}_test.go"] = (
        f'package {pkg}\n\nimport (\n\t"testing"\n\n\th "{helper}"\n)\n\n'
        f"func TestWithHelper(t *testing.T) {{\n\tif h.{func_name(helper)}() == \"\" "
        f"{{\n\t\tt.Fatal(\"empty\")\n\t}}\n}}\n"
    ).encode()
    return mod


def with_remote(mod: FixtureModule, imports: str) -> FixtureModule:
    """``mod`` with a package ``remote`` that imports ``imports``'s root package."""
    mod.files["remote/remote.go"] = (
        f'package remote\n\nimport d "{imports}"\n\n'
        "// Remote calls the dependency.\n"
        f"func Remote() string {{ return d.{func_name(imports)}() }}\n"
    ).encode()
    return mod


def modules() -> list[FixtureModule]:
    top = fixture_module(TOP, "v1.0.0", {YAML: "v1.0.0", ETCD: "v1.0.0"})
    top.files[f"{package_name(TOP)}.go"] = fixture_module(TOP, "v1.0.0", {YAML: "v1.0.0"}).files[
        f"{package_name(TOP)}.go"]  # the root package imports yaml only
    return [fixture_module(CHECK, "v1.0.0"), fixture_module(CHECK, "v1.1.0"),
            helped_in_tests(YAML, "v1.0.0", CHECK, "v1.0.0"),
            helped_in_tests(ETCD, "v1.0.0", CHECK, "v1.1.0"),
            with_remote(top, ETCD)]


def ingest_top(app: Flask) -> None:
    done = app.test_cli_runner().invoke(args=["ingest", f"{TOP}@v1.0.0", "--deps"])
    assert done.exit_code == 0, done.output


@pytest.fixture(scope="module", params=BACKENDS)
def tidy_settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Settings]:
    """TOP and its graph ingested once per backend, for the tests that only read them."""
    folder = tmp_path_factory.mktemp("tidy")
    upstream = upstream_of(folder / "tidy-upstream", modules())
    with loaded_once(request.param, folder, partial(portal_settings, upstream=upstream,
                                                    go_bin=GO), ingest_top) as settings:
        yield settings


@pytest.fixture
def tidy_app(tidy_settings: Settings) -> Iterator[Flask]:
    """A new app on the shared instance: read-only."""
    with fresh_app(tidy_settings) as app:
        yield app


@pytest.fixture
def tidy_app_own(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """TOP ingested into this test's own instance, for a test that writes (a bundle is
    kept in the data folder)."""
    with app_on(settings, upstream_of(tmp_path / "tidy-upstream", modules())) as app:
        ingest_top(app)
        yield app


def test_the_build_list_names_what_tidy_loads_for_the_tests_of_dependencies(tidy_app):
    svc = tidy_app.extensions["depot"]
    with svc.db.session() as session:
        top = get_version(session, TOP, "v1.0.0")
        assert top.state == VersionState.published
        # The contract's consumer (every package imported, tidied) selects check v1.1.0 ...
        assert build_list_of(session, top.id) == {YAML: "v1.0.0", ETCD: "v1.0.0",
                                                  CHECK: "v1.1.0"}
        # ... and a consumer of the root package alone v1.0.0: kept, not selected.
        assert {(m.path, m.member_version) for m in top.build_list if not m.selected} == {
            (CHECK, "v1.0.0")}
        for version in ("v1.0.0", "v1.1.0"):
            assert get_version(session, CHECK, version).state == VersionState.published


def test_a_consumer_tidies_through_a_404_mode_depot_alone_when_its_request_ends(
    services: Services, tmp_path: Path
) -> None:
    services = services_on(services, upstream_of(tmp_path / "upstream", modules()))
    assert services.settings.on_miss == "404"  # nothing is fetched for a client's miss
    dispatcher = NoCrawl(services)
    done = submit(services, dispatcher, TOP, "v1.0.0", RequestSource.api)
    dispatcher.drain(AsWorkers(services, dispatcher))
    shown = status(services, done.request_id)
    assert shown is not None and shown["state"] == "published", shown

    server = start_server(services.settings, tmp_path, workers=1)
    try:
        for name, remote, check in (("root", False, "v1.0.0"), ("both", True, "v1.1.0")):
            consumer = write_consumer(tmp_path / name, {TOP: "v1.0.0"})
            if remote:
                (consumer / "remote.go").write_text(
                    f'package main\n\nimport _ "{TOP}/remote"\n')
            env = go_client_env(tmp_path / f"client-{name}", server.url, "off")
            tidied = run_go(["mod", "tidy"], consumer, env)
            assert tidied.returncode == 0, (name, tidied.stderr)
            # tidy loaded yaml's (and etcd's) test from check's zip: its hash is kept.
            assert f"{CHECK} {check} h1:" in (consumer / "go.sum").read_text(), name
            built = run_go(["build", "./..."], consumer, env)
            assert built.returncode == 0, (name, built.stderr)
    finally:
        server.stop()


def test_the_clean_room_fails_a_version_whose_consumer_cannot_tidy_through_depot(
    tidy_app, tmp_path: Path
):
    """The contract checks tidy: the same store without check's files is Depot's fault,
    though `go get` and the packages' own imports load without them."""
    svc = tidy_app.extensions["depot"]
    whole = Path(svc.store.goproxy_url().removeprefix("file://"))
    lacking = tmp_path / "lacking"
    shutil.copytree(whole, lacking)
    shutil.rmtree(lacking / CHECK)
    gocache = tmp_path / "gocache"

    def judged(store: Path):  # type: ignore[no-untyped-def]
        work = tmp_path / f"work-{store.name}"
        return clean_room(svc.settings, work, gocache, store.as_uri(), [(TOP, "v1.0.0")])

    assert judged(whole).ok
    verdict = judged(lacking)
    assert not verdict.ok
    assert verdict.reason.startswith("only through Depot: ")
    assert CHECK in verdict.reason


def test_an_offline_bundle_carries_what_tidy_needs(tidy_app_own, tmp_path: Path):
    """Both consumers tidy and build from the bundle alone, no network."""
    out = tmp_path / "top.tar.gz"
    done = tidy_app_own.test_cli_runner().invoke(args=["bundle", f"{TOP}@v1.0.0", "-o", str(out)])
    assert done.exit_code == 0, done.output
    top = unpack(out, tmp_path / "unpacked")
    for version in ("v1.0.0", "v1.1.0"):
        assert (top / "goproxy" / CHECK / "@v" / f"{version}.zip").is_file(), version
    for name, remote in (("root", False), ("both", True)):
        consumer = write_consumer(tmp_path / name, {TOP: "v1.0.0"})
        if remote:
            (consumer / "remote.go").write_text(f'package main\n\nimport _ "{TOP}/remote"\n')
        env = offline_env(tmp_path / f"go-{name}", top / "goproxy")
        for args in (["mod", "tidy"], ["build", "./..."]):
            ran = run_go(args, consumer, env)
            assert ran.returncode == 0, (name, args, ran.stderr)


LOOK, SLOPPY = "depot.test/tidy/look", "depot.test/tidy/sloppy"


def test_a_module_that_leaves_an_import_to_a_lookup_keeps_what_tidy_needs_besides(
    settings, tmp_path: Path
) -> None:
    """prometheus v0.51.2 imports a module its go.mod does not require (the go command
    finds it at @latest); its build list fell back to the `go get` graph, so what its
    consumers' tidy reads (pascaldekloe/goe, held for its license, through the tests of
    armon/go-metrics) was never named: "published" with no mark, and a consumer's tidy
    through Depot alone failed on a 410. Now the `go get` graph stays ``selected`` and
    the rest of what tidy needs is ``also``, the looked-up module apart."""
    from dataclasses import replace

    from app.pipeline.buildlist import build_list

    sloppy = fixture_module(SLOPPY, "v1.0.0", {YAML: "v1.0.0", LOOK: "v1.0.0"})
    sloppy.files["go.mod"] = (f"module {SLOPPY}\n\ngo 1.21\n\n"
                              f"require {YAML} v1.0.0\n").encode()  # LOOK left out
    upstream = upstream_of(tmp_path / "upstream", [
        fixture_module(CHECK, "v1.0.0"), helped_in_tests(YAML, "v1.0.0", CHECK, "v1.0.0"),
        fixture_module(LOOK, "v1.0.0"), sloppy])
    here = replace(settings, upstream=upstream.url, gosumdb="off")
    workdir = tmp_path / "work"
    workdir.mkdir()
    members = build_list(here, workdir, SLOPPY, "v1.0.0", upstream.url, [], tidy=True)
    assert set(members.selected) == {(SLOPPY, "v1.0.0"), (YAML, "v1.0.0")}
    assert members.also == [(CHECK, "v1.0.0")]


class Held(InlineDispatcher):
    """The in-process queue, holding back the jobs of the stages in ``held``."""

    def __init__(self, services: Services, held: set[str]) -> None:
        super().__init__(services)
        self.held = held

    def enqueue(self, stage: str, *args: str) -> None:
        if stage not in self.held:
            super().enqueue(stage, *args)


def _crawled(services: Services, held: set[str]) -> None:
    """TOP stored the way a crawl stores a member nobody asked for: the `go get` graph."""
    dispatcher = Held(services, held)
    pipeline = AsWorkers(services, dispatcher)
    with services.db.session() as session:
        pipeline.ensure_pending(session, TOP, "v1.0.0")
    dispatcher.enqueue("process", TOP, "v1.0.0")
    dispatcher.drain(pipeline)
    with services.db.session() as session:
        top = get_version(session, TOP, "v1.0.0")
        assert top.build_list_tidied is False
        assert (CHECK, "v1.1.0") not in {(m.path, m.member_version) for m in top.build_list}


def _tidied(services: Services) -> None:
    with services.db.session() as session:
        top = get_version(session, TOP, "v1.0.0")
        assert top.state == VersionState.published and top.build_list_tidied
        assert build_list_of(session, top.id)[CHECK] == "v1.1.0"
        for version in ("v1.0.0", "v1.1.0"):  # stored, and served with TOP
            assert vouched(session, CHECK, version), version


def test_a_published_member_asked_for_later_gets_its_build_list_tidied(
    services: Services, tmp_path: Path
) -> None:
    """viper v1.19.0 published as another request's member keeps the `go get` graph;
    when someone asks for it, its consumers' tidy through Depot alone needs check."""
    services = services_on(services, upstream_of(tmp_path / "upstream", modules()))
    _crawled(services, held=set())
    dispatcher = InlineDispatcher(services)
    done = submit(services, dispatcher, TOP, "v1.0.0", RequestSource.api)
    assert status(services, done.request_id)["state"] == "published"  # answered at once
    assert [stage for stage, _ in dispatcher.queue] == ["tidy"]
    dispatcher.drain(AsWorkers(services, dispatcher))
    _tidied(services)


def test_a_staged_member_asked_for_before_its_validation_is_tidied_first(
    services: Services, tmp_path: Path
) -> None:
    services = services_on(services, upstream_of(tmp_path / "upstream", modules()))
    _crawled(services, held={"validate"})  # staged, its validation not run yet
    dispatcher = NoCrawl(services)
    done = submit(services, dispatcher, TOP, "v1.0.0", RequestSource.api)
    dispatcher.queue.append(("validate", (TOP, "v1.0.0")))
    dispatcher.drain(AsWorkers(services, dispatcher))
    assert status(services, done.request_id)["state"] == "published"
    _tidied(services)
