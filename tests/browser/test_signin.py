"""Signing in as a person does it in Chromium: a closed Depot's 401 page offers "Sign in",
the provider (the test's own, tests/fixtures/oidc_provider.py) sends the browser back to
the page it came from, the header names the person, and "Sign out" (reached with the
keyboard) closes the Depot again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from app.config import Settings
from tests.conftest import LiveServer, start_server
from tests.fixtures.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, oidc_provider

__all__ = ["oidc_provider"]  # a fixture


@pytest.fixture
def closed_depot(depot_settings: Settings, oidc_provider: Provider,
                 tmp_path: Path) -> Iterator[LiveServer]:
    settings = replace(depot_settings, anonymous="none", oidc_issuer=oidc_provider.url,
                       oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
                       oidc_roles="platform=requester")
    server = start_server(settings, tmp_path)
    yield server
    server.stop()


@pytest.mark.parametrize("width", [1280, 390])
def test_sign_in_and_out_in_a_browser(browser: Browser, closed_depot: LiveServer,
                                      oidc_provider: Provider, width: int,
                                      tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{closed_depot.url}/set-me-up")
        expect(page.get_by_role("heading", level=1)).to_contain_text("token")
        page.get_by_role("link", name="Sign in with your company account").click()
        expect(page).to_have_url(f"{closed_depot.url}/set-me-up")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav).to_contain_text("ana@corp.test")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
        page.screenshot(path=str(tmp_path / f"signed-in-{width}.png"))
        sign_out = nav.get_by_role("button", name="Sign out")
        sign_out.focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{closed_depot.url}/")
        expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
        assert page.goto(f"{closed_depot.url}/set-me-up").status == 401  # type: ignore[union-attr]
    finally:
        context.close()
