"""The Graph and Compare tabs, without JavaScript (plain links and GET forms) and as htmx
fragments, on both databases."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from flask import Flask

from tests.fixtures.graph import APP, BASE, EXTRA, FORK, LIB, OLD, PING, PONG
from tests.portal.conftest import HTML, HX

SVG = "{http://www.w3.org/2000/svg}"


def page(app: Flask, url: str, status: int = 200, headers: dict | None = None) -> str:
    resp = app.test_client().get(url, headers=headers or HTML)
    assert resp.status_code == status, resp.get_data(as_text=True)[:2000]
    return resp.get_data(as_text=True)


def _svg(html: str) -> ET.Element:
    found = re.search(r"<svg .*?</svg>", html, re.S)
    assert found, "no inline SVG"
    return ET.fromstring(found.group(0))


def test_graph_tab_draws_the_graph_and_lists_it(graph_app: Flask):
    html = page(graph_app, f"/{APP}@v1.1.0?tab=graph&depth=3")
    assert 'aria-current="page" class="active">Graph</a>' in html
    svg = _svg(html)
    hrefs = {a.get("href") for a in svg.iter(SVG + "a")}
    assert f"/{LIB}@v1.1.0" in hrefs and f"/{PING}@v1.0.0" in hrefs
    cycles = [p for p in svg.iter(SVG + "path")
              if p.get("class") == "dg-cycle" and p.get("data-source")]
    assert [(p.get("data-source"), p.get("data-target")) for p in cycles] == [
        (f"{PONG}@v1.0.0", f"{PING}@v1.0.0")]
    assert svg.find(SVG + "title").text == f"Dependency graph of {APP}@v1.1.0"
    # The text list for screen readers and no-SVG clients says the same.
    tree = html.split('class="graph-tree"', 1)[1]
    assert f"replaced by {FORK} v1.0.0" in tree
    assert "closes a cycle" in tree and "MVS selects v1.1.0" in tree
    assert tree.count(f'href="/{BASE}@v1.1.0"') == 1
    # The depth picker: plain links; the current one marked.
    assert f'href="/{APP}@v1.1.0?tab=graph&amp;depth=1"' in html
    assert re.search(r'depth=3"[^>]*aria-current="true"', html)
    assert ' style="' not in html.split('id="panel"', 1)[1]


def test_depth_changes_what_is_drawn(graph_app: Flask):
    one = _svg(page(graph_app, f"/{APP}@v1.1.0?tab=graph&depth=1"))
    three = _svg(page(graph_app, f"/{APP}@v1.1.0?tab=graph&depth=3"))
    assert len(list(one.iter(SVG + "a"))) == 4 and len(list(three.iter(SVG + "a"))) == 9
    html = page(graph_app, f"/{APP}@v1.1.0?tab=graph&depth=1")
    assert "3 modules have requirements deeper than depth 1" in html
    indirect = _svg(page(graph_app, f"/{APP}@v1.1.0?tab=graph&depth=1&indirect=1"))
    assert len(list(indirect.iter(SVG + "a"))) > 4


def test_graph_tab_as_an_htmx_fragment(graph_app: Flask):
    html = page(graph_app, f"/{APP}?tab=graph&depth=2", headers=HX)
    assert html.startswith("<title>") and "<html" not in html
    assert 'id="module-tabs"' in html and "<svg " in html


def test_bad_graph_input_is_an_error_page(graph_app: Flask):
    for query in ("depth=0", "depth=6", "depth=two", "indirect=maybe"):
        html = page(graph_app, f"/{APP}?tab=graph&{query}", status=400)
        assert "Bad" in html


def test_compare_defaults_to_the_previous_version(graph_app: Flask):
    html = page(graph_app, f"/{APP}@v1.1.0?tab=compare")
    assert '<option value="v1.0.0" selected>' in html
    assert '<option value="v1.1.0" selected>' in html
    result = html.split('class="compare-result"', 1)[1]
    added = result.split("compare-added", 1)[1].split("</ul>", 1)[0]
    assert EXTRA in added and PING in added and PONG in added
    assert OLD in result.split("compare-removed", 1)[1].split("</ul>", 1)[0]
    upgraded = result.split("compare-upgraded", 1)[1].split("</ul>", 1)[0]
    assert LIB in upgraded and "v1.0.0</span> <span aria-label=\"to\">→</span>" in upgraded
    assert "3 added, 1 removed, 2 upgraded, 0 downgraded, 1 unchanged." in result
    assert "Build list" in result


def test_compare_two_picked_versions_with_a_get_form(graph_app: Flask):
    html = page(graph_app, f"/{APP}?tab=compare&from=v1.1.0&to=v1.2.0")
    result = html.split('class="compare-result"', 1)[1]
    downgraded = result.split("compare-downgraded", 1)[1].split("</ul>", 1)[0]
    assert LIB in downgraded
    first = page(graph_app, f"/{APP}@v1.0.0?tab=compare")
    assert "no published version before v1.0.0" in first


def test_compare_bad_versions_are_error_pages(graph_app: Flask):
    assert "not a canonical version" in page(graph_app, f"/{APP}?tab=compare&from=1.0",
                                             status=400)
    assert "is not in Depot" in page(graph_app, f"/{APP}?tab=compare&to=v9.0.0", status=404)
