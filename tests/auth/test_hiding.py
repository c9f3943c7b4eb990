"""An anonymous caller of a Depot with private modules reads its pages, search and API
as if the private modules were not there: not in a list, a count, a score, a search
result, a suggestion or a graph (app/hidden.py).

The proof is a comparison. Two copies of the same filled catalogue: in one, the users of
chain/c (depot.test/users/*) are private; from the other they are deleted. Every page
and API read an anonymous caller may open, generated from the URL map's routes for each
public module, every tab and sub-resource, must answer the same in both (status and
body, once the per-request nonces and tokens are set aside). A count that still counted
a private user, a score or an order it moved, would differ."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import delete, select

from app.api.modules import SUBRESOURCE_HANDLERS
from app.auth import tokens
from app.auth.gate import GATE
from app.auth.roles import Role
from app.auth.visibility import BY_URL, HIDING
from app.models import GraphMod, Module, ModuleVersion, Request, VersionState
from app.portal.packages import ROOT_PACKAGE_TABS
from app.portal.urls import TABS
from app.search.documents import shown_counts
from app.search.indexing import all_documents
from app.search.updates import index_of
from tests.conftest import make_app, shared_catalog
from tests.fixtures.catalog import CHAIN_C, USERS, WIDGETS
from tests.fixtures.upstream import Upstream

PRIVATE = "depot.test/users"
TOKEN = "depot_" + "h" * 43
TOKEN_HEADER = {"Authorization": f"Bearer {TOKEN}"}
# What changes from one answer to the next whatever the catalogue holds.
_VARYING = [
    (re.compile(r'nonce="[^"]*"'), 'nonce=""'),
    (re.compile(r'name="csrf_token" value="[^"]*"'), 'name="csrf_token" value=""'),
    (re.compile(r'"csrf[-_]token"[^>]*content="[^"]*"'), '"csrf-token" content=""'),
    (re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r'"created": "[^"]*"'), '"created": ""'),  # an SBOM's time of making
    (re.compile(r"\d\d:\d\d:\d\d\.\d{6}"), "<now>"),  # "as of" times of the insight score
]


def _reindexed(app: Flask) -> Flask:
    """The app's search index built again, as `flask search rebuild` does."""
    svc = app.extensions["depot"]
    index = index_of(svc)
    if index is not None:
        with app.app_context():
            used_by = shown_counts(svc.aggregates.used_by, svc.settings)
            index.rebuild(all_documents(svc.db, svc.store, used_by)[1])
    return app


def _without_private(app: Flask) -> Flask:
    """The same catalogue with every row of the private modules deleted."""
    with app.extensions["depot"].db.session() as session:
        private = Module.path.like(f"{PRIVATE}/%")
        session.execute(delete(Module).where(private))
        session.execute(delete(Request).where(Request.module.like(f"{PRIVATE}/%")))
        session.execute(delete(GraphMod).where(GraphMod.module_path.like(f"{PRIVATE}/%")))
    return _reindexed(app)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def twins(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
          portal_upstream: Upstream) -> Iterator[tuple[Flask, Flask]]:
    """(the catalogue with private users, the catalogue without them), both anonymous
    readers' Depots (DEPOT_ANONYMOUS=public)."""
    with ExitStack() as stack:
        apps = []
        for private in (PRIVATE, ""):
            settings = stack.enter_context(
                shared_catalog(request.param, tmp_path_factory, portal_upstream))
            app = make_app(replace(settings, private=private, anonymous="public"))
            stack.callback(app.extensions["depot"].db.dispose)
            app.extensions[GATE].checked.put(TOKEN, tokens.Caller("hiding", Role.READER))
            apps.append(app)
        yield _reindexed(apps[0]), _without_private(apps[1])


def _public_modules(app: Flask) -> list[tuple[str, str]]:
    """The public modules the private users touch (chain/c, which they all require, and
    its neighbours), and a few they do not, each at its published versions."""
    with app.extensions["depot"].db.session() as session:
        found = sorted(session.execute(
            select(Module.path, ModuleVersion.version)
            .join(ModuleVersion, ModuleVersion.module_id == Module.id)
            .where(ModuleVersion.state == VersionState.published,
                   ~Module.path.like(f"{PRIVATE}/%"))).all())
    near = {CHAIN_C, WIDGETS, "depot.test/chain/a", "depot.test/chain/b"}
    return [m for m in found if m[0] in near] + [m for m in found if m[0] not in near][:3]


