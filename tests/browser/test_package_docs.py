"""Package documentation in a real browser (issue 22): the Doc, Packages and Files tabs
and a package page, by htmx and by keyboard, light and dark, at 1280 and 390 px, with
no console error (the page's CSP refuses inline styles and scripts)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.ingest import ingest
from app.migrate import upgrade
from app.resources import Services
from tests.conftest import GO, LiveServer, start_server
from tests.fixtures.catalog import portal_settings
from tests.fixtures.docs_module import DOCS, DOCS_VERSION, docs_module
from tests.fixtures.upstream import fixture_module, func_name, upstream_of

DEP = "depot.test/chain/c"


@pytest.fixture(scope="module")
def docs_depot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("docs-depot")
    upstream = upstream_of(tmp / "upstream", [
        fixture_module(DEP, "v1.0.0"), docs_module(DEP, "v1.0.0", DEP, f"c.{func_name(DEP)}()")])
    settings = portal_settings(tmp / "data", f"sqlite:///{tmp / 'depot.sqlite3'}", upstream, GO)
    svc = Services.from_settings(settings)
    upgrade(svc.db.engine)
    for module, version in ((DEP, "v1.0.0"), (DOCS, DOCS_VERSION)):
        assert ingest(svc, module, version).ok
    svc.db.dispose()
    server = start_server(settings, tmp)
    yield server
    server.stop()


def _errors(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    return seen


def _shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("DEPOT_SCREENSHOT_DIR") or tmp_path)


def test_doc_tab_by_htmx_then_a_linked_package_and_its_source(page: Page, docs_depot: LiveServer,
                                                              tmp_path: Path) -> None:
    errors = _errors(page)
    page.goto(f"{docs_depot.url}/{DOCS}")
    page.evaluate("window.__same_document = true")
    tabs = page.get_by_role("navigation", name="Module sections")
    tabs.get_by_role("link", name="Doc", exact=True).click()
    expect(page).to_have_url(f"{docs_depot.url}/{DOCS}?tab=doc")
    expect(page.locator("#panel")).to_be_focused()
    expect(page.locator("#Widget\\.Spin pre.decl")).to_contain_text("func (w *Widget) Spin")
    assert page.evaluate("window.__same_document") is True
    page.locator("#example-NewWidget summary").click()  # examples unfold
    expect(page.locator("#example-NewWidget .example-output")).to_have_text("x")
    page.screenshot(path=str(_shots(tmp_path) / "doc-tab.png"), full_page=False)

    tabs.get_by_role("link", name="Packages", exact=True).click()
    page.get_by_role("link", name="gears", exact=True).click()
    expect(page).to_have_url(f"{docs_depot.url}/{DOCS}/gears")
    expect(page.locator("h1")).to_have_text(f"{DOCS}/gears")
    page.locator("#Turn pre.decl").get_by_role("link", name="Widget").click()
    expect(page).to_have_url(f"{docs_depot.url}/{DOCS}?tab=doc#Widget")
    expect(page.locator("#Widget")).to_be_in_viewport()  # the Doc tab, at the type
    page.go_back()
    page.locator("#Turn").get_by_role("link", name="gears/gears.go:11").click()
    expect(page.locator("#L-11")).to_be_attached()
    expect(page).to_have_url(f"{docs_depot.url}/{DOCS}?tab=files&file=gears%2Fgears.go#L-11")
    assert errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
def test_pages_fit_their_width(browser: Browser, docs_depot: LiveServer, scheme: str,
                               width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    for url in (f"/{DOCS}?tab=doc", f"/{DOCS}?tab=packages", f"/{DOCS}?tab=files",
                f"/{DOCS}?tab=files&file=docs.go", f"/{DOCS}/gears?tab=imports", f"/{DOCS}",
                f"/{DOCS}?tab=versions", f"/{DOCS}?tab=graph", f"/{DOCS}?tab=insight"):
        page.goto(docs_depot.url + url)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, (url, width, overflow)  # code scrolls inside its own box
    tops = page.locator("nav.tabs a").evaluate_all(
        "links => links.map(a => Math.round(a.getBoundingClientRect().top))")
    assert len(set(tops)) == 1, tops  # the tab row is one row, at either width
    if width == 390:  # it scrolls sideways, and a shade at its edge says there is more
        tabs = page.locator("nav.tabs").first
        assert tabs.evaluate("e => e.scrollWidth > e.clientWidth")
        assert "radial-gradient" in tabs.evaluate("e => getComputedStyle(e).backgroundImage")
    context.close()


def test_keyboard_alone_reaches_the_docs_and_the_menu_closes_on_escape(
        page: Page, docs_depot: LiveServer) -> None:
    page.goto(f"{docs_depot.url}/{DOCS}")
    page.locator(".version-picker summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("details.version-picker")).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(page.locator("details.version-picker")).not_to_have_attribute("open", "")
    expect(page.locator(".version-picker summary")).to_be_focused()
    doc = page.get_by_role("navigation", name="Module sections").get_by_role(
        "link", name="Doc", exact=True)
    doc.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{docs_depot.url}/{DOCS}?tab=doc")
    expect(page.locator("#panel")).to_be_focused()  # focus went to what was opened
    page.keyboard.press("Tab")  # the next stop is inside the panel, not back at the top
    assert page.evaluate("document.getElementById('panel').contains(document.activeElement)")


def test_a_part_a_page_loads_by_itself_takes_no_focus(page: Page, docs_depot: LiveServer
                                                      ) -> None:
    """The Versions tab loads the upstream's list after itself: the panel took the focus
    then (a focus ring on a page nobody touched), as if a tab had been opened."""
    page.goto(f"{docs_depot.url}/{DOCS}?tab=versions")
    expect(page.locator("#upstream-versions .fact, #upstream-versions .empty")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.activeElement === document.body")


def test_on_a_phone_the_open_tab_is_in_view_in_its_row(browser: Browser, docs_depot: LiveServer
                                                       ) -> None:
    """Insight, last of the row, was off-screen at 390 px when it was the open tab."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{docs_depot.url}/{DOCS}?tab=insight")
        inside = page.evaluate("""() => {
          const row = document.querySelector("nav.tabs"), tab = row.querySelector("a.active");
          const r = row.getBoundingClientRect(), t = tab.getBoundingClientRect();
          return row.scrollLeft > 0 && t.left >= r.left - 1 && t.right <= r.right + 1;
        }""")
        assert inside
        assert page.evaluate("window.scrollY") == 0  # the row scrolled, not the page
    finally:
        context.close()
