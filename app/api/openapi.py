"""The OpenAPI 3.1 description of the JSON API, written by hand next to the routes.

Schemathesis runs against it in the tests, so a route that drifts from this
file, or answers a 5xx to any input the file allows, fails the suite.
"""

from __future__ import annotations

from typing import Any

from app.catalog.insight import WEIGHTS
from app.search.queries import SORTS

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(schema)}}}


ERRORS = {
    "400": _ok("Error", "invalid input; the message says what to change"),
    "404": _ok("Error", "not in Depot"),
}
MODULE = {"name": "module", "in": "path", "required": True,
          "description": "module path, e.g. github.com/google/uuid (slashes may be sent as is)",
          "schema": {"type": "string", "minLength": 1}}
VERSION_QUERY = {"name": "version", "in": "query", "required": False,
                 "description": "a canonical version (default: the latest published)",
                 "schema": {"type": "string"}}


def _page(name: str, high: int) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": high}}


NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
STATES = ["pending", "fetching", "processing", "staged", "validating", "blocked", "published",
          "rejected", "failed", "validation_failed"]

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"],
              "properties": {"error": {"type": "string"}}},
    "Version": {
        "type": "object",
        "required": ["version", "state", "label", "reason", "pseudo", "retracted"],
        "properties": {
            "version": {"type": "string"},
            "state": {"type": "string", "enum": STATES},
            "label": {"type": "string", "description": "the state in a person's words"},
            "reason": {"type": "string"},
            "time": NULLABLE_TIME,
            "published_at": NULLABLE_TIME,
            "pseudo": {"type": "boolean"},
            "deprecated": NULLABLE_STR,
            "retracted": {"type": "boolean"},
            "retraction_rationale": NULLABLE_STR,
        },
    },
    "VersionDetail": {
        "allOf": [_ref("Version"), {
            "type": "object",
            "required": ["validated", "licenses", "spdx_ids", "dependency_count", "go_get"],
            "properties": {
                "go_version": NULLABLE_STR,
                "validated": {"type": "boolean"},
                "redistributable": {"type": ["boolean", "null"]},
                "validation_note": {"type": "string"},
                "readme": NULLABLE_STR,
                "licenses": {"type": "array", "items": {
                    "type": "object", "required": ["file", "spdx_ids"],
                    "properties": {"file": {"type": "string"},
                                   "spdx_ids": {"type": "array", "items": {"type": "string"}}}}},
                "spdx_ids": {"type": "array", "items": {"type": "string"}},
                "dependency_count": {"type": "integer", "minimum": 0},
                "go_get": {"type": "string"},
            },
        }],
    },
    "Module": {
        "type": "object",
        "required": ["path", "latest", "version_count", "published_count", "used_by",
                     "downloads", "insight", "version"],
        "properties": {
            "path": {"type": "string"},
            "latest": NULLABLE_STR,
            "deprecated": NULLABLE_STR,
            "version_count": {"type": "integer", "minimum": 1},
            "published_count": {"type": "integer", "minimum": 0},
            "used_by": {"type": "integer", "minimum": 0},
            "downloads": {"type": "integer", "minimum": 0},
            "insight": {"type": "integer", "minimum": 0, "maximum": 100,
                        "description": "the module's insight score (see …/insight for its "
                                       "breakdown); about the module, whatever ?version= says"},
            "version": _ref("VersionDetail"),
        },
    },
    "Versions": {
        "type": "object", "required": ["path", "latest", "versions"],
        "properties": {"path": {"type": "string"}, "latest": NULLABLE_STR,
                       "versions": {"type": "array", "items": _ref("Version")}},
    },
    "Dependencies": {
        "type": "object", "required": ["path", "version", "hidden", "dependencies"],
        "properties": {
            "path": {"type": "string"}, "version": {"type": "string"},
            "hidden": {"type": "boolean",
                       "description": "true when the version is not redistributable"},
            "dependencies": {"type": "array", "items": {
                "type": "object", "required": ["path", "version", "indirect", "in_depot"],
                "properties": {"path": {"type": "string"}, "version": {"type": "string"},
                               "indirect": {"type": "boolean"},
                               "in_depot": {"type": "boolean"}}}},
        },
    },
    "UsedBy": {
        "type": "object", "required": ["path", "total", "page", "per_page", "pages", "items"],
        "properties": {
            "path": {"type": "string"}, "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer"}, "per_page": {"type": "integer"},
            "pages": {"type": "integer"},
            "items": {"type": "array", "items": {
                "type": "object", "required": ["path", "version", "requires"],
                "properties": {"path": {"type": "string"}, "version": {"type": "string"},
                               "requires": {"type": "string"}}}},
        },
    },
    "SearchResults": {
        "type": "object",
        "required": ["query", "license", "page", "per_page", "total", "pages", "results"],
        "properties": {
            "query": {"type": "string"}, "license": {"type": "string"},
            "page": {"type": "integer"}, "per_page": {"type": "integer"},
            "total": {"type": "integer", "minimum": 0}, "pages": {"type": "integer"},
            "notice": {"type": "string", "description": "Non-empty when the search node is "
                       "away and the database search answered instead."},
            "results": {"type": "array", "items": {
                "type": "object",
                "required": ["path", "version", "synopsis", "licenses", "used_by"],
                "properties": {
                    "path": {"type": "string"}, "version": {"type": "string"},
                    "synopsis": {"type": "string"},
                    "licenses": {"type": "array", "items": {"type": "string"}},
                    "used_by": {"type": "integer", "minimum": 0},
                    "published_at": NULLABLE_TIME, "deprecated": {"type": "boolean"},
                    "insight": {"type": "integer", "minimum": 0, "maximum": 100,
                                "description": "insight score as of the module's last "
                                               "index update"}}}},
            "sort": {"type": "string", "enum": list(SORTS)},
        },
    },
    "Insight": {
        "type": "object",
        "required": ["path", "version", "score", "max", "computed_at", "factors"],
        "properties": {
            "path": {"type": "string"},
            "version": {**NULLABLE_STR, "description": "the latest published version the "
                        "facts are measured on; null when nothing is published (score 0)"},
            "score": {"type": "integer", "minimum": 0, "maximum": 100},
            "max": {"type": "integer", "const": 100},
            "computed_at": {"type": "string", "format": "date-time"},
            "factors": {"type": "array", "items": {
                "type": "object",
                "required": ["key", "name", "value", "points", "max", "explanation"],
                "properties": {
                    "key": {"type": "string", "enum": list(WEIGHTS)},
                    "name": {"type": "string"},
                    "value": {"type": "string", "description": "the measured fact"},
                    "points": {"type": "number", "minimum": 0},
                    "max": {"type": "integer", "minimum": 1},
                    "explanation": {"type": "string"}}}},
        },
    },
    "RequestBody": {
        "type": "object", "required": ["module"],
        "properties": {"module": {"type": "string", "description": "a module path"},
                       "version": {"type": "string", "default": "latest",
                                   "description": "v1.2.3 or latest"}},
    },
    "Request": {
        "type": "object",
        "required": ["id", "module", "query", "state", "reason", "dependencies"],
        "properties": {
            "id": {"type": "integer"}, "module": {"type": "string"},
            "query": {"type": "string"}, "source": {"type": "string"},
            "version": NULLABLE_STR,
            "state": {"type": "string", "enum": ["queued", "fetching", "processing",
                                                 "validating", "published", "rejected",
                                                 "failed"]},
            "reason": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "dependencies": {"type": "array", "items": {
                "type": "object", "required": ["module", "version", "state"],
                "properties": {"module": {"type": "string"}, "version": {"type": "string"},
                               "state": {"type": "string"}, "reason": {"type": "string"}}}},
        },
    },
}


