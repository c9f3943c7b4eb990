"""Colours as readers see them: dark mode follows ``prefers-color-scheme`` and every
piece of text keeps WCAG AA contrast (4.5:1) against what is behind it, in both schemes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.conftest import LiveServer
from tests.fixtures.catalog import CHAIN_C, REJECTED, WIDGETS

PAGES = ("/", "/search?q=chain", f"/{WIDGETS}", f"/{WIDGETS}?tab=gomod",
         f"/{CHAIN_C}?tab=usedby", "/depot.test/retract?tab=versions", f"/{REJECTED}",
         "/set-me-up", "/request", "/search?q=github.com/acme/missing", "/no.such/module",
         f"/{CHAIN_C}?tab=insight", "/search?q=chain&sort=insight", f"/{WIDGETS}?tab=doc",
         f"/{WIDGETS}?tab=packages", f"/{WIDGETS}?tab=files", f"/{WIDGETS}?tab=versions",
         f"/{CHAIN_C}?tab=graph", "/check", "/admin/audit")

# For each element with its own visible text: its colour, the first opaque background
# behind it (walking up the tree), and the WCAG contrast ratio of the two.
CONTRASTS = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const fg = rgb(style.color).slice(0, 3), bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    out.push({tag: el.tagName, text: el.textContent.trim().slice(0, 40),
              ratio: (hi + 0.05) / (lo + 0.05)});
  }
  return {items: out, page: lum(background(document.body))};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_in_both_schemes(browser: Browser, depot: LiveServer, scheme: str):
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    try:
        for path in PAGES:
            page.goto(depot.url + path)
            found = page.evaluate(CONTRASTS)
            if scheme == "dark":
                assert found["page"] < 0.05, (path, "dark mode keeps a light page")
            else:
                assert found["page"] > 0.8, (path, "light mode page is not light")
            poor = [i for i in found["items"] if i["ratio"] < 4.5]
            assert found["items"] and not poor, (path, poor[:5])
    finally:
        context.close()
