"""The contract for "published", judged differentially (docs/pipeline.md): a package
that fails to load against the upstream too is the module's own defect (a note, never a
refusal); one that fails only through Depot keeps the version out."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.models import VersionState
from app.pipeline.buildlist import judge
from app.pipeline.capture import get_version
from tests.conftest import app_on
from tests.fixtures.upstream import FixtureModule, fixture_module, upstream_of

OLD = "depot.test/contract/old"  # a package imports a path no module provides any more
LOOSE = "depot.test/contract/loose"  # a package imports a module its go.mod lacks
HELPER = "depot.test/contract/helper"
TWICE = "depot.test/contract/twice"  # its go.mod requires HELPER in two require blocks


def with_package(mod: FixtureModule, name: str, imports: str) -> FixtureModule:
    mod.files[f"{name}/{name}.go"] = (f'package {name}\n\nimport _ "{imports}"\n').encode()
    return mod


def required_twice(mod: FixtureModule, path: str) -> FixtureModule:
    """github.com/shirou/gopsutil/v4@v4.24.5's shape: a path in two require blocks."""
    mod.files["go.mod"] += f"\nrequire {path} v1.0.0 // indirect\n".encode()
    return mod


@pytest.fixture
def contract_app(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    upstream = upstream_of(tmp_path / "contract-upstream", [
        with_package(with_package(fixture_module(OLD, "v1.0.0"), "legacy",
                                  "depot.test/vanished/pkg"), "gopath", "common"),
        fixture_module(HELPER, "v1.0.0"),
        with_package(fixture_module(LOOSE, "v1.0.0"), "uses", HELPER),
        required_twice(fixture_module(TWICE, "v1.0.0", {HELPER: "v1.0.0"}), HELPER),
    ])
    with app_on(settings, upstream) as app:
        yield app


def state_of(app, module: str, version: str):  # type: ignore[no-untyped-def]
    with app.extensions["depot"].db.session() as session:
        row = get_version(session, module, version)
        return row.state, row.reason, row.validation_note


def test_the_module_s_own_missing_import_is_a_note_not_a_refusal(contract_app):
    done = contract_app.test_cli_runner().invoke(args=["ingest", f"{OLD}@v1.0.0", "--deps"])
    assert done.exit_code == 0, done.output
    state, reason, note = state_of(contract_app, OLD, "v1.0.0")
    assert state == VersionState.published, reason
    assert "the upstream shows the same" in note and "depot.test/vanished/pkg" in note
    # Shown on its page: no folder of this machine (apache/thrift@v0.12.0's note named the
    # toolchain's GOROOT, "package common is not in std (/…/go/src/common)", and the store).
    assert "package common is not in std" in note
    settings = contract_app.extensions["depot"].settings
    assert str(settings.data_dir.resolve()) not in note and "file://" not in note
    assert "/src/common" not in note


def test_an_import_its_go_mod_does_not_require_is_the_module_s_own(contract_app):
    # helper is not in loose's build list, so Depot never fetched it; against the
    # upstream the go command adds it: loose's go.mod is incomplete, a note.
    done = contract_app.test_cli_runner().invoke(args=["ingest", f"{LOOSE}@v1.0.0", "--deps"])
    assert done.exit_code == 0, done.output
    state, reason, note = state_of(contract_app, LOOSE, "v1.0.0")
    assert state == VersionState.published, reason
    assert f"the go command adds {HELPER}@v1.0.0" in note


def test_what_fails_only_through_depot_is_depot_s():
    problems = {"a.test/gone": "cannot find module providing package a.test/gone",
                "b.test/x/y": "cannot find module providing package b.test/x/y",
                "c.test/p": "cannot find module providing package c.test/p"}
    upstream = {"a.test/gone": "cannot find module providing package a.test/gone"}
    added = {"b.test": "v1.0.0", "b.test/x": "v2.0.0"}
    own, depot_only = judge(problems, upstream, added)
    assert set(own) == {"a.test/gone", "b.test/x/y"}
    assert own["a.test/gone"].endswith("(the upstream shows the same)")
    assert "adds b.test/x@v2.0.0" in own["b.test/x/y"]  # the longest providing path
    # Only the item that fails against the upstream says so (a note's reader was told
    # "the upstream shows the same" of a package the go command adds there).
    assert "upstream shows the same" not in own["b.test/x/y"]
    assert depot_only == {"c.test/p": problems["c.test/p"]}


def test_an_import_the_upstream_never_reaches_is_the_module_s_own():
    # github.com/uber/jaeger-lib@v1.5.0 (no go.mod): through Depot an old go-kit imports
    # github.com/influxdata/influxdb/client/v2; against the upstream the go command
    # resolves go-kit at its newest, which imports another client: nothing imports it.
    problems = {"i.test/client/v2": "cannot find module providing package i.test/client/v2",
                "d.test/p": "cannot find module providing package d.test/p"}
    reached = {"j.test/metrics", "d.test/p", "i.test/client1/v2"}
    own, depot_only = judge(problems, {}, {}, reached)
    assert set(own) == {"i.test/client/v2"} and "nothing imports it" in own["i.test/client/v2"]
    assert depot_only == {"d.test/p": problems["d.test/p"]}  # loads upstream: Depot's fault


def test_a_go_mod_requiring_a_path_twice_is_published(contract_app):
    """Its processing failed on the requirements table's one row per path, four times."""
    done = contract_app.test_cli_runner().invoke(args=["ingest", f"{TWICE}@v1.0.0", "--deps"])
    assert done.exit_code == 0, done.output
    state, reason, _note = state_of(contract_app, TWICE, "v1.0.0")
    assert state == VersionState.published, reason
