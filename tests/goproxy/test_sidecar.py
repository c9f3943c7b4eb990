"""The chart's nginx sidecar, for real: Debian's nginx with the shipped config in front of
Depot under gunicorn (the chart's server). Zips go out from the store once Depot said yes
(asked once a minute per zip), lists and @latest are kept 5 s and revalidated,
everything else is Depot's answer, and downloads are still counted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from app.config import Settings
from app.ingest import ingest
from app.migrate import upgrade
from app.models import Module, VersionState
from app.pipeline.capture import get_version
from app.resources import Services
from tests.conftest import (
    free_port,
    go_client_env,
    run_go,
    start_server,
    with_settings,
)
from tests.fixtures.nginx import find_nginx, nginx_conf, render_sidecar, running_nginx
from tests.fixtures.sumdb import SumDB
from tests.skips import skip_or_fail

NGINX = find_nginx()
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
ZIP = "/depot.test/chain/c/@v/v1.0.0.zip"


@pytest.fixture(autouse=True)
def _nginx() -> None:
    if NGINX is None:
        skip_or_fail("nginx comes with `make test` (Debian's package)")


@pytest.fixture
def sidecar(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Path, Services]]:
    logs = tmp_path / "nginx" / "logs"
    settings = with_settings(settings, accel_redirect="/_store/",
                             nginx_zip_log=str(logs / "zips.log"), http_server="gunicorn")
    svc = Services.from_settings(settings)
    upgrade(svc.db.engine)
    assert ingest(svc, "depot.test/chain/a", "v1.1.0", deps=True).ok
    assert ingest(svc, "depot.test/retract", "v1.0.0").ok
    with svc.db.session() as session:  # a version Depot refuses to serve
        row = get_version(session, "depot.test/retract", "v1.0.0")
        row.state, row.reason = VersionState.rejected, "rejected for the test"
    depot = start_server(settings, tmp_path)
    port = free_port()
    store = Path(settings.store_url.removeprefix("file://"))
    conf = nginx_conf(tmp_path / "nginx", port, None, http_extra=render_sidecar(
        f"127.0.0.1:{port}", depot.url.removeprefix("http://"), store,
        tmp_path / "nginx" / "cache", logs))
    url = f"http://127.0.0.1:{port}"
    try:
        with running_nginx(NGINX, conf, url + "/"):
            yield url, depot.log, svc
    finally:
        depot.stop()
        svc.db.dispose()


def downloads(svc: Services, path: str) -> int:
    with svc.db.session() as session:
        return session.scalar(select(Module.downloads).where(Module.path == path)) or 0


def test_go_client_downloads_through_the_sidecar(sidecar, sumdb: SumDB, tmp_path: Path):
    url, depot_log, svc = sidecar
    env = go_client_env(tmp_path / "client", url, sumdb.gosumdb.split()[0])
    done = run_go(["mod", "download", "-json", "depot.test/chain/a@v1.1.0"], tmp_path, env)
    assert done.returncode == 0, done.stderr
    verified = run_go(["mod", "verify"], tmp_path, env)  # nothing to verify outside a module
    assert "go.mod file not found" in verified.stderr

    first = requests.get(url + ZIP, timeout=10)
    second = requests.get(url + ZIP, timeout=10)
    stored = (Path(svc.settings.store_url.removeprefix("file://")) / ZIP[1:]).read_bytes()
    for resp in (first, second):
        assert resp.status_code == 200 and resp.content == stored
        assert resp.headers["X-Served-By"] == "nginx-store"
        assert "immutable" in resp.headers["Cache-Control"]
    ranged = requests.get(url + ZIP, headers={"Range": "bytes=0-9"}, timeout=10)
    assert (ranged.status_code, ranged.content) == (206, stored[:10])
    # Depot was asked once for this zip; nginx kept the yes.
    time.sleep(0.5)
    asked = [ln for ln in depot_log.read_text().splitlines() if "/_accel/zip" in ln]
    # One question per zip: chain/a's (the go client; it needs only the go.mod files of
    # a's dependencies) and chain/c's (three GETs above).
    assert len(asked) == 2, asked

    # Counted from nginx's zip log: the go client's zip, and the three GETs of chain/c
    # (a range from byte 0 counts as a download).
    deadline = time.monotonic() + 30
    while downloads(svc, "depot.test/chain/c") < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert downloads(svc, "depot.test/chain/a") == 1
    assert downloads(svc, "depot.test/chain/c") == 3


def test_what_depot_refuses_gets_depots_answer(sidecar):
    url, _log, _svc = sidecar
    missing = requests.get(url + "/depot.test/chain/c/@v/v9.9.9.zip", timeout=10)
    assert missing.status_code == 404 and "X-Served-By" not in missing.headers
    refused = requests.get(url + "/depot.test/retract/@v/v1.0.0.zip", timeout=10)
    assert refused.status_code == 410 and "rejected for the test" in refused.text
    odd = requests.get(url + "/depot.test/chain/c/@v/../@v/v1.0.0.zip", timeout=10)
    assert odd.status_code in (200, 400, 404)  # nginx normalises; never a store escape
    assert requests.get(url + "/depot.test/chain/c/@v/v1.0.0.info", timeout=10).json()[
        "Version"] == "v1.0.0"
    assert requests.get(url + "/depot.test/chain/c/@v/list", timeout=10).text == "v1.0.0\n"


def test_lists_are_kept_five_seconds_and_revalidated(sidecar):
    url, depot_log, svc = sidecar
    listed = url + "/depot.test/chain/c/@v/list"

    def get() -> requests.Response:
        resp = requests.get(listed, timeout=10)
        assert resp.status_code == 200
        return resp

    first, second = get(), get()
    assert (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]) == (
        "MISS", "HIT")
    assert first.text == second.text == "v1.0.0\n" and first.headers["ETag"]
    time.sleep(5)
    # Kept too long (nginx counts in whole seconds): the copy answers while nginx asks
    # Depot with its ETag.
    deadline = time.monotonic() + 10
    while " 304 " not in _list_lines(depot_log) and time.monotonic() < deadline:
        assert get().text == "v1.0.0\n"
        time.sleep(0.3)
    assert " 304 " in _list_lines(depot_log), _list_lines(depot_log)

    with svc.db.session() as session:  # Depot refuses the version: the list changes
        row = get_version(session, "depot.test/chain/c", "v1.0.0")
        row.state, row.reason = VersionState.rejected, "rejected for the test"
    assert get().text == "v1.0.0\n"  # nginx's copy, for at most 5 s
    deadline = time.monotonic() + 12
    while get().text and time.monotonic() < deadline:
        time.sleep(0.3)
    assert get().text == ""


def _list_lines(log: Path) -> str:
    return "\n".join(ln for ln in log.read_text().splitlines() if "/chain/c/@v/list" in ln)