def spec(server_url: str) -> dict[str, Any]:
    """The document, naming the server it was asked from."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Depot API", "version": "1",
                 "description": "What Depot's pages show, as JSON; and requests for modules "
                                "Depot does not have yet."},
        "servers": [{"url": server_url}],
        "paths": {
            "/api/v1/modules/{module}": {"get": {
                "summary": "a module and one of its versions",
                "parameters": [MODULE, VERSION_QUERY],
                "responses": {"200": _ok("Module", "the module"), **ERRORS}}},
            "/api/v1/modules/{module}/versions": {"get": {
                "summary": "every version Depot knows, newest first, in every state",
                "parameters": [MODULE],
                "responses": {"200": _ok("Versions", "the versions"), **ERRORS}}},
            "/api/v1/modules/{module}/dependencies": {"get": {
                "summary": "what a version's go.mod requires, marked when Depot lacks it",
                "parameters": [MODULE, VERSION_QUERY],
                "responses": {"200": _ok("Dependencies", "the requirements"), **ERRORS}}},
            "/api/v1/modules/{module}/insight": {"get": {
                "summary": "the module's insight score (0-100) and each factor: the measured "
                           "fact, points earned, points possible and why",
                "parameters": [MODULE],
                "responses": {"200": _ok("Insight", "the score and its breakdown"),
                              **ERRORS}}},
            "/api/v1/modules/{module}/used-by": {"get": {
                "summary": "modules whose published versions require this one, once each",
                "parameters": [MODULE, _page("page", 100_000), _page("per_page", 100)],
                "responses": {"200": _ok("UsedBy", "one page of users"), **ERRORS}}},
            "/api/v1/search": {"get": {
                "summary": "search published modules",
                "parameters": [
                    {"name": "q", "in": "query", "required": False,
                     "schema": {"type": "string", "maxLength": 200}},
                    {"name": "license", "in": "query", "required": False,
                     "schema": {"type": "string"}},
                    {"name": "sort", "in": "query", "required": False,
                     "description": "order of the results; only the order changes",
                     "schema": {"type": "string", "enum": list(SORTS),
                                "default": SORTS[0]}},
                    _page("page", 10_000), _page("per_page", 100)],
                "responses": {"200": _ok("SearchResults", "one page of results"),
                              "400": ERRORS["400"]}}},
            "/api/v1/requests": {"post": {
                "summary": "ask Depot to fetch a module version (and its dependencies)",
                "requestBody": {"required": True,
                                "content": {JSON: {"schema": _ref("RequestBody")}}},
                "responses": {
                    "202": {**_ok("Request", "accepted; poll the Location"),
                            "headers": {"Location": {"schema": {"type": "string"}}}},
                    "400": ERRORS["400"],
                    "429": {**_ok("Error", "too many module requests from this client "
                                  "(DEPOT_REQUEST_LIMIT a minute, shared with the form)"),
                            "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
                    "503": _ok("Error", "the job queue is unreachable")}}},
            "/api/v1/requests/{id}": {"get": {
                "summary": "a request's state and the dependencies it pulled in",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 0}}],  # any: 404
                "responses": {"200": _ok("Request", "the request"),
                              "404": ERRORS["404"]}}},
        },
        "components": {"schemas": SCHEMAS},
    }
