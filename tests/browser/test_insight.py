"""The insight score in a real browser: sort search by it (htmx, the URL follows), open a
module's Insight tab from the header badge, and the same without JavaScript."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from app.catalog.insight import NAMES
from tests.conftest import LiveServer
from tests.fixtures.catalog import CHAIN_C

ORDER = [CHAIN_C, "depot.test/chain/b", "depot.test/chain/a"]


def test_sort_search_by_insight_then_open_the_insight_tab(page: Page, depot: LiveServer):
    page.goto(depot.url + "/search?q=chain")
    expect(page.locator(".hit-path")).to_have_count(3)
    page.evaluate("window.__same_document = true")  # survives only htmx swaps
    page.get_by_label("Sort by").select_option("insight")
    expect(page).to_have_url(re.compile(r"/search\?q=chain&license=&sort=insight$"))
    expect(page.locator(".hit-path")).to_have_text(ORDER)
    pills = page.locator(".insight-pill")
    scores = [int(t.removeprefix("Insight ")) for t in pills.all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and len(scores) == 3
    assert page.evaluate("window.__same_document") is True
    page.reload()  # the URL alone brings the order back
    expect(page.get_by_label("Sort by")).to_have_value("insight")
    expect(page.locator(".hit-path")).to_have_text(ORDER)

    pills.last.click()  # chain/a's pill: straight to its Insight tab
    expect(page).to_have_url(f"{depot.url}/depot.test/chain/a?tab=insight")
    rows = page.locator("table.insight-factors tbody tr")
    expect(rows.locator("th")).to_have_text(list(NAMES.values()))
    expect(page.locator(".badge-insight")).to_have_text(f"Insight {scores[-1]}")

    page.goto(f"{depot.url}/{CHAIN_C}")
    page.evaluate("window.__same_document = true")
    page.locator(".badge-insight").click()  # the header badge swaps the tab in with htmx
    expect(page).to_have_url(f"{depot.url}/{CHAIN_C}?tab=insight")
    tabs = page.get_by_role("navigation", name="Module sections")
    expect(tabs.locator("a[aria-current=page]")).to_have_text("Insight")
    expect(rows).to_have_count(len(NAMES))
    expect(page.locator("tr[data-factor=used_by] td").first).to_have_text("25 modules")
    expect(page.locator("tfoot strong")).to_have_text(str(scores[0]))
    assert page.evaluate("window.__same_document") is True
    page.get_by_role("link", name="How the score is made").click()
    expect(page.locator("#insight-how")).to_be_in_viewport()
    page.go_back()
    page.go_back()
    expect(page).to_have_url(f"{depot.url}/{CHAIN_C}")


def test_sorting_and_the_tab_without_javascript(browser: Browser, depot: LiveServer):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(depot.url + "/search")
        page.get_by_label("Search modules").fill("chain")
        page.get_by_label("Sort by").select_option("insight")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"/search\?q=chain&license=&sort=insight$"))
        expect(page.locator(".hit-path")).to_have_text(ORDER)
        page.get_by_role("link", name=CHAIN_C, exact=True).click()
        page.locator(".badge-insight").click()
        expect(page).to_have_url(f"{depot.url}/{CHAIN_C}?tab=insight")
        expect(page.locator("table.insight-factors tbody tr")).to_have_count(len(NAMES))
    finally:
        context.close()


def test_the_insight_tab_reads_well_on_a_phone(browser: Browser, depot: LiveServer):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        for path in (f"/{CHAIN_C}?tab=insight", "/search?q=chain&sort=insight"):
            page.goto(depot.url + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (path, overflow)
    finally:
        context.close()
