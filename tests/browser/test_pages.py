"""Set Me Up, the XSS README corpus, and error pages, in a real browser."""

from __future__ import annotations

from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect

from tests.conftest import LiveServer
from tests.fixtures.catalog import XSS

OUR_SCRIPTS = 2  # htmx and depot.js


def test_set_me_up_shows_this_servers_url(page: Page, depot: LiveServer):
    page.goto(depot.url + "/set-me-up")
    expect(page.locator(".server-url")).to_have_text(depot.url)
    # The catalogue answers a miss with a 404 and verifies against no checksum database.
    expect(page.locator("#cmd-go-env")).to_have_text(f"go env -w GOPROXY={depot.url},direct")
    for block in ("#cmd-bash", "#cmd-fish", "#cmd-powershell", "#cmd-cmd", "#ci-github",
                  "#ci-gitlab", "#ci-jenkins", "#ci-docker", "#ci-bazelrc",
                  "#proxy-athens-toml", "#proxy-athens-docker", "#proxy-artifactory",
                  "#proxy-nexus"):
        expect(page.locator(block)).to_contain_text(depot.url)
    blocks = page.locator(".command pre code").count()
    expect(page.locator("button.copy")).to_have_count(blocks)
    expect(page.locator("button.copy").first).to_be_visible()


def test_set_me_up_copies_and_fits_a_phone(browser: Browser, depot: LiveServer):
    """The Copy button puts the block's text on the clipboard; at 390 px the page does
    not scroll sideways (code blocks scroll inside their box), light or dark."""
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                      color_scheme=scheme)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=depot.url)
        page = context.new_page()
        try:
            page.goto(depot.url + "/set-me-up")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            page.locator("button.copy[data-copy-target=ci-jenkins]").click()
            expect(page.locator("button.copy[data-copy-target=ci-jenkins]")).to_have_text("Copied")
            copied = page.evaluate("navigator.clipboard.readText()")
            assert copied == page.locator("#ci-jenkins").text_content()
            assert copied.startswith("pipeline {") and f"GOPROXY = '{depot.url},direct'" in copied
        finally:
            context.close()


COUNT_EXECUTIONS = """(() => {
  window.__executions = 0;
  for (const name of ['alert', 'confirm', 'prompt', 'print', 'open']) {
    const original = window[name];
    window[name] = function (...args) {
      window.__executions += 1;
      return original.apply(this, args);
    };
  }
})();"""


def _watch(page: Page) -> tuple[list[str], list[str]]:
    dialogs: list[str] = []
    console: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(msg: ConsoleMessage) -> None:
        console.append(f"{msg.type}: {msg.text}")

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    # Count every execution a payload could cause, whether or not it opens a dialog.
    page.add_init_script(COUNT_EXECUTIONS)
    return dialogs, console


def _assert_nothing_ran(page: Page, dialogs: list[str]) -> None:
    page.wait_for_timeout(500)  # time for a late onload/onerror/refresh
    readme = page.locator("article.readme")
    expect(readme).to_contain_text("Plain text survives")
    expect(readme).to_contain_text("The end.")
    assert dialogs == []
    assert page.evaluate("window.__executions") == 0
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("document.scripts.length") == OUR_SCRIPTS
    found = page.evaluate("""() => [...document.querySelectorAll('article.readme *')].flatMap(
        el => [...el.attributes]
            .filter(a => a.name.startsWith('on') || a.name === 'style'
                    || /^\\s*(javascript|data|vbscript):/i.test(a.value))
            .map(a => el.tagName + ' ' + a.name))""")
    assert found == []
    assert page.locator("article.readme :is(script, iframe, object, embed, svg, style, form, "
                        "input, link, meta, base)").count() == 0
    assert page.url.endswith("/" + XSS)  # no refresh or redirect happened
    # The control: a call made now is counted, so the 0 above means nothing ran.
    assert page.evaluate("() => { alert('control'); return window.__executions; }") == 1


def test_xss_readme_runs_nothing_with_our_csp(page: Page, depot: LiveServer):
    dialogs, console = _watch(page)
    page.goto(f"{depot.url}/{XSS}")
    _assert_nothing_ran(page, dialogs)
    # The sanitizer removed everything, so the CSP had nothing to block.
    assert not [m for m in console if "Content Security Policy" in m], console


def test_xss_readme_runs_nothing_even_without_csp(browser: Browser, depot: LiveServer):
    context = browser.new_context(bypass_csp=True)  # the sanitizer alone must hold
    page = context.new_page()
    try:
        dialogs, _console = _watch(page)
        page.goto(f"{depot.url}/{XSS}")
        page.locator("article.readme div", has_text="hover me").hover()
        _assert_nothing_ran(page, dialogs)
    finally:
        context.close()


def test_friendly_404_and_error_pages(page: Page, depot: LiveServer):
    resp = page.goto(f"{depot.url}/depot.test/nothere")
    assert resp is not None and resp.status == 404
    expect(page.get_by_role("heading", level=1)).to_contain_text("is not in Depot")
    expect(page.get_by_label("Module path")).to_have_value("depot.test/nothere")
    expect(page.get_by_role("button", name="Request module")).to_be_visible()
    resp = page.goto(f"{depot.url}/no/such/page")
    assert resp is not None and resp.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("link", name="Search modules")).to_be_visible()
    resp = page.goto(f"{depot.url}/depot.test/chain/a?tab=nope")
    assert resp is not None and resp.status == 400
    expect(page.get_by_role("heading", name="No such tab")).to_be_visible()
    resp = page.goto(f"{depot.url}/search?q=x&page=zero")
    assert resp is not None and resp.status == 400
    expect(page.get_by_role("alert")).to_contain_text("page must be a whole number")
