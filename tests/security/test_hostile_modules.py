"""Scenario 5: hostile modules from a fixture upstream meet the real pipeline.

Each case is ingested with `flask --app app ingest MOD@VER` in a child process
(the real go command downloads it, with GOSUMDB off: the zips are hostile by
construction and no checksum database vouches for them). Each must end
rejected with its reason, leave nothing in the store or its temp folder, write
nothing outside the store and work folders, and keep the worker's peak memory
bounded. The table row of docs/reliability.md is printed per case.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.config import REPO_ROOT, Settings
from app.migrate import upgrade
from app.models import VersionState
from app.pipeline.capture import get_version
from app.resources import Services
from app.store import FilesystemStore
from tests.conftest import GO, settings_env
from tests.security.hostile import CANARY, CASES, VERSION, Case, build_hostile_upstream

RSS_LIMIT_MIB = 300
TIMEOUT = 300
# Runs the command and prints the peak RSS (KiB) of it and everything it waited for.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print('peak_rss_kib', peak, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@dataclass
class Depot:
    root: Path  # everything this test module made lives under here
    settings: Settings
    services: Services


@pytest.fixture(scope="module")
def depot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Depot]:
    root = tmp_path_factory.mktemp("hostile")
    proxy = root / "proxy"
    build_hostile_upstream(proxy)
    data = root / "data"
    settings = Settings.from_env({
        "DEPOT_DATA_DIR": str(data),
        "DATABASE_URL": f"sqlite:///{data / 'depot.sqlite3'}",
        "DEPOT_GO": GO,
        "DEPOT_UPSTREAM": proxy.as_uri(),
        "DEPOT_GOSUMDB": "off",
        "DEPOT_ON_MISS": "404",
        "DEPOT_TOOLS_DIR": os.environ["DEPOT_TOOLS_DIR"],  # set by tests/conftest.py
    })
    services = Services.from_settings(settings)
    upgrade(services.db.engine)
    yield Depot(root, settings, services)
    services.db.dispose()


def _ingest(depot: Depot, case: Case) -> tuple[int, str, int]:
    """(exit code, output, peak RSS in KiB) of one `flask --app app ingest`."""
    cmd = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "flask", "--app", "app",
           "ingest", f"{case.path}@{VERSION}"]
    env = settings_env(depot.settings)
    env["TMPDIR"] = str(depot.root / "tmp")  # so a stray write would be seen here
    (depot.root / "tmp").mkdir(exist_ok=True)
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          errors="replace", timeout=TIMEOUT)
    found = re.search(r"peak_rss_kib (\d+)", done.stderr)
    assert found, done.stderr
    return done.returncode, done.stdout + done.stderr, int(found.group(1))


def _escaped(depot: Depot) -> list[Path]:
    """Every copy of the canary file: under our root, in /tmp and beside the data dir."""
    hits = [p for p in depot.root.rglob(CANARY)]
    for folder in [Path("/tmp"), *depot.settings.data_dir.parents]:
        if (folder / CANARY).exists():
            hits.append(folder / CANARY)
    return hits


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_module_is_rejected_and_leaves_nothing(depot: Depot, name: str) -> None:
    case = CASES[name][0]
    code, output, rss_kib = _ingest(depot, case)
    assert code == 1, output  # the command says no, with the reason on its outcome line
    assert "Traceback" not in output, output
    with depot.services.db.session() as session:
        row = get_version(session, case.path, VERSION)
        assert row is not None, output
        state, reason = row.state, row.reason
    assert state == VersionState.rejected, (state, reason)
    assert case.expect in reason.lower(), reason
    assert reason in output  # the command shows the same reason it recorded
    assert str(depot.settings.data_dir) not in reason  # no machine folders in reasons
    store = depot.services.store
    assert isinstance(store, FilesystemStore)
    assert not any(store.stat(case.path, VERSION, kind) for kind in ("info", "mod", "zip"))
    assert not [p for p in store.root.rglob("*") if p.is_file()], "the store holds files"
    assert not list((depot.settings.data_dir / "work").iterdir()), "work folder left behind"
    assert not list((depot.root / "tmp").iterdir()), "temporary files left behind"
    assert _escaped(depot) == []
    assert rss_kib < RSS_LIMIT_MIB << 10, f"peak RSS {rss_kib >> 10} MiB"
    print(f"\n| {name} | {case.what} | rejected: {reason} | no | {rss_kib >> 10} MiB |")


def test_every_issue_case_is_covered() -> None:
    """The list of scenario 5, each by name (a new case needs a row in the docs too)."""
    assert set(CASES) == {
        "dotdot", "absolute", "symlink", "bomb", "bomblying", "claimed", "duplicate",
        "casefold", "badutf8", "bigmod", "bigmodfile", "otherpath",
    }
    assert os.path.basename(CANARY) == CANARY
