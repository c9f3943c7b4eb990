"""The module page and its tabs, on a filled Depot (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.models import Module, ModuleVersion, Requirement, VersionState
from tests.conftest import make_app
from tests.fixtures.catalog import (
    CHAIN_C,
    FAILED_REASON,
    PLAINTEXT,
    REJECTED,
    REJECTED_REASON,
    UNLICENSED,
    USERS,
    WIDGETS,
    XSS,
)
from tests.fixtures.upstream import DEPRECATION, PSEUDO_VERSION, RETRACT_RATIONALE
from tests.portal.conftest import HTML, HX
from tests.portal.test_search import hit_paths

TABS = ("readme", "gomod", "dependencies", "graph", "compare", "usedby", "versions", "license",
        "licenses", "insight")


def page(client: FlaskClient, url: str, status: int = 200, headers: dict = HTML) -> str:
    resp = client.get(url, headers=headers)
    assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[:500])
    return resp.get_data(as_text=True)


def panel(body: str) -> str:
    return body[body.index('<section class="panel"'):]


def test_header(catalog: FlaskClient):
    body = page(catalog, "/depot.test/chain/a")
    assert '<h1 class="module-path">depot.test/chain/a</h1>' in body
    assert "go get depot.test/chain/a@v1.1.0" in body  # latest by default
    assert '<span class="badge badge-ok">latest</span>' in body
    assert "✓ validated" in body and "go 1.21" in body
    assert re.search(r'class="badge badge-license"[^>]*>MIT</a>', body)
    assert re.search(r"Published <time datetime=\"\d{4}-", body)
    picker = body[body.index('<details class="version-picker">'):body.index("</details>")]
    assert "/depot.test/chain/a@v1.0.0" in picker and "/depot.test/chain/a@v1.1.0" in picker
    older = page(catalog, "/depot.test/chain/a@v1.0.0")
    assert "go get depot.test/chain/a@v1.0.0" in older
    assert 'href="/depot.test/chain/a@v1.1.0">latest is v1.1.0</a>' in older


@pytest.mark.parametrize("tab", TABS)
def test_every_tab_is_its_own_url_and_an_htmx_fragment(catalog: FlaskClient, tab: str):
    url = "/depot.test/chain/a@v1.1.0" + ("" if tab == "readme" else f"?tab={tab}")
    body = page(catalog, url)
    assert re.search(rf'<a href="{re.escape(url)}"[^>]*aria-current="page"', body)
    fragment = page(catalog, url, headers=HX)
    title, _, rest = fragment.partition("\n")
    assert title == "<title>depot.test/chain/a@v1.1.0 · Depot</title>"
    assert "<html" not in rest and rest.lstrip().startswith('<div id="module-tabs"')
    assert 'hx-push-url="true"' in fragment and 'hx-target="#module-tabs"' in fragment


def test_tab_links_keep_the_version_only_when_pinned(catalog: FlaskClient):
    assert 'href="/depot.test/chain/a?tab=versions"' in page(catalog, "/depot.test/chain/a")
    assert 'href="/depot.test/chain/a@v1.0.0?tab=versions"' in page(
        catalog, "/depot.test/chain/a@v1.0.0")


def test_readme_tab_renders_markdown_with_links_to_the_repository(catalog: FlaskClient):
    body = panel(page(catalog, "/" + WIDGETS))
    assert '<h2 id="readme-widgets">Widgets</h2>' in body  # one level down: one h1 a page
    assert 'href="https://github.com/depot-fixtures/widgets/blob/v1.2.0/docs/guide.md"' in body
    assert 'src="https://github.com/depot-fixtures/widgets/raw/v1.2.0/img/logo.png"' in body
    assert 'href="#readme-install"' in body


def test_readme_images_the_zip_holds_are_served_by_depot(catalog: FlaskClient):
    """A relative image the zip holds shows without the repository host (air-gapped);
    served as an image only, sandboxed, cached for good; nothing else of the zip."""
    body = panel(page(catalog, "/" + WIDGETS))
    src = f"/-/zip-image?module={WIDGETS}&amp;version=v1.2.0&amp;file=docs/turn.svg"
    assert f'src="{src}"' in body, re.findall(r'<img[^>]*>', body)
    image = catalog.get(src.replace("&amp;", "&"))
    assert image.status_code == 200 and image.mimetype == "image/svg+xml"
    assert b"<svg" in image.data
    assert "sandbox" in image.headers["Content-Security-Policy"]
    assert "script-src" not in image.headers["Content-Security-Policy"]
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in image.headers["Cache-Control"]
    base = f"/-/zip-image?module={WIDGETS}&version=v1.2.0&file="
    assert catalog.get(base + "go.mod").status_code == 404  # not an image
    assert catalog.get(base + "img/logo.png").status_code == 404  # not in the zip
    assert catalog.get(base + "../../etc/x.png").status_code == 404
    assert catalog.get(f"/-/zip-image?module={WIDGETS}&version=latest&file=docs/turn.svg"
                       ).status_code == 400
    assert catalog.get(f"/-/zip-image?module={UNLICENSED}&version=v1.0.0&file=x.png"
                       ).status_code == 404  # its files are not shown
    # The Files view shows an image as one, not as "a binary file".
    files = panel(page(catalog, f"/{WIDGETS}?tab=files&file=docs/turn.svg"))
    assert f'<img src="{src}" alt="docs/turn.svg">' in files


def test_plain_text_readme_is_shown_as_text(catalog: FlaskClient):
    body = panel(page(catalog, "/" + PLAINTEXT))
    assert '<pre class="readme-text">' in body and "&lt;b&gt;these tags&lt;/b&gt;" in body


def test_xss_readme_is_inert_in_the_page(catalog: FlaskClient):
    from tests.content.test_readme import assert_inert

    body = panel(page(catalog, "/" + XSS))
    readme = body[body.index('<article class="readme">'):body.index("</article>")]
    assert_inert(readme)
    assert "Plain text survives" in readme


def test_gomod_tab_is_highlighted(catalog: FlaskClient):
    body = panel(page(catalog, "/depot.test/chain/a?tab=gomod"))
    assert '<span class="k">module</span> <span class="nn">depot.test/chain/a</span>' in body
    assert '<span class="c1">// indirect</span>' in body


def test_dependencies_tab_lists_direct_and_indirect_linked(catalog: FlaskClient):
    body = page(catalog, "/depot.test/chain/a@v1.1.0?tab=dependencies")
    assert "Dependencies (2)" in body
    tab = panel(body)
    direct, indirect = tab.split("Indirect")
    assert 'href="/depot.test/chain/b@v1.0.0"' in direct and "chain/c" not in direct
    assert 'href="/depot.test/chain/c@v1.0.0"' in indirect
    assert "not in Depot" not in tab
    assert "requires no other module" in panel(page(catalog, f"/{CHAIN_C}?tab=dependencies"))


def test_dependencies_not_in_depot_are_marked(portal_app: Flask):
    svc = portal_app.extensions["depot"]
    with svc.db.session() as session:
        module = Module(path="depot.test/lonely")
        session.add(module)
        session.flush()
        row = ModuleVersion(module_id=module.id, version="v1.0.0", state=VersionState.published,
                            redistributable=True)
        session.add(row)
        session.flush()
        session.add(Requirement(version_id=row.id, path="example.com/gone",
                                required_version="v0.1.0"))
    body = panel(page(portal_app.test_client(), "/depot.test/lonely?tab=dependencies"))
    assert 'href="/example.com/gone@v0.1.0"' in body and "not in Depot" in body


def test_used_by_counts_each_module_once_and_paginates(catalog: FlaskClient):
    body = page(catalog, f"/{CHAIN_C}?tab=usedby")
    assert "Used By (25)" in body  # chain/b, widgets, 23 users; u01's two versions count once
    tab = panel(body)
    assert "25 modules in Depot require" in tab
    listed = re.findall(r'<span class="path">([^<]+)</span>', tab)
    assert len(listed) == 20 and listed == sorted(listed) and len(set(listed)) == 20
    assert f'href="/{USERS[0]}@v1.1.0"' in tab  # its highest version that requires it
    assert "requires v1.0.0" in tab
    second = panel(page(catalog, f"/{CHAIN_C}?tab=usedby&page=2"))
    rest = re.findall(r'<span class="path">([^<]+)</span>', second)
    assert len(rest) == 5 and not set(rest) & set(listed)
    # indirect requirements do not make a user: chain/a lists chain/c as // indirect
    assert "depot.test/chain/a" not in listed + rest
    page(catalog, f"/{CHAIN_C}?tab=usedby&page=x", status=400)


def test_versions_tab_marks_retracted_deprecated_and_pseudo(catalog: FlaskClient):
    tab = panel(page(catalog, "/depot.test/retract?tab=versions"))
    rows = dict(re.findall(r'>(v1\.\d\.\d)</a></td>(.*?)</tr>', tab, re.S))
    assert "retracted" in rows["v1.0.1"] and RETRACT_RATIONALE in rows["v1.0.1"]
    assert "retracted" not in rows["v1.0.0"] and "latest" in rows["v1.1.0"]
    assert list(rows) == ["v1.1.0", "v1.0.1", "v1.0.0"]
    deprecated = page(catalog, "/depot.test/deprecated?tab=versions")
    assert DEPRECATION in deprecated and "deprecated</span>" in panel(deprecated)
    pseudo = panel(page(catalog, "/depot.test/pseudo?tab=versions"))
    assert "Pseudo-versions" in pseudo and PSEUDO_VERSION in pseudo
    assert "No tagged versions" in pseudo


def test_retracted_version_page_says_so(catalog: FlaskClient):
    body = page(catalog, "/depot.test/retract@v1.0.1")
    assert "Retracted</strong> by the module's authors: " + RETRACT_RATIONALE in body


def test_license_tab_shows_spdx_file_and_text(catalog: FlaskClient):
    tab = panel(page(catalog, "/depot.test/chain/a?tab=license"))
    assert "MIT" in tab and "<small>LICENSE</small>" in tab
    assert "Permission is hereby granted" in tab


def test_non_redistributable_version_hides_its_contents_and_says_why(catalog: FlaskClient):
    body = page(catalog, "/" + UNLICENSED)
    assert "This version is held: license not redistributable" in body
    assert "no license file" in body
    assert "go get" not in body
    for tab in ("readme", "gomod", "license"):
        tab_body = panel(page(catalog, f"/{UNLICENSED}?tab={tab}"))
        assert "not one Depot may redistribute" in tab_body
        assert "Generated Depot fixture" not in tab_body and "<span class=\"k\">" not in tab_body


def test_rejected_and_failed_versions_show_state_and_reason(catalog: FlaskClient):
    body = page(catalog, f"/{REJECTED}@v1.0.0")
    assert "This version is rejected." in body and REJECTED_REASON in body
    failed = page(catalog, f"/{REJECTED}@v1.1.0")
    assert "This version failed." in failed and FAILED_REASON in failed
    assert "was failed before its files were checked" in panel(failed)
    assert "go get" not in failed
    # Nothing published: the newest refused with a reason heads it, not the failed v1.1.0.
    unversioned = page(catalog, f"/{REJECTED}")
    assert "This version is rejected." in unversioned and REJECTED_REASON in unversioned
    assert "v1.1.0" in unversioned and "Versions (2)" in unversioned
    # Only published versions are compared with the upstream: no button that checks none.
    versions = panel(page(catalog, f"/{REJECTED}?tab=versions"))
    assert "Check upstream now" not in versions and "this module has none yet" in versions
    assert "Check upstream now" in panel(page(catalog, "/depot.test/chain/a?tab=versions"))


def test_unknown_module_and_version_are_friendly_404s_with_the_request_form(catalog: FlaskClient):
    body = page(catalog, "/depot.test/nothere", status=404)
    assert "is not in Depot" in body and 'name="module" value="depot.test/nothere"' in body
    body = page(catalog, "/depot.test/chain/a@v9.9.9", status=404)
    assert 'name="version" value="v9.9.9"' in body
    assert 'href="/depot.test/chain/a@v1.1.0"' in body  # the versions it has
    body = page(catalog, "/depot.test/chain/a@master", status=404)
    assert "not a canonical version" in body


def test_bad_input_is_a_4xx_page(catalog: FlaskClient):
    assert "No such tab" in page(catalog, "/depot.test/chain/a?tab=bogus", status=400)
    assert "cannot be a Go module" in page(catalog, "/depot.test/Has Space", status=404)
    assert "cannot be a Go module" in page(catalog, "/-bad.example/x", status=404)


def test_latest_and_escaped_paths_redirect(catalog: FlaskClient):
    resp = catalog.get("/depot.test/chain/a@latest?tab=versions", headers=HTML)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/depot.test/chain/a?tab=versions"
    resp = catalog.get("/depot.test/!mixed!case/!lib", headers=HTML)
    assert resp.status_code == 301 and resp.headers["Location"] == "/depot.test/MixedCase/Lib"
    assert "depot.test/MixedCase/Lib" in page(catalog, "/depot.test/MixedCase/Lib")


def test_search_result_links_reach_module_pages(catalog: FlaskClient):
    body = page(catalog, "/search?q=major")
    for path in hit_paths(body):
        assert f'<h1 class="module-path">{path}</h1>' in page(catalog, "/" + path)


@pytest.mark.parametrize("on_miss", ["fetch", "404"])
def test_a_version_a_miss_brought_says_go_gets_it_already(
    settings, portal_upstream, on_miss: str
):  # type: ignore[no-untyped-def]
    """In fetch mode a captured version is served while its validation goes on: its page
    said "Depot does not serve it yet" of a zip Depot had just served (a user trial)."""
    app = make_app(replace(settings, upstream=portal_upstream.url, gosumdb="off",
                           on_miss=on_miss))
    try:
        with app.extensions["depot"].db.session() as session:
            module = Module(path="depot.test/caught")
            session.add(module)
            session.flush()
            session.add(ModuleVersion(module_id=module.id, version="v1.0.0",
                                      state=VersionState.captured, redistributable=True))
        body = page(app.test_client(), "/depot.test/caught@v1.0.0")
        if on_miss == "fetch":
            assert "<code>go</code> gets it from Depot already" in body
            assert "Depot does not serve it" not in body
        else:
            assert "Depot does not serve it yet" in body
            assert "gets it from Depot already" not in body
    finally:
        app.extensions["depot"].db.dispose()


def test_a_dependency_a_miss_brought_is_served_not_missing(settings, portal_upstream
                                                            ):  # type: ignore[no-untyped-def]
    """cobra's Dependencies tab said "not in Depot" of pflag while go clients were being
    served it from a miss's capture (a user trial); the API says the same."""
    app = make_app(replace(settings, upstream=portal_upstream.url, gosumdb="off",
                           on_miss="fetch"))
    try:
        with app.extensions["depot"].db.session() as session:
            top, dep = Module(path="depot.test/top"), Module(path="depot.test/dep")
            session.add_all([top, dep])
            session.flush()
            row = ModuleVersion(module_id=top.id, version="v1.0.0",
                                state=VersionState.published, redistributable=True)
            session.add_all([row, ModuleVersion(module_id=dep.id, version="v1.0.0",
                                                state=VersionState.captured,
                                                redistributable=True)])
            session.flush()
            session.add(Requirement(version_id=row.id, path="depot.test/dep",
                                    required_version="v1.0.0"))
        client = app.test_client()
        body = panel(page(client, "/depot.test/top?tab=dependencies"))
        assert "served, validating" in body and "not in Depot" not in body
        api = client.get("/api/v1/modules/depot.test/top/dependencies").get_json()
        assert api["dependencies"][0]["served"] is True
        assert api["dependencies"][0]["in_depot"] is False
    finally:
        app.extensions["depot"].db.dispose()
