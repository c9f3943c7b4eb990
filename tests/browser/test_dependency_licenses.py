"""The Dependency Licenses tab in a real browser: opened by htmx and without JavaScript,
its CSV and SPDX links followed to the files they download."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import GO, LiveServer, start_server
from tests.fixtures.license_tree import CUSTOM, GONE, GPL, LGPL, ROOT, UTIL, license_depot


@pytest.fixture(scope="module")
def tree_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("license-browser")
    with license_depot(tmp, "sqlite", GO) as app:
        server = start_server(app.extensions["depot"].settings, tmp)
        try:
            yield server
        finally:
            server.stop()


def _read(download) -> str:  # type: ignore[no-untyped-def]
    return Path(download.path()).read_text()


def test_tab_by_htmx_then_the_csv_and_sbom_links(page: Page, tree_server: LiveServer):
    page.goto(f"{tree_server.url}/{ROOT}")
    page.evaluate("window.__same_document = true")
    tabs = page.get_by_role("navigation", name="Module sections")
    tabs.get_by_role("link", name="Insight").click()  # the group of Depot's own views
    page.get_by_role("navigation", name="Insight sections").get_by_role(
        "link", name="Dependency Licenses").click()
    expect(page.locator("#panel")).to_be_focused()  # focus follows the swapped tab
    expect(page).to_have_url(f"{tree_server.url}/{ROOT}?tab=licenses")
    summary = page.locator("#license-summary")
    expect(summary).to_contain_text("6 modules in the build list")
    expect(summary.locator(".flag-bad")).to_contain_text("2 unknown licenses")
    expect(summary.locator(".flag-warn")).to_contain_text("1 weak, 1 strong")
    assert page.evaluate("window.__same_document") is True  # swapped in, not reloaded
    table = page.locator("table.license-members tbody tr")
    expect(table).to_have_count(6)
    expect(table.filter(has_text=GPL)).to_contain_text("strong copyleft")
    expect(table.filter(has_text=GONE)).to_contain_text("not in Depot")

    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    download = info.value
    assert download.suggested_filename == "depot.test_lic_app@v1.0.0-licenses.csv"
    rows = list(csv.DictReader(io.StringIO(_read(download))))
    assert [r["module"] for r in rows] == [ROOT, CUSTOM, GONE, GPL, LGPL, UTIL]
    assert {r["module"]: r["copyleft_in_permissive"] for r in rows}[LGPL] == "weak"

    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("SPDX")).click()
    doc = json.loads(_read(info.value))
    assert doc["spdxVersion"] == "SPDX-2.3" and len(doc["packages"]) == 6
    assert info.value.suggested_filename.endswith("-sbom.spdx.json")

    # The member's version links to its own page.
    table.filter(has_text=GPL).get_by_role("link", name="v1.0.0").click()
    expect(page).to_have_url(f"{tree_server.url}/{GPL}@v1.0.0")


def test_without_javascript(browser: Browser, tree_server: LiveServer):
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{tree_server.url}/{ROOT}@v1.0.0")
        page.get_by_role("navigation", name="Module sections").get_by_role(
            "link", name="Insight").click()
        page.get_by_role("navigation", name="Insight sections").get_by_role(
            "link", name="Dependency Licenses").click()
        expect(page).to_have_url(f"{tree_server.url}/{ROOT}@v1.0.0?tab=licenses")
        expect(page.locator("table.license-groups")).to_contain_text("GPL-3.0-only")
        with page.expect_download() as info:
            page.get_by_role("link", name="CSV").click()
        assert _read(info.value).startswith("module,version,root,")
        page.goto(f"{tree_server.url}/{CUSTOM}?tab=licenses")
        expect(page.locator(".panel .notice")).to_contain_text("does not show it either")
        expect(page.get_by_role("link", name="CSV")).to_have_count(0)
    finally:
        context.close()


def test_phone_width_keeps_the_table_inside_the_page(browser: Browser, tree_server: LiveServer):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{tree_server.url}/{ROOT}?tab=licenses")
        expect(page.locator("#license-summary")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px)"
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_in_both_schemes(browser: Browser, tree_server: LiveServer, scheme: str):
    from tests.browser.test_look import CONTRASTS

    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    try:
        for path in (ROOT, CUSTOM):
            page.goto(f"{tree_server.url}/{path}?tab=licenses")
            found = page.evaluate(CONTRASTS)
            poor = [i for i in found["items"] if i["ratio"] < 4.5]
            assert found["items"] and not poor, (path, poor[:5])
    finally:
        context.close()
