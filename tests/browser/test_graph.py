"""The Graph and Compare tabs in Chromium: with htmx, and as plain links and GET forms."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from app.migrate import upgrade
from app.resources import Services
from tests.conftest import GO, LiveServer, start_server
from tests.fixtures.catalog import portal_settings
from tests.fixtures.graph import APP, LIB, PING, PONG, fill_graph
from tests.fixtures.upstream import Upstream


@pytest.fixture(scope="module")
def graph_depot(tmp_path_factory: pytest.TempPathFactory, graph_upstream: Upstream
                ) -> Iterator[LiveServer]:
    """The graph modules in a Depot of their own, under real gunicorn."""
    tmp = tmp_path_factory.mktemp("graph-depot")
    settings = portal_settings(tmp / "data", f"sqlite:///{tmp / 'depot.sqlite3'}",
                               graph_upstream, GO)
    svc = Services.from_settings(settings)
    upgrade(svc.db.engine)
    fill_graph(svc)
    svc.db.dispose()
    server = start_server(settings, tmp)
    yield server
    server.stop()


def _screenshot_dir(tmp_path: Path) -> Path:
    """Where the pictures go: DEPOT_SCREENSHOT_DIR to keep them, else the test's tmp dir."""
    return Path(os.environ.get("DEPOT_SCREENSHOT_DIR") or tmp_path)


def _errors(page: Page) -> list[str]:
    seen: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":  # a CSP violation (inline style or script) lands here
            seen.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    return seen


def test_graph_tab_and_depth_picker_with_htmx(page: Page, graph_depot: LiveServer,
                                              tmp_path: Path):
    errors = _errors(page)
    page.goto(f"{graph_depot.url}/{APP}@v1.1.0")
    page.get_by_role("navigation", name="Module sections").get_by_role(
        "link", name="Insight").click()  # Depot's own views are grouped under Insight
    page.get_by_role("link", name="Graph", exact=True).click()
    expect(page).to_have_url(f"{graph_depot.url}/{APP}@v1.1.0?tab=graph")
    graph = page.locator("svg.dep-graph")
    expect(graph).to_be_visible()
    expect(graph.locator("a")).to_have_count(7)  # depth 2
    expect(graph.locator("a.dg-replaced")).to_have_count(1)
    page.locator(".graph-depths").get_by_role("link", name="3", exact=True).click()
    expect(page).to_have_url(f"{graph_depot.url}/{APP}@v1.1.0?tab=graph&depth=3")
    expect(graph.locator("a")).to_have_count(9)
    cycle = graph.locator(f'path.dg-cycle[data-source="{PONG}@v1.0.0"]')
    expect(cycle).to_have_count(1)
    expect(cycle).to_have_attribute("data-target", f"{PING}@v1.0.0")
    expect(page.locator(".graph-tree")).to_contain_text("closes a cycle")
    page.screenshot(path=str(_screenshot_dir(tmp_path) / "graph-tab.png"), full_page=True)
    # A box is a link to that module version's page.
    graph.locator(f'a[href="/{LIB}@v1.1.0"]').click()
    expect(page).to_have_url(f"{graph_depot.url}/{LIB}@v1.1.0")
    assert errors == []


def test_compare_tab_picks_two_versions_with_htmx(page: Page, graph_depot: LiveServer,
                                                  tmp_path: Path):
    errors = _errors(page)
    page.goto(f"{graph_depot.url}/{APP}?tab=graph")
    page.get_by_role("link", name="Compare", exact=True).click()
    expect(page.locator("#compare-from")).to_have_value("v1.1.0")
    expect(page.locator("#compare-to")).to_have_value("v1.2.0")
    expect(page.locator(".compare-downgraded").first).to_contain_text(LIB)
    page.locator("#compare-from").select_option("v1.0.0")
    page.locator("#compare-to").select_option("v1.1.0")
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(
        f"{graph_depot.url}/{APP}?tab=compare&from=v1.0.0&to=v1.1.0")
    expect(page.locator(".compare-added").first).to_contain_text(PING)
    expect(page.locator(".compare-removed").first).to_contain_text("depot.test/graph/old")
    expect(page.locator(".compare-upgraded").first).to_contain_text(LIB)
    page.screenshot(path=str(_screenshot_dir(tmp_path) / "compare-tab.png"), full_page=True)
    assert errors == []


def test_both_tabs_without_javascript(browser: Browser, graph_depot: LiveServer):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{graph_depot.url}/{APP}@v1.1.0?tab=graph")
    page.locator(".graph-depths").get_by_role("link", name="1", exact=True).click()
    expect(page).to_have_url(f"{graph_depot.url}/{APP}@v1.1.0?tab=graph&depth=1")
    expect(page.locator("svg.dep-graph a")).to_have_count(4)
    page.get_by_role("link", name="Compare", exact=True).click()
    page.locator("#compare-from").select_option("v1.1.0")
    page.locator("#compare-to").select_option("v1.2.0")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator(".compare-downgraded").first).to_contain_text(LIB)
    context.close()


@pytest.mark.parametrize("look", ["dark", "phone"])
def test_graph_fits_the_page_in_dark_mode_and_on_a_phone(browser: Browser,
                                                         graph_depot: LiveServer,
                                                         tmp_path: Path, look: str):
    if look == "dark":
        context = browser.new_context(color_scheme="dark", viewport={"width": 1280,
                                                                     "height": 900})
    else:
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    errors = _errors(page)
    page.goto(f"{graph_depot.url}/{APP}@v1.1.0?tab=graph&depth=3")
    expect(page.locator("svg.dep-graph")).to_be_visible()
    # The picture scrolls inside its frame; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    frame = page.locator(".graph-scroll")
    assert frame.evaluate("e => e.scrollWidth > e.clientWidth") == (look == "phone")
    page.screenshot(path=str(_screenshot_dir(tmp_path) / f"graph-{look}.png"))
    # Real paths are long (github.com/inconshreveable/mousetrap, a pseudo-version badge):
    # the list under the graph breaks them rather than widen the page (a trial's 447 px).
    assert page.locator(".graph-tree li").first.evaluate(
        "e => getComputedStyle(e).overflowWrap") == "anywhere"
    texts = page.evaluate(SVG_TEXT_CONTRASTS)
    poor = [t for t in texts if t["ratio"] < 4.5]
    assert len(texts) > 5 and not poor, poor[:5]
    frame = page.locator(".graph-scroll").evaluate("e => getComputedStyle(e).backgroundColor")
    red, green, blue = (int(c) for c in frame[frame.index("(") + 1:-1].split(",")[:3])
    assert (max(red, green, blue) < 80) == (look == "dark"), frame  # no white box in the dark
    assert errors == []
    context.close()


# Each text of the graph's SVG: its fill against the fill of the box it sits in (a node's
# rect), else against the frame's background: the SVG follows dark mode, not just the page.
SVG_TEXT_CONTRASTS = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number).slice(0, 3);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const frame = rgb(getComputedStyle(document.querySelector(".graph-scroll")).backgroundColor);
  const out = [];
  for (const t of document.querySelectorAll("svg.dep-graph text")) {
    if (!t.textContent.trim()) continue;
    const rect = t.closest("a") ? t.closest("a").querySelector("rect") : null;
    const behind = rect ? rgb(getComputedStyle(rect).fill) : frame;
    const [hi, lo] = [lum(rgb(getComputedStyle(t).fill)), lum(behind)].sort((a, b) => b - a);
    out.push({text: t.textContent.trim().slice(0, 40), ratio: (hi + 0.05) / (lo + 0.05)});
  }
  return out;
}"""
