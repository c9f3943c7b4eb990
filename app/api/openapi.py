"""The OpenAPI 3.1 description of the JSON API: the paths written here, next to the
routes; the schemas drawn from the TypedDicts the builders return (app/api/shapes.py),
so an answer's shape is written once and mypy holds the builders to it.

Schemathesis runs against it in the tests, so a route that drifts from this
file, or answers a 5xx to any input the file allows, fails the suite.
"""

from __future__ import annotations

from typing import Any

from app.api.shapes import (
    AuditEventJSON,
    AuditPageJSON,
    BundleJSON,
    ChangeJSON,
    ChangesJSON,
    CheckBody,
    CheckEntryJSON,
    CheckJSON,
    CheckSumJSON,
    DependenciesJSON,
    DiffJSON,
    DriftCheckBody,
    DriftCheckJSON,
    DriftCheckQueuedJSON,
    DriftFindingJSON,
    ErrorJSON,
    GraphJSON,
    InsightJSON,
    LicenseMemberJSON,
    LicenseReportJSON,
    ModuleDriftJSON,
    ModuleJSON,
    RequestBody,
    SearchResultsJSON,
    UpstreamJSON,
    UsedByJSON,
    VersionDetailJSON,
    VersionJSON,
    VersionsJSON,
)
from app.audit import ACTIONS
from app.catalog.check import LIMITS
from app.catalog.license_exports import SpdxDocument
from app.jsonschema import components
from app.pipeline.requests import RequestStatusJSON, UnservedJSON
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
CONFLICT = _ok("Error", "the version's build list is not known yet, or the version is not "
                       "redistributable (its build list is not shown): no partial file")
MODULE = {"name": "module", "in": "path", "required": True,
          "description": "module path, e.g. github.com/google/uuid (slashes may be sent as is)",
          "schema": {"type": "string", "minLength": 1}}
VERSION_QUERY = {"name": "version", "in": "query", "required": False,
                 "description": "a canonical version (default: the latest published)",
                 "schema": {"type": "string"}}

DEPTH_QUERY = {"name": "depth", "in": "query", "required": False,
               "description": "requirement hops to follow (default 2)",
               "schema": {"type": "integer", "minimum": 1, "maximum": 5}}
INDIRECT_QUERY = {"name": "indirect", "in": "query", "required": False,
                  "description": "follow // indirect requirements too",
                  "schema": {"type": "boolean"}}


def _page(name: str, high: int) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": high}}


