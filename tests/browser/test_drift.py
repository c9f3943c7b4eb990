"""The drift alarm in Chromium: a module published from the portal's upstream is then
force-pushed upstream; the version's page shows the notice, the Versions tab marks it,
and "Check upstream now" runs a check on a real worker and shows its outcome (with
htmx, and as plain pages without JavaScript)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.config import Settings
from app.drift.sweep import check_module
from app.ingest import ingest
from app.migrate import upgrade
from app.resources import Services
from tests.browser.conftest import browser_redis_url
from tests.conftest import GO, LiveServer, Workers, start_server
from tests.fixtures.catalog import portal_settings
from tests.fixtures.upstream import Upstream, fixture_module, module_files, retag, write_module

DRIFTING = "depot.test/drifting"
DRIFT_REDIS_DB = 8
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def drift_settings(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
                   ) -> Settings:
    """A Depot of its own (the shared one's pages stay as other tests expect them), on an
    upstream of its own and a Redis database of its own."""
    from redis import Redis

    redis_url = browser_redis_url(request, DRIFT_REDIS_DB)
    Redis.from_url(redis_url).flushdb()
    tmp = tmp_path_factory.mktemp("drift-depot")
    upstream = tmp / "upstream"
    write_module(upstream, fixture_module(DRIFTING, "v1.0.0"))
    return replace(portal_settings(tmp / "data", f"sqlite:///{tmp / 'depot.sqlite3'}",
                                   Upstream(upstream, upstream.as_uri(), []), GO),
                   redis_url=redis_url)


@pytest.fixture(scope="module")
def drift_depot(drift_settings: Settings, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[LiveServer]:
    """Published, then force-pushed upstream and checked once: drift to show."""
    svc = Services.from_settings(drift_settings)
    upgrade(svc.db.engine)
    try:
        assert ingest(svc, DRIFTING, "v1.0.0").ok
        root = Path(drift_settings.upstream.removeprefix("file://"))
        retag(root, DRIFTING, "v1.0.0",
              module_files(DRIFTING, "v1.0.0") | {"moved.go": b"package drifting\n"})
        [result] = check_module(svc, DRIFTING, None, 5, "cli")
        assert result.outcome.value == "differs", result
    finally:
        svc.db.dispose()
    server = start_server(drift_settings, tmp_path_factory.mktemp("drift-logs"))
    yield server
    server.stop()


@pytest.fixture
def drift_worker(drift_settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(drift_settings, tmp_path, [])
    pool.start("process")
    yield pool
    pool.stop()


def test_notice_and_check_upstream_now(page: Page, drift_depot: LiveServer,
                                       drift_worker: Workers):
    depot, drifted = drift_depot, DRIFTING
    page.goto(f"{depot.url}/{drifted}@v1.0.0")
    notice = page.locator("#drift-notice")
    expect(notice).to_contain_text("Upstream now differs from what Depot captured on")
    expect(notice).to_contain_text("Depot keeps serving the original.")
    expect(notice.locator(".drift-files")).to_contain_text(".zip")
    page.get_by_role("link", name="Versions (1)").click()
    expect(page.locator("table.versions")).to_contain_text("upstream drifted")
    expect(page.locator("#upstream")).to_contain_text("Last compared with the upstream")
    page.get_by_role("button", name="Check upstream now").click()
    status = page.locator("#drift-status")
    expect(status).to_have_attribute("data-state", "done", timeout=WAIT_MS)
    expect(status.locator("[data-outcome]")).to_have_text("differs")
    assert "/drift-check" not in page.url  # htmx swapped the status in place
    page.screenshot(path=str(depot.log.parent / "drift-versions.png"), full_page=True)


def test_check_upstream_now_without_javascript(browser: Browser, drift_depot: LiveServer,
                                               drift_worker: Workers):
    depot, drifted = drift_depot, DRIFTING
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{depot.url}/{drifted}?tab=versions")
        page.get_by_role("button", name="Check upstream now").click()  # POST, then 303
        # The status page reloads itself (meta refresh in <noscript>) until the check is in.
        expect(page.locator("#drift-status")).to_have_attribute("data-state", "done",
                                                                timeout=WAIT_MS)
        expect(page.locator("#drift-status [data-outcome]")).to_have_text("differs")
        page.get_by_role("link", name=f"Back to {drifted}").click()
        expect(page.locator("#upstream")).to_contain_text("Last compared with the upstream")
    finally:
        context.close()
