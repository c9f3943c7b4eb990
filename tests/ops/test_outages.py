"""Bad situations: Redis down, the database down, the store full.

What must hold: the GOPROXY keeps serving what Depot published; pages answer or
say 503 with a reason (never a 500); /readyz names what failed; a full store
leaves nothing half-written behind; everything recovers without a restart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
from sqlalchemy import select

from app.config import REPO_ROOT, Settings
from app.ingest import ingest
from app.migrate import upgrade
from app.models import Module, ModuleVersion, VersionState
from app.resources import Services
from tests.conftest import (
    free_port,
    go_client_env,
    make_app,
    run_go,
    settings_env,
    start_server,
)
from tests.fixtures.relay import Relay
from tests.fixtures.sumdb import SumDB
from tests.fixtures.tmpfs import fill, small_tmpfs

HTML = {"Accept": "text/html"}


def test_redis_down_pages_and_goproxy_keep_serving(settings: Settings) -> None:
    services = Services.from_settings(settings)
    upgrade(services.db.engine)
    assert ingest(services, "depot.test/chain/b", "v1.0.0", deps=True).ok
    services.db.dispose()
    app = make_app(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        client = app.test_client()
        for path in ("/", "/search?q=chain", "/depot.test/chain/b",
                     "/depot.test/chain/b?tab=dependencies", "/set-me-up",
                     "/api/v1/modules/depot.test/chain/b"):
            assert client.get(path, headers=HTML).status_code == 200, path
        for path in ("/depot.test/chain/b/@v/list", "/depot.test/chain/b/@latest",
                     "/depot.test/chain/b/@v/v1.0.0.mod", "/depot.test/chain/b/@v/v1.0.0.zip",
                     "/depot.test/chain/c/@v/v1.0.0.zip"):
            assert client.get(path).status_code == 200, path
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["failed"] == ["redis"]
        assert client.get("/ping").status_code == 200
        asked = client.post("/api/v1/requests", json={"module": "depot.test/chain/a"})
        assert asked.status_code == 503
        assert "job queue is unreachable" in asked.get_json()["error"]
    finally:
        app.extensions["depot"].db.dispose()


@pytest.fixture
def relayed_postgres(queued_settings: Settings) -> Iterator[tuple[Settings, Relay]]:
    """Depot's database reached through a relay the test can cut (Redis stays up)."""
    settings = queued_settings
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the database host going away is a PostgreSQL situation")
    url = urlparse(settings.database_url)
    relay = Relay(url.hostname or "127.0.0.1", url.port or 5432).start()
    relayed = url._replace(netloc=f"{url.username}@127.0.0.1:{relay.port}").geturl()
    yield replace(settings, database_url=relayed), relay
    relay.cut()


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_database_down_goproxy_serves_published_zips_from_the_store(
    relayed_postgres: tuple[Settings, Relay], sumdb: SumDB, tmp_path: Path
) -> None:
    settings, relay = relayed_postgres
    services = Services.from_settings(settings)
    upgrade(services.db.engine)
    assert ingest(services, "depot.test/chain/a", "v1.1.0", deps=True).ok
    services.db.dispose()
    server = start_server(settings, tmp_path)
    try:
        relay.cut()
        env = go_client_env(tmp_path / "client", server.url, sumdb.gosumdb.split()[0])
        env["GOSUMDB"] = sumdb.gosumdb
        got = run_go(["mod", "download", "-json", "depot.test/chain/a@v1.1.0",
                      "depot.test/chain/c@latest"], tmp_path / "work", env)
        assert got.returncode == 0, got.stderr
        listed = requests.get(server.url + "/depot.test/chain/b/@v/list", timeout=10)
        assert (listed.status_code, listed.text) == (200, "v1.0.0\n")
        assert requests.get(server.url + "/depot.test/chain/b/@v/v1.0.0.zip",
                            timeout=10).status_code == 200
        # Not in the store: Depot cannot know; a clear 503, not a 500.
        unknown = requests.get(server.url + "/depot.test/other/@v/v1.0.0.info", timeout=10)
        assert unknown.status_code == 503 and "database is unavailable" in unknown.text
        page = requests.get(server.url + "/depot.test/chain/a", headers=HTML, timeout=10)
        assert page.status_code == 503 and "database is unavailable" in page.text
        ready = requests.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["failed"] == ["database"]
        assert requests.get(server.url + "/ping", timeout=10).status_code == 200

        relay.restore()  # back without restarting Depot
        page = requests.get(server.url + "/depot.test/chain/a", headers=HTML, timeout=10)
        assert page.status_code == 200
        assert requests.get(server.url + "/readyz", timeout=10).status_code == 200
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log, log[-3000:]


@pytest.fixture
def tiny_store(settings: Settings) -> Iterator[Path]:
    """The store on a 2 MiB tmpfs, filled up by a ballast file the test can remove."""
    with small_tmpfs(Path(settings.store_url.removeprefix("file://")), "2m") as root:
        (root / ".tmp").mkdir()
        fill(root)
        yield root


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_full_store_fails_the_ingest_cleanly(settings: Settings, tiny_store: Path) -> None:
    services = Services.from_settings(settings)
    upgrade(services.db.engine)
    services.db.dispose()
    env = settings_env(settings)
    ingest_cmd = [sys.executable, "-m", "flask", "--app", "app", "ingest",
                  "depot.test/chain/c@v1.0.0"]
    failed = subprocess.run(ingest_cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert failed.returncode != 0
    assert "is full" in failed.stdout + failed.stderr, failed.stdout + failed.stderr
    assert "Traceback" not in failed.stderr, failed.stderr
    assert files_under(tiny_store) == ["ballast"]  # nothing partial, not even in .tmp
    with services.db.session() as session:
        rows = session.execute(select(ModuleVersion.state, ModuleVersion.reason).join(Module)
                               .where(Module.path == "depot.test/chain/c")).all()
    assert VersionState.published not in [state for state, _ in rows]
    # The reason people read names the cause, not the server's folder (issue 19, 12); the
    # operator's terminal and log keep the folder.
    reasons = " ".join(reason for _, reason in rows)
    assert "the store at <store> is full" in reasons, reasons
    assert str(tiny_store) not in reasons and str(settings.data_dir) not in reasons
    assert str(tiny_store) in failed.stdout + failed.stderr

    os.remove(tiny_store / "ballast")  # room again: the same command now succeeds
    done = subprocess.run(ingest_cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "depot.test/chain/c/@v/v1.0.0.zip" in files_under(tiny_store)