# Every schema the paths name, drawn from the shapes the builders return.
SCHEMAS: dict[str, Any] = components({
    "Unserved": UnservedJSON,
    "Error": ErrorJSON,
    "Version": VersionJSON,
    "VersionDetail": VersionDetailJSON,
    "Module": ModuleJSON,
    "DriftFinding": DriftFindingJSON,
    "DriftCheck": DriftCheckJSON,
    "Upstream": UpstreamJSON,
    "ModuleDrift": ModuleDriftJSON,
    "DriftCheckBody": DriftCheckBody,
    "DriftCheckQueued": DriftCheckQueuedJSON,
    "Versions": VersionsJSON,
    "Dependencies": DependenciesJSON,
    "UsedBy": UsedByJSON,
    "Graph": GraphJSON,
    "Change": ChangeJSON,
    "Changes": ChangesJSON,
    "Diff": DiffJSON,
    "SearchResults": SearchResultsJSON,
    "Insight": InsightJSON,
    "LicenseMember": LicenseMemberJSON,
    "LicenseReport": LicenseReportJSON,
    "SpdxDocument": SpdxDocument,
    "Bundle": BundleJSON,
    "RequestBody": RequestBody,
    "Request": RequestStatusJSON,
    "CheckBody": CheckBody,
    "CheckEntry": CheckEntryJSON,
    "CheckSum": CheckSumJSON,
    "Check": CheckJSON,
    "AuditEvent": AuditEventJSON,
    "AuditPage": AuditPageJSON,
}, bases={VersionDetailJSON: VersionJSON, DiffJSON: ChangesJSON})


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
            "/api/v1/modules/{module}/licenses": {"get": {
                "summary": "the licenses of a version's whole build list, grouped by SPDX id "
                           "and flagged (unknown, not redistributable, copyleft in a "
                           "permissive module's tree)",
                "parameters": [MODULE, VERSION_QUERY],
                "responses": {"200": _ok("LicenseReport", "the report"), **ERRORS}}},
            "/api/v1/modules/{module}/licenses.csv": {"get": {
                "summary": "the same report as CSV: a header row, then one row per module",
                "parameters": [MODULE, VERSION_QUERY],
                "responses": {
                    "200": {"description": "the CSV file (an attachment)",
                            "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                            "content": {"text/csv": {"schema": {"type": "string"}}}},
                    **ERRORS, "409": CONFLICT}}},
            "/api/v1/modules/{module}/sbom.spdx.json": {"get": {
                "summary": "an SPDX 2.3 SBOM of the build list: one package per module",
                "parameters": [MODULE, VERSION_QUERY],
                "responses": {
                    "200": {"description": "the SPDX JSON file (an attachment)",
                            "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                            "content": {"application/spdx+json": {
                                "schema": _ref("SpdxDocument")}}},
                    **ERRORS, "409": CONFLICT}}},
            "/api/v1/modules/{module}/graph": {"get": {
                "summary": "a version's dependency graph, breadth-first, depth-limited",
                "parameters": [MODULE, VERSION_QUERY, DEPTH_QUERY, INDIRECT_QUERY],
                "responses": {"200": _ok("Graph", "nodes and edges"), **ERRORS}}},
            "/api/v1/modules/{module}/graph.svg": {"get": {
                "summary": "the same graph drawn as SVG (boxes link to module pages)",
                "parameters": [MODULE, VERSION_QUERY, DEPTH_QUERY, INDIRECT_QUERY],
                "responses": {"200": {"description": "the picture",
                                      "content": {"image/svg+xml": {"schema": {
                                          "type": "string"}}}},
                              **ERRORS}}},
            "/api/v1/modules/{module}/diff": {"get": {
                "summary": "dependencies added, removed, upgraded, downgraded between versions",
                "parameters": [MODULE, {
                    "name": "from", "in": "query", "required": False,
                    "description": "a canonical version (default: the published version "
                                   "before `to`)", "schema": {"type": "string"}}, {
                    "name": "to", "in": "query", "required": False,
                    "description": "a canonical version (default: the latest published)",
                    "schema": {"type": "string"}}],
                "responses": {"200": _ok("Diff", "the changes"), **ERRORS}}},
            "/api/v1/modules/{module}/bundle": {"get": {
                "summary": "what the version's offline bundle holds (built on first ask)",
                "parameters": [MODULE, VERSION_QUERY],
                "responses": {"200": _ok("Bundle", "the bundle's contents"), **ERRORS,
                              "503": _ok("Error", "the bundle could not be built now")}}},
            "/api/v1/modules/{module}/bundle.tar.gz": {"get": {
                "summary": "the version's offline bundle: its build list as a GOPROXY tree "
                           "with go.sum, SHA256SUMS and manifest.json",
                "parameters": [MODULE, VERSION_QUERY],
                "responses": {
                    "200": {"description": "the bundle (Content-Disposition: attachment)",
                            "headers": {"ETag": {"schema": {"type": "string"}}},
                            "content": {"application/gzip": {
                                "schema": {"type": "string", "format": "binary"}}}},
                    **ERRORS,
                    "503": _ok("Error", "the bundle could not be built now")}}},
            "/api/v1/modules/{module}/drift": {"get": {
                "summary": "upstream drift checks and findings, per version",
                "parameters": [MODULE],
                "responses": {"200": _ok("ModuleDrift", "checks and drifts"), **ERRORS}}},
            "/api/v1/modules/{module}/drift-checks": {"post": {
                "summary": "compare the module's published versions with the upstream now",
                "parameters": [MODULE],
                "requestBody": {"required": True,
                                "content": {JSON: {"schema": _ref("DriftCheckBody")}}},
                "responses": {
                    "202": {**_ok("DriftCheckQueued", "queued; results at Location"),
                            "headers": {"Location": {"schema": {"type": "string"}}}},
                    **ERRORS,
                    "429": {**_ok("Error", "too many requests from this client "
                                  "(DEPOT_REQUEST_LIMIT a minute, shared with module "
                                  "requests)"),
                            "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
                    "503": _ok("Error", "the job queue is unreachable")}}},
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
            "/api/v1/check": {"post": {
                "summary": "check a go.mod (and go.sum) against Depot: for every requirement "
                           "and the rest of its build list (minimal version selection over "
                           "the requirements Depot stores), whether Depot serves it, holds "
                           "it without serving it (and why) or lacks it; each go.sum line "
                           "compared with the h1: Depot stores (a mismatch is flagged)",
                "requestBody": {"required": True,
                                "content": {JSON: {"schema": _ref("CheckBody")}}},
                "responses": {
                    "200": _ok("Check", "the build list and go.sum lines, judged"),
                    "400": _ok("Error", "not a go.mod, a bad module path or version, or a bad "
                                        "go.sum line: the message names the line"),
                    "413": _ok("Error", f"over a limit ({LIMITS.text()}; the request body "
                                        f"up to {LIMITS.body_bytes // 1024} KiB)"),
                    "503": _ok("Error", "the go command cannot run")}}},
            "/api/v1/audit": {"get": {
                "summary": "the audit trail, newest first (admins): requests, captures, "
                           "publications, refusals, drift checks and findings, token "
                           "changes, operators' commands",
                "parameters": [
                    {"name": "action", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": list(ACTIONS)}},
                    {"name": "actor", "in": "query", "required": False,
                     "description": "a token's name, anonymous, depot or cli:<user>",
                     "schema": {"type": "string", "maxLength": 120}},
                    {"name": "target", "in": "query", "required": False,
                     "description": "what it was done to, or its start (a module path)",
                     "schema": {"type": "string", "maxLength": 600}},
                    {"name": "since", "in": "query", "required": False,
                     "description": "a day (from its start) or an ISO 8601 time",
                     "schema": {"type": "string"}},
                    {"name": "until", "in": "query", "required": False,
                     "description": "a day (through its end) or an ISO 8601 time",
                     "schema": {"type": "string"}},
                    {"name": "before", "in": "query", "required": False,
                     "description": "only events older than this id (the next page)",
                     "schema": {"type": "integer", "minimum": 1}},
                    _page("limit", 200)],
                "responses": {"200": _ok("AuditPage", "one page of events"),
                              "400": ERRORS["400"]}}},
            "/api/v1/requests/{id}": {"get": {
                "summary": "a request's state and the dependencies it pulled in",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 0}}],  # any: 404
                "responses": {"200": _ok("Request", "the request"),
                              "404": ERRORS["404"]}}},
        },
        "components": {"schemas": SCHEMAS},
    }
