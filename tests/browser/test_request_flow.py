"""Request a missing module from an empty search, and watch it go to "published" on
the fixture upstream, through a real worker on a real Redis."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveServer, Workers
from tests.fixtures.catalog import REQUESTABLE, REQUESTABLE_NOJS

WAIT_MS = 180_000


def test_request_button_to_published(page: Page, depot: LiveServer, worker: Workers):
    page.goto(f"{depot.url}/search?q={REQUESTABLE}")
    expect(page.locator(".no-results")).to_contain_text("It looks like a module path")
    expect(page.get_by_label("Module path")).to_have_value(REQUESTABLE)
    page.get_by_role("button", name="Request module").click()
    status = page.locator("#request-status")
    expect(status).to_be_visible()
    expect(page).to_have_url(re.compile(r"/request/\d+$"))
    seen = set()
    for _ in range(WAIT_MS // 250):
        state = status.get_attribute("data-state")
        seen.add(state)
        if state in ("published", "rejected", "failed"):
            break
        page.wait_for_timeout(250)
    assert status.get_attribute("data-state") == "published", (seen, worker.logs()[-4000:])
    assert "every 1s" not in (status.get_attribute("hx-trigger") or "")  # polling stopped
    page.get_by_role("link", name=f"Open {REQUESTABLE}@v1.0.0").click()
    expect(page).to_have_url(f"{depot.url}/{REQUESTABLE}@v1.0.0")
    expect(page.locator(".module-facts")).to_contain_text("validated")


def test_invalid_request_gets_an_inline_message(page: Page, depot: LiveServer):
    page.goto(f"{depot.url}/request")
    page.get_by_label("Module path").fill("not a module")
    page.get_by_role("button", name="Request module").click()
    expect(page.get_by_role("alert")).to_contain_text("malformed module path")
    expect(page).to_have_url(f"{depot.url}/request")
    expect(page.get_by_label("Module path")).to_have_value("not a module")


def test_request_flow_without_javascript_refreshes_until_published(
    browser: Browser, depot: LiveServer, worker: Workers
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{depot.url}/{REQUESTABLE_NOJS}")  # a 404 page offers the form
        page.get_by_role("button", name="Request module").click()  # a plain POST, then 303
        expect(page).to_have_url(re.compile(r"/request/\d+$"))
        # The page reloads itself (meta refresh in <noscript>) until the request settles.
        expect(page.locator("#request-status")).to_have_attribute(
            "data-state", "published", timeout=WAIT_MS)
        page.get_by_role("link", name=f"Open {REQUESTABLE_NOJS}@v1.0.0").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(REQUESTABLE_NOJS)
    finally:
        context.close()
