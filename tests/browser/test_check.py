"""Check my go.mod (/check) in a real browser: by keyboard alone with htmx, without
JavaScript, and its results readable (contrast) and unscrolled at 390 px in both schemes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_look import CONTRASTS
from tests.conftest import LiveServer
from tests.fixtures.catalog import UNLICENSED
from tests.portal.test_check import GO_MOD, WRONG


def _errors(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    return seen


def _status(page: Page, path: str) -> str:
    row = page.locator("#check-results tr", has=page.locator(f"text={path}")).first
    return row.get_attribute("class") or ""


def test_keyboard_alone_checks_a_go_mod_with_htmx(page: Page, depot: LiveServer) -> None:
    errors = _errors(page)
    page.goto(depot.url + "/check")
    page.evaluate("window.__same_document = true")
    page.locator("body").focus()
    for _ in range(40):  # from the top of the page, Tab until the go.mod box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "check-go-mod":
            break
    else:
        pytest.fail("Tab never reached the go.mod box")
    page.keyboard.insert_text(GO_MOD)
    page.keyboard.press("Tab")
    expect(page.locator("#check-go-sum")).to_be_focused()
    page.keyboard.insert_text(f"depot.test/chain/a v1.1.0 {WRONG}\n")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Check", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#check-results .check-counts")).to_be_visible()
    assert page.evaluate("window.__same_document") is True  # swapped by htmx, no reload
    expect(page.locator(".notice-mismatch")).to_contain_text("go.sum mismatch")
    assert "status-served" in _status(page, "depot.test/chain/a")
    assert "status-held" in _status(page, UNLICENSED)
    assert "status-missing" in _status(page, "depot.test/nothere")
    expect(page.get_by_role("button", name="Request the 1 missing module")).to_be_visible()
    assert errors == []


def test_without_javascript_the_form_posts_and_answers_a_page(browser: Browser,
                                                             depot: LiveServer) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(depot.url + "/check")
        page.get_by_label("go.mod").fill(GO_MOD)
        page.get_by_role("button", name="Check", exact=True).click()
        expect(page.locator("#check-results .check-counts")).to_contain_text("1 missing")
        expect(page.get_by_label("go.mod")).to_have_value(GO_MOD)  # kept for another try
        page.get_by_label("go.mod").fill("this is not a go.mod")
        page.get_by_role("button", name="Check", exact=True).click()
        expect(page.locator("#check-error")).to_be_visible()
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_results_read_well_and_fit_a_phone(browser: Browser, depot: LiveServer,
                                           scheme: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(depot.url + "/check")
        page.get_by_label("go.mod").fill(GO_MOD)
        page.get_by_label("go.sum").fill(f"depot.test/chain/a v1.1.0 {WRONG}\n")
        page.get_by_role("button", name="Check", exact=True).click()
        expect(page.locator("#check-results .check-counts")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        found = page.evaluate(CONTRASTS)
        poor = [i for i in found["items"] if i["ratio"] < 4.5]
        assert found["items"] and not poor, poor[:5]
    finally:
        context.close()
