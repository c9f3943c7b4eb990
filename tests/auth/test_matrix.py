"""The access-control matrix, made from the URL map: every route × every caller (no
token, reader, requester, admin) × every DEPOT_ANONYMOUS policy. A route the map gains
without a rule in app/auth/roles.py fails here, and is refused to everybody meanwhile."""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from werkzeug.routing import Rule

from app.auth import tokens
from app.auth.roles import ANONYMOUS, RULES, TOKEN_ROLES, Role, needed
from tests.conftest import make_app

# A value for each converter of the map, enough to reach the route's own code.
SAMPLES = {"path": "depot.test/lib", "modpath": "depot.test/lib", "id": "1",
           "default": "x", "string": "x"}
# Concrete names where a route reads its argument closely.
NAMED = {"name": "v1.0.0.info", "escaped": "depot.test/lib", "filename": "depot.css",
         "rest": "depot.test/lib", "target": "depot.test/lib"}


def url_of(rule: Rule) -> str:
    parts = []
    for is_arg, text in rule._trace:  # the rule as werkzeug parsed it
        if not is_arg:
            parts.append(text)
            continue
        converter = type(rule._converters[text]).__name__.removesuffix("Converter").lower()
        parts.append(NAMED.get(text) or SAMPLES.get(converter, "x"))
    url = "".join(parts)
    return url[url.index("|") + 1:] if "|" in url else url


def routes(app: Flask) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, URL) of every route of the map."""
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url_of(rule)


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
         ) -> Iterator[tuple[dict[str, Flask], dict[str, str]]]:
    from tests.conftest import instance_settings, throwaway_database

    upstream = request.getfixturevalue("upstream")
    sumdb = request.getfixturevalue("sumdb")
    folder = tmp_path_factory.mktemp("matrix")
    with throwaway_database("sqlite", folder) as url:
        base = instance_settings(folder / "data", url, upstream, sumdb)
        made = {policy: make_app(replace(base, anonymous=policy, auth_failure_limit=0))
                for policy in ANONYMOUS}
        with made["none"].extensions["depot"].db.session() as session:
            keys = {role: tokens.create(session, f"matrix-{role}", role)[1]
                    for role in TOKEN_ROLES}
        yield made, keys
        for app in made.values():
            app.extensions["depot"].db.dispose()


def test_every_route_has_a_rule_and_every_rule_a_route(
        apps: tuple[dict[str, Flask], dict[str, str]]) -> None:
    app = apps[0]["none"]
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(f"{endpoint} {method}" for endpoint, method, _url in routes(app)
                     if needed(endpoint, method) is None)
    assert missing == [], "add these to app/auth/roles.py RULES"
    assert sorted(set(RULES) - endpoints) == [], "rules of routes that are gone"


@pytest.mark.parametrize("policy", list(ANONYMOUS))
@pytest.mark.parametrize("caller", ["anonymous", *TOKEN_ROLES])
def test_the_matrix(apps: tuple[dict[str, Flask], dict[str, str]], policy: str,
                    caller: str) -> None:
    made, keys = apps
    app = made[policy]
    client = app.test_client()
    role = ANONYMOUS[policy] if caller == "anonymous" else max(TOKEN_ROLES[caller],
                                                               ANONYMOUS[policy])
    headers = {} if caller == "anonymous" else {
        "Authorization": "Basic " + b64encode(f"go:{keys[caller]}".encode()).decode()}
    wrong = []
    for endpoint, method, url in routes(app):
        need = needed(endpoint, method)
        assert need is not None
        resp = client.open(url, method=method, headers=headers)
        allowed = role >= need
        # A route may refuse on its own (/_accel/zip answers nginx 403 for a zip it
        # does not serve); the gate's refusals name the role needed.
        gated = resp.status_code == 401 or (resp.status_code == 403
                                            and "this needs" in resp.get_data(as_text=True))
        if allowed and gated:
            wrong.append(f"{method} {url} ({endpoint}): {resp.status_code}, expected allowed")
        if not allowed:
            expected = 401 if caller == "anonymous" else 403
            if resp.status_code != expected:
                wrong.append(f"{method} {url} ({endpoint}): {resp.status_code}, "
                             f"expected {expected}")
            elif expected == 401 and "Basic" not in resp.headers.get("WWW-Authenticate", ""):
                wrong.append(f"{method} {url}: a 401 without a challenge")
    assert wrong == []


def test_a_closed_depot_still_answers_liveness_and_styles(
        apps: tuple[dict[str, Flask], dict[str, str]]) -> None:
    client = apps[0]["none"].test_client()
    assert client.get("/ping").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 401
    assert client.get("/depot.test/lib/@v/list").status_code == 401


def test_roles_only_grow() -> None:
    assert Role.NOBODY < Role.READER < Role.REQUESTER < Role.ADMIN
