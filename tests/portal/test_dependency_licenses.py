"""The module page's Dependency Licenses tab, on a tree the real pipeline ingested
(SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.models import Module, ModuleVersion, VersionState
from tests.conftest import GO
from tests.fixtures.license_tree import CUSTOM, GONE, GPL, LGPL, ROOT, UTIL, license_depot
from tests.portal.conftest import HTML, HX


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                                  marks=pytest.mark.postgres)])
def tree(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp(f"license-tab-{request.param}")
    with license_depot(tmp, request.param, GO) as app:
        yield app


@pytest.fixture
def client(tree: Flask) -> FlaskClient:
    return tree.test_client()


def page(client: FlaskClient, url: str, status: int = 200, headers: dict = HTML) -> str:
    resp = client.get(url, headers=headers)
    assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[:500])
    return resp.get_data(as_text=True)


def panel(body: str) -> str:
    return body[body.index('<section class="panel"'):]


def rows(body: str) -> dict[str, str]:
    """Module path -> its row's HTML in the members table."""
    table = body[body.index('<table class="license-members">'):]
    table = table[:table.index("</table>")]
    found = {}
    for row in table.split("<tr")[2:]:
        path = re.search(r'<span class="path">([^<]+)</span>', row)
        assert path, row
        found[path.group(1)] = row
    return found


def test_tab_summary_groups_and_members(client: FlaskClient):
    body = page(client, f"/{ROOT}?tab=licenses")
    assert re.search(r'<a href="/depot.test/lic/app\?tab=licenses"[^>]*aria-current="page"', body)
    assert ">Dependency Licenses</a>" in body
    tab = panel(body)
    assert "<strong>6</strong> modules in the build list of depot.test/lic/app@v1.0.0" in tab
    assert "under a permissive root license" in tab
    assert re.search(r'class="flag-bad"><strong>2</strong> unknown licenses', tab)
    assert re.search(r'class="flag-ok"><strong>0</strong> not redistributable', tab)
    assert re.search(r'class="flag-warn"><strong>2</strong> copyleft in a permissive tree', tab)
    assert "1 weak, 1 strong" in tab
    groups = tab[tab.index('<table class="license-groups">'):tab.index("</table>")]
    assert re.findall(r'<span class="spdx">([^<]+)</span>', groups) == [
        "MIT", "unknown", "Apache-2.0", "GPL-3.0-only", "LGPL-3.0-only"]
    members = rows(tab)
    assert list(members) == [ROOT, CUSTOM, GONE, GPL, LGPL, UTIL]
    assert "this module" in members[ROOT]
    assert f'href="/{GPL}@v1.0.0"' in members[GPL] and "strong copyleft" in members[GPL]
    assert "weak copyleft" in members[LGPL]
    assert "unrecognised license in LICENSE" in members[CUSTOM] and "unknown" in members[CUSTOM]
    assert "not in Depot" in members[GONE] and "href" not in members[GONE]
    assert 'class="badge' not in members[UTIL]


def test_download_links_name_the_version_shown(client: FlaskClient):
    tab = panel(page(client, f"/{ROOT}@v1.0.0?tab=licenses"))
    assert f'href="/api/v1/modules/{ROOT}/licenses.csv?version=v1.0.0"' in tab
    assert f'href="/api/v1/modules/{ROOT}/sbom.spdx.json?version=v1.0.0"' in tab
    # The links lead to the files (plain links: no JavaScript needed).
    csv_text = page(client, f"/api/v1/modules/{ROOT}/licenses.csv?version=v1.0.0",
                    headers={})
    assert csv_text.startswith("module,version,root,")


def test_tab_is_an_htmx_fragment(client: FlaskClient):
    fragment = page(client, f"/{ROOT}?tab=licenses", headers=HX)
    title, _, rest = fragment.partition("\n")
    assert title == f"<title>{ROOT} · Depot</title>"
    assert rest.lstrip().startswith('<div id="module-tabs"') and "<html" not in rest
    assert 'id="license-summary"' in rest


def test_hidden_version_shows_its_own_license_only(client: FlaskClient):
    tab = panel(page(client, f"/{CUSTOM}?tab=licenses"))
    assert "does not show it either" in tab
    assert "own license only." in tab
    assert list(rows(tab)) == [CUSTOM]
    assert "licenses.csv" not in tab and "sbom.spdx.json" not in tab


def test_a_version_whose_build_list_is_not_known_yet(tree: Flask):
    svc = tree.extensions["depot"]
    path = "depot.test/lic/early"
    with svc.db.session() as session:
        module = Module(path=path, downloads=0)
        session.add(module)
        session.flush()
        session.add(ModuleVersion(module_id=module.id, version="v0.1.0",
                                  state=VersionState.pending, redistributable=True))
    client = tree.test_client()
    tab = panel(page(client, f"/{path}?tab=licenses"))
    assert "not known yet" in tab and "licenses.csv" not in tab
    resp = client.get(f"/api/v1/modules/{path}/sbom.spdx.json")
    assert resp.status_code == 409 and "not known yet" in resp.get_json()["error"]


def test_bad_tab_and_unknown_version(client: FlaskClient):
    assert "No such tab" in page(client, f"/{ROOT}?tab=license-report", 400)
    page(client, f"/{ROOT}@v9.0.0?tab=licenses", 404)
