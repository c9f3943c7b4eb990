"""Search → module page → every tab in a real browser: htmx swaps, pushed URLs and the
back button; the same journey without JavaScript; keyboard and phone width."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.fixtures.catalog import CHAIN_C, WIDGETS

TABS = [("README", "readme"), ("Mod File", "gomod"), ("Dependencies", "dependencies"),
        ("Used By", "usedby"), ("Versions", "versions"), ("License", "license")]


def test_search_as_you_type_then_every_tab_with_htmx(page: Page, depot: LiveServer):
    page.goto(depot.url + "/")
    home_box = page.get_by_label("Search Go modules")
    expect(home_box).to_be_focused()  # autofocus
    home_box.fill("depot.test/ch")  # suggestions arrive while typing
    expect(page.locator("#home-suggestions option")).to_have_count(3)
    assert page.locator("#home-suggestions option").first.get_attribute("value") == CHAIN_C
    home_box.fill("chain")
    home_box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=chain$"))
    expect(page.locator(".hit-path")).to_have_count(3)
    expect(page.locator(".hit-path mark").first).to_have_text("chain")

    # htmx is a deferred script: typing before the page has loaded goes unheard (a
    # loaded CI machine once typed into the server-rendered page before it ran).
    page.wait_for_load_state()
    page.evaluate("window.__same_document = true")  # survives only htmx swaps
    box = page.get_by_label("Search modules")
    box.fill("widgets")  # typing: results and URL follow without a page load
    expect(page).to_have_url(re.compile(r"/search\?q=widgets"), timeout=15_000)
    expect(page.locator(".hit-path").first).to_have_text(WIDGETS)
    expect(page).to_have_title("widgets – search · Depot")  # the tab follows the search
    assert page.evaluate("window.__same_document") is True
    page.go_back()
    expect(page).to_have_url(re.compile(r"/search\?q=chain$"))
    expect(page).to_have_title("chain – search · Depot")
    expect(page.locator(".hit-path")).to_have_count(3)
    page.go_forward()
    expect(page.locator(".hit-path").first).to_have_text(WIDGETS)

    page.get_by_role("link", name=WIDGETS).click()
    expect(page).to_have_url(depot.url + "/" + WIDGETS)
    expect(page.get_by_role("heading", level=1)).to_have_text(WIDGETS)
    page.wait_for_load_state()  # htmx has taken over the tabs' links
    page.evaluate("window.__same_document = true")
    tabs = page.get_by_role("navigation", name="Module sections")
    for name, key in TABS[1:] + TABS[:1]:  # README, the tab shown, last
        tabs.get_by_role("link", name=re.compile("^" + name)).click()
        if key == "readme":
            expect(page).to_have_url(depot.url + "/" + WIDGETS)
        else:
            expect(page).to_have_url(f"{depot.url}/{WIDGETS}?tab={key}")
        expect(tabs.locator("a[aria-current=page]")).to_have_text(re.compile("^" + name))
    assert page.evaluate("window.__same_document") is True  # every tab was an htmx swap
    expect(page.locator("article.readme")).to_contain_text("Widgets make Go programs")
    page.go_back()
    expect(page).to_have_url(f"{depot.url}/{WIDGETS}?tab=license")
    expect(page.locator(".panel")).to_contain_text("MIT License")
    page.go_back()
    expect(page).to_have_url(f"{depot.url}/{WIDGETS}?tab=versions")
    expect(page.locator(".panel table.versions")).to_be_visible()


def test_tab_contents(page: Page, depot: LiveServer):
    page.goto(f"{depot.url}/{WIDGETS}")
    readme = page.locator("article.readme")
    expect(readme.get_by_role("heading", name="Widgets")).to_be_visible()
    expect(readme.get_by_role("link", name="guide")).to_have_attribute(
        "href", "https://github.com/depot-fixtures/widgets/blob/v1.2.0/docs/guide.md")
    page.goto(f"{depot.url}/{WIDGETS}?tab=gomod")
    expect(page.locator(".highlight .k").first).to_have_text("module")
    page.goto(f"{depot.url}/{WIDGETS}?tab=dependencies")
    expect(page.locator(".panel").get_by_role("link", name=CHAIN_C)).to_be_visible()
    page.goto(f"{depot.url}/{CHAIN_C}?tab=usedby")
    expect(page.locator(".panel .dep-list li")).to_have_count(20)
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(f"{depot.url}/{CHAIN_C}?tab=usedby&page=2")
    expect(page.locator(".panel .dep-list li")).to_have_count(5)
    page.goto(f"{depot.url}/depot.test/retract?tab=versions")
    expect(page.locator("tr", has_text="v1.0.1")).to_contain_text("retracted")


def test_version_picker_and_copy_button(page: Page, depot: LiveServer):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{depot.url}/depot.test/chain/a")
    page.locator(".version-picker summary").click()
    page.locator(".picker-menu").get_by_role("link", name="v1.0.0").click()
    expect(page).to_have_url(f"{depot.url}/depot.test/chain/a@v1.0.0")
    expect(page.locator("#go-get")).to_have_text("go get depot.test/chain/a@v1.0.0")
    copy = page.locator(".go-get button.copy")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "go get depot.test/chain/a@v1.0.0"


def test_everything_works_without_javascript(browser: Browser, depot: LiveServer):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(depot.url + "/")
        page.get_by_label("Search Go modules").fill("chain")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"/search\?q=chain$"))
        page.get_by_role("link", name="depot.test/chain/a").click()
        for name, key in TABS[1:]:
            page.get_by_role("navigation", name="Module sections").get_by_role(
                "link", name=re.compile("^" + name)).click()
            expect(page).to_have_url(f"{depot.url}/depot.test/chain/a?tab={key}")
        expect(page.locator("button.copy").first).to_be_hidden()  # nothing to copy with
        expect(page.locator(".license-text")).to_contain_text("MIT License")
    finally:
        context.close()


def test_keyboard_skip_link_and_focus_ring(page: Page, depot: LiveServer):
    page.goto(f"{depot.url}/depot.test/chain/a")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{depot.url}/depot.test/chain/a#main")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_pages_fit_a_phone(browser: Browser, depot: LiveServer):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        for path in ("/", "/search?q=chain", f"/{WIDGETS}", "/set-me-up", "/request",
                     f"/{CHAIN_C}?tab=usedby", "/depot.test/retract?tab=versions",
                     "/admin/audit"):
            page.goto(depot.url + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (path, overflow)
    finally:
        context.close()


def test_quick_tab_clicks_end_on_the_last_one(page: Page, depot: LiveServer):
    page.goto(f"{depot.url}/{WIDGETS}")
    tabs = page.get_by_role("navigation", name="Module sections")
    for name in ("README", "Mod File", "Versions", "License"):  # no waiting in between
        tabs.get_by_role("link", name=re.compile("^" + name)).click()
    expect(page).to_have_url(f"{depot.url}/{WIDGETS}?tab=license")
    expect(tabs.locator("a[aria-current=page]")).to_have_text("License")
    expect(page.locator(".panel")).to_contain_text("MIT License")