def anonymous_reads(app: Flask) -> dict[str, list[str]]:
    """Endpoint -> URLs of it an anonymous caller may open, for every public module."""
    modules = _public_modules(app)
    with app.extensions["depot"].db.session() as session:
        requests = max(session.scalars(select(Request.id)).all(), default=0)
    pages = []
    for path, version in modules:
        pages += [f"/{path}", f"/{path}@{version}"]
        pages += [f"/{path}@{version}?tab={tab}" for tab in TABS + ROOT_PACKAGE_TABS]
    words = ["depot", "users", "u01", "chain", "c", "widgets", "depot.test/u"]
    found = {
        "portal.home": ["/"],
        "portal.module_page": pages,
        "api.module_resource": [f"/api/v1/modules/{path}" for path, _ in modules] + [
            f"/api/v1/modules/{path}/{name}" for path, _ in modules
            for name in sorted(SUBRESOURCE_HANDLERS) if name != "bundle.tar.gz"],
        "portal.search": [f"/search?q={w}&sort={s}" for w in words
                          for s in ("relevance", "used_by", "insight")]
        + ["/search?q=depot&license=MIT"],
        "api.search": [f"/api/v1/search?q={w}" for w in words],
        "portal.suggest": [f"/search/suggest?q={w}" for w in words],
        "portal.request_status": [f"/request/{i}" for i in range(1, requests + 2)],
        "api.get_request": [f"/api/v1/requests/{i}" for i in range(1, requests + 2)],
        "portal.request_form": ["/request"],
        "portal.check_form": ["/check"],
        "portal.drift_check_status": [
            f"/drift-check?module={CHAIN_C}&version=v1.0.0&since=2020-01-01T00:00:00"],
        "portal.zip_image": [
            f"/-/zip-image?module={WIDGETS}&version=v1.2.0&file=docs/turn.svg"],
    }
    return found


def _normal(body: str) -> str:
    for pattern, same in _VARYING:
        body = pattern.sub(same, body)
    return body


def test_every_route_open_to_anonymous_callers_is_compared(twins: tuple[Flask, Flask]) -> None:
    """A route added to HIDING joins the comparison below, or this fails."""
    listed = set(anonymous_reads(twins[0]))
    # The GOPROXY's and the checksum database's answers name one module each (compared in
    # tests/auth/test_visibility.py); Set Me Up and the OpenAPI document name none.
    named_alone = {e for e in BY_URL if e.startswith(("goproxy.", "sumdb."))}
    assert (HIDING | BY_URL) - named_alone - {"portal.set_me_up", "api_spec.openapi_json"} \
        == listed


def test_anonymous_callers_read_a_depot_as_if_its_private_modules_were_not_there(
        twins: tuple[Flask, Flask]) -> None:
    hiding, without = (app.test_client() for app in twins)
    reads = anonymous_reads(twins[0])
    # A token holder first: what the process keeps in memory from that visit (counts,
    # search pages, scores) must not be what an anonymous caller is then handed. (The
    # same visit to the other Depot: what it leaves on disk, a built bundle, is then the
    # same in both.)
    warm = [url for endpoint in ("portal.home", "portal.search", "api.search",
                                 "portal.suggest") for url in reads[endpoint]]
    warm += [url for url in reads["portal.module_page"] + reads["api.module_resource"]
             if CHAIN_C in url]
    for url in warm:
        for client in (hiding, without):
            assert client.get(url, headers=TOKEN_HEADER).status_code < 500, url
    compared = 0
    for endpoint, urls in reads.items():
        for url in urls:
            seen = hiding.get(url)
            expected = without.get(url)
            body = seen.get_data(as_text=True)
            assert seen.status_code == expected.status_code, (endpoint, url, body[:300])
            assert _normal(body) == _normal(expected.get_data(as_text=True)), (endpoint, url)
            assert "depot.test/users" not in body, (endpoint, url)
            compared += 1
    assert compared > 150


def test_a_token_still_sees_the_private_users(twins: tuple[Flask, Flask]) -> None:
    """The same Depot, with a token: the users are there, counted and found."""
    client = twins[0].test_client()
    token = TOKEN_HEADER
    used_by = client.get(f"/api/v1/modules/{CHAIN_C}", headers=token).get_json()["used_by"]
    anonymous = client.get(f"/api/v1/modules/{CHAIN_C}").get_json()["used_by"]
    assert used_by - anonymous == len(USERS) and anonymous > 0
    page = client.get(f"/{CHAIN_C}@v1.0.0?tab=usedby", headers=token).get_data(as_text=True)
    assert USERS[0] in page
    assert USERS[0] not in client.get(f"/{CHAIN_C}@v1.0.0?tab=usedby").get_data(as_text=True)
    found = client.get("/api/v1/search?q=u01", headers=token).get_json()
    assert USERS[0] in {hit["path"] for hit in found["results"]}
    home = client.get("/", headers=token)
    assert home.get_data(as_text=True) != client.get("/").get_data(as_text=True)
    # What the token holder saw must not reach a shared cache, which would hand it on.
    for url in ("/", f"/api/v1/modules/{CHAIN_C}", "/api/v1/search?q=u01"):
        said = client.get(url, headers=token).headers.get("Cache-Control", "")
        assert "public" not in said, (url, said)
