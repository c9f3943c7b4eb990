"""Bundles of modules whose paths and versions hold capital letters (issue 19, defect 6).

The go command asks a GOPROXY for ``github.com/!burnt!sushi/toml`` and sends the ``!``
percent-encoded (``%21burnt%21sushi``); the bundler's private GOPROXY must decode such
a request exactly as Depot's own GOPROXY routes do, or any build list holding
github.com/BurntSushi/toml cannot be bundled."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.bundle.test_bundle import offline_env, sums_ok, unpack
from tests.conftest import GO, app_on
from tests.fixtures.upstream import Upstream, fixture_module, upstream_of, write_consumer

# A main module with capitals in its path, a member with capitals in its path, and a
# member whose (pre-release) version has capitals: each spelled with ``!`` on the wire.
TOP, TOML, RC = "depot.test/Case/App", "depot.test/BurntSushi/toml", "depot.test/case/rc"
RC_VERSION = "v1.0.0-RC.1"


@pytest.fixture
def case_upstream(tmp_path: Path) -> Upstream:
    return upstream_of(tmp_path / "case-upstream", [
        fixture_module(TOML, "v1.3.2"),
        fixture_module(RC, RC_VERSION),
        fixture_module(TOP, "v1.0.0", {TOML: "v1.3.2", RC: RC_VERSION}),
    ])


@pytest.fixture
def case_app(settings, case_upstream: Upstream):  # type: ignore[no-untyped-def]
    with app_on(settings, case_upstream) as app:
        yield app


def test_a_bundle_of_capitalised_paths_and_versions_builds_offline(case_app, tmp_path: Path):
    runner = case_app.test_cli_runner()
    done = runner.invoke(args=["ingest", f"{TOP}@v1.0.0", "--deps"])
    assert done.exit_code == 0, done.output
    out = tmp_path / "case.tar.gz"
    done = runner.invoke(args=["bundle", f"{TOP}@v1.0.0", "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "3 modules" in done.output

    top = unpack(out, tmp_path / "unpacked")
    assert top.name == "depot.test_!case_!app@v1.0.0"
    sums_ok(top)
    manifest = json.loads((top / "manifest.json").read_text())
    assert {(m["path"], m["version"]) for m in manifest["members"]} == {
        (TOP, "v1.0.0"), (TOML, "v1.3.2"), (RC, RC_VERSION)}
    # The tree is case-encoded, as the go command reads a file:// GOPROXY.
    assert (top / "goproxy/depot.test/!burnt!sushi/toml/@v/v1.3.2.zip").is_file()
    assert (top / "goproxy/depot.test/case/rc/@v/v1.0.0-!r!c.1.zip").is_file()

    consumer = write_consumer(tmp_path / "consumer", {TOP: "v1.0.0"})
    env = offline_env(tmp_path / "go", top / "goproxy")
    built = subprocess.run([GO, "build", "-o", str(tmp_path / "app"), "."], cwd=consumer,
                           env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    assert set((consumer / "go.sum").read_text().splitlines()) == set(
        (top / "go.sum").read_text().splitlines())
    ran = subprocess.run([str(tmp_path / "app")], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and f"{TOML} v1.3.2" in ran.stdout, ran
