"""The OpenAPI 3.1 description of the JSON API, written by hand next to the routes.

Schemathesis runs against it in the tests, so a route that drifts from this
file, or answers a 5xx to any input the file allows, fails the suite.
"""

from __future__ import annotations

from typing import Any

from app.catalog.insight import WEIGHTS
from app.licenses.categories import LABELS
from app.models import VersionState
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


NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
LICENSE_KINDS = list(LABELS)
DRIFT_OUTCOMES = ["same", "differs", "gone", "error"]
STATES = [state.value for state in VersionState]

SCHEMAS: dict[str, Any] = {
    "Unserved": {"type": "object", "required": ["module", "version", "reason"],
                 "properties": {"module": {"type": "string"}, "version": {"type": "string"},
                                "reason": {"type": "string"}}},
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
                "unserved": {
                    "type": "array",
                    "description": "a published version's build-list members that Depot "
                                   "holds but does not serve, each with why (consumers "
                                   "need GOPROXY=<Depot>,direct)",
                    "items": _ref("Unserved")},
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
            "upstream": _ref("Upstream"),
        },
    },
    "DriftFinding": {
        "type": "object",
        "required": ["kind", "stored_sha256", "upstream_sha256", "detected_at"],
        "properties": {
            "kind": {"type": "string", "enum": ["info", "mod", "zip", "gone"],
                     "description": "the file that differs, or gone: the upstream no "
                                    "longer has the version"},
            "stored_sha256": {"type": "string"},
            "upstream_sha256": {**NULLABLE_STR, "description": "null when gone, or when "
                                "the checksum database refused the upstream's bytes"},
            "stored_h1": NULLABLE_STR,
            "upstream_h1": NULLABLE_STR,
            "detected_at": {"type": "string", "format": "date-time"},
        },
    },
    "DriftCheck": {
        "type": "object", "required": ["checked_at", "outcome", "detail", "trigger"],
        "properties": {
            "checked_at": {"type": "string", "format": "date-time"},
            "outcome": {"type": "string", "enum": DRIFT_OUTCOMES},
            "detail": {"type": "string"},
            "trigger": {"type": "string", "description": "sweep, cli, api or portal"},
        },
    },
    "Upstream": {
        "type": "object",
        "description": "The drift alarm on this version: Depot keeps serving what it "
                       "captured at captured_at, whatever the upstream does since.",
        "required": ["captured_at", "last_checked_at", "outcome", "drifted", "drifts"],
        "properties": {
            "captured_at": NULLABLE_TIME,
            "last_checked_at": NULLABLE_TIME,
            "outcome": {"type": ["string", "null"], "enum": [*DRIFT_OUTCOMES, None]},
            "drifted": {"type": "boolean",
                        "description": "drift found and not seen undone by a later check"},
            "drifts": {"type": "array", "items": _ref("DriftFinding")},
        },
    },
    "ModuleDrift": {
        "type": "object", "required": ["path", "last_checked_at", "versions"],
        "properties": {
            "path": {"type": "string"},
            "last_checked_at": NULLABLE_TIME,
            "versions": {"type": "array", "items": {
                "type": "object",
                "required": ["version", "state", "captured_at", "drifted", "checks", "drifts"],
                "properties": {
                    "version": {"type": "string"},
                    "state": {"type": "string", "enum": STATES},
                    "captured_at": NULLABLE_TIME,
                    "drifted": {"type": "boolean"},
                    "checks": {"type": "array", "items": _ref("DriftCheck")},
                    "drifts": {"type": "array", "items": _ref("DriftFinding")}}}},
        },
    },
    "DriftCheckBody": {
        "type": "object",
        "properties": {"version": {"type": "string", "description": "one version (default: "
                                   "the module's published versions, least recently "
                                   "checked first, up to DEPOT_DRIFT_SAMPLE)"}},
    },
    "DriftCheckQueued": {
        "type": "object", "required": ["module", "version", "job_id", "already_queued",
                                       "results"],
        "properties": {
            "module": {"type": "string"}, "version": NULLABLE_STR,
            "job_id": {"type": "string"},
            "already_queued": {"type": "boolean",
                               "description": "the same check was waiting or running"},
            "results": {"type": "string", "description": "where the outcome will show"},
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
                       "description": "true when the version's files are not shown (its "
                                      "license is not redistributable, or not checked "
                                      "yet); its requirements are listed all the same"},
            "dependencies": {"type": "array", "items": {
                "type": "object", "required": ["path", "version", "indirect", "in_depot"],
                "properties": {"path": {"type": "string"}, "version": {"type": "string"},
                               "indirect": {"type": "boolean"},
                               "in_depot": {"type": "boolean"},
                               "held": {"type": "string",
                                        "description": "why Depot holds this version but "
                                                       "does not serve it; empty otherwise"},
                               "served": {"type": "boolean",
                                          "description": "not published, but served by "
                                                         "exact version while its own "
                                                         "validation goes on (a member of "
                                                         "a published build list, or "
                                                         "brought by a client's miss)"}}}},
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
    "Graph": {
        "type": "object",
        "required": ["path", "version", "depth", "indirect", "hidden", "nodes", "edges",
                     "cycles", "replaced", "truncated", "build_list_known"],
        "properties": {
            "path": {"type": "string"}, "version": {"type": "string"},
            "depth": {"type": "integer", "minimum": 1, "maximum": 5},
            "indirect": {"type": "boolean",
                         "description": "// indirect requirements were followed too"},
            "hidden": {"type": "boolean",
                       "description": "true when the version is not redistributable"},
            "nodes": {"type": "array", "description": "node 0 is the version asked for",
                      "items": {
                "type": "object",
                "required": ["id", "path", "version", "depth", "in_depot", "expanded",
                             "replaced_by", "selected", "raised", "cycle",
                             "requirements_below_depth"],
                "properties": {
                    "id": {"type": "integer", "minimum": 0}, "path": {"type": "string"},
                    "version": {"type": "string"}, "depth": {"type": "integer", "minimum": 0},
                    "in_depot": {"type": "boolean"},
                    "expanded": {"type": "boolean",
                                 "description": "its requirements were followed"},
                    "replaced_by": {**NULLABLE_STR, "description": "the root go.mod's "
                                    "replacement (path and version, or a directory)"},
                    "selected": {**NULLABLE_STR, "description": "the version the root's "
                                 "build list selected for this path, when known"},
                    "raised": {"type": "boolean",
                               "description": "MVS selected another version than required"},
                    "cycle": {"type": "boolean",
                              "description": "reached by an edge closing a cycle"},
                    "requirements_below_depth": {"type": "integer", "minimum": 0}}}},
            "edges": {"type": "array", "items": {
                "type": "object", "required": ["source", "target", "indirect", "cycle"],
                "properties": {"source": {"type": "integer"}, "target": {"type": "integer"},
                               "indirect": {"type": "boolean"},
                               "cycle": {"type": "boolean"}}}},
            "cycles": {"type": "array", "items": {
                "type": "object", "required": ["from", "to"],
                "properties": {"from": {"type": "string"}, "to": {"type": "string"}}}},
            "replaced": {"type": "array", "items": {
                "type": "object", "required": ["path", "version", "replacement"],
                "properties": {"path": {"type": "string"}, "version": {"type": "string"},
                               "replacement": {"type": "string"}}}},
            "truncated": {
                "type": "object", "required": ["not_drawn", "max_nodes", "below_depth"],
                "properties": {
                    "not_drawn": {"type": "integer", "minimum": 0,
                                  "description": "modules left out by the node cap"},
                    "max_nodes": {"type": "integer"},
                    "below_depth": {"type": "integer", "minimum": 0,
                                    "description": "nodes whose requirements lie deeper"}}},
            "build_list_known": {"type": "boolean"},
        },
    },
    "Change": {
        "type": "object", "required": ["path", "from", "to", "from_indirect", "to_indirect"],
        "properties": {"path": {"type": "string"}, "from": NULLABLE_STR, "to": NULLABLE_STR,
                       "from_indirect": {"type": "boolean"},
                       "to_indirect": {"type": "boolean"}},
    },
    "Changes": {
        "type": "object",
        "required": ["added", "removed", "upgraded", "downgraded", "unchanged"],
        "properties": {
            "added": {"type": "array", "items": _ref("Change")},
            "removed": {"type": "array", "items": _ref("Change")},
            "upgraded": {"type": "array", "items": _ref("Change")},
            "downgraded": {"type": "array", "items": _ref("Change")},
            "unchanged": {"type": "integer", "minimum": 0},
        },
    },
    "Diff": {
        "allOf": [_ref("Changes"), {
            "type": "object", "required": ["path", "from", "to", "hidden", "build_list"],
            "description": "the go.mod requirements' changes; build_list: the build "
                           "lists' (null when Depot lacks either)",
            "properties": {
                "path": {"type": "string"}, "from": {"type": "string"},
                "to": {"type": "string"}, "hidden": {"type": "boolean"},
                "build_list": {"oneOf": [_ref("Changes"), {"type": "null"}]},
            },
        }],
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
    "LicenseMember": {
        "type": "object",
        "required": ["path", "version", "root", "state", "in_depot", "spdx_ids", "category",
                     "flags", "unknown", "not_redistributable", "copyleft_in_permissive",
                     "zip_sha256"],
        "properties": {
            "path": {"type": "string"}, "version": {"type": "string"},
            "root": {"type": "boolean", "description": "the module the report is about"},
            "state": {"type": ["string", "null"], "enum": [*STATES, None],
                      "description": "null when Depot has no row for this version"},
            "in_depot": {"type": "boolean", "description": "Depot holds this version's zip"},
            "spdx_ids": {"type": "array", "items": {"type": "string"}},
            "category": {"type": ["string", "null"], "enum": [*LICENSE_KINDS, None],
                         "description": "the strictest kind among spdx_ids"},
            "flags": {"type": "array", "items": {"type": "string", "enum": [
                "unknown", "not_redistributable", "copyleft_in_permissive"]}},
            "unknown": {**NULLABLE_STR, "description": "why Depot cannot name the license"},
            "not_redistributable": {"type": "array", "items": {"type": "string"},
                                    "description": "ids off the configured allow-list"},
            "copyleft_in_permissive": {"type": ["string", "null"],
                                       "enum": ["weak", "strong", "network", None]},
            "zip_sha256": NULLABLE_STR,
        },
    },
    "LicenseReport": {
        "type": "object",
        "required": ["path", "version", "state", "build_list_known", "hidden", "withheld",
                     "root_permissive", "summary", "groups", "members", "categories"],
        "properties": {
            "path": {"type": "string"}, "version": {"type": "string"},
            "state": {"type": "string", "enum": STATES},
            "build_list_known": {"type": "boolean", "description": "false while the pipeline "
                                 "has not resolved the build list: members is the root only"},
            "hidden": {"type": "boolean", "description": "true when the version is not "
                       "redistributable: its build list (from its go.mod) is not shown"},
            "withheld": {"type": "string", "description": "why members holds the module's own "
                         "row only (empty when it is the whole build list)"},
            "root_permissive": {"type": "boolean"},
            "summary": {
                "type": "object",
                "required": ["members", "unknown", "not_redistributable",
                             "copyleft_in_permissive"],
                "properties": {
                    "members": {"type": "integer", "minimum": 1},
                    "unknown": {"type": "integer", "minimum": 0},
                    "not_redistributable": {"type": "integer", "minimum": 0},
                    "copyleft_in_permissive": {
                        "type": "object", "required": ["weak", "strong", "network"],
                        "additionalProperties": {"type": "integer", "minimum": 0}},
                },
            },
            "groups": {"type": "array", "items": {
                "type": "object", "required": ["spdx_id", "category", "label", "count",
                                               "members"],
                "properties": {
                    "spdx_id": {"type": "string", "description": "or \"unknown\""},
                    "category": {"type": ["string", "null"], "enum": [*LICENSE_KINDS, None]},
                    "label": {"type": "string"},
                    "count": {"type": "integer", "minimum": 1},
                    "members": {"type": "array", "items": {"type": "string"},
                                "description": "path@version"}}}},
            "members": {"type": "array", "items": _ref("LicenseMember"),
                        "description": "the module itself first, then its build list"},
            "categories": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "each kind's label"},
        },
    },
    "SpdxDocument": {
        "type": "object",
        "description": "an SPDX 2.3 JSON document (https://spdx.github.io/spdx-spec/v2.3/)",
        "required": ["spdxVersion", "dataLicense", "SPDXID", "name", "documentNamespace",
                     "creationInfo", "packages", "relationships"],
        "properties": {
            "spdxVersion": {"const": "SPDX-2.3"},
            "dataLicense": {"const": "CC0-1.0"},
            "SPDXID": {"const": "SPDXRef-DOCUMENT"},
            "name": {"type": "string"},
            "documentNamespace": {"type": "string"},
            "creationInfo": {"type": "object"},
            "packages": {"type": "array", "items": {"type": "object"}},
            "relationships": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Bundle": {
        "type": "object",
        "required": ["path", "version", "file_name", "download_url", "size", "sha256",
                     "module_count", "file_count", "total_bytes", "members"],
        "properties": {
            "path": {"type": "string"}, "version": {"type": "string"},
            "file_name": {"type": "string"},
            "download_url": {"type": "string", "description": "the .tar.gz itself"},
            "size": {"type": "integer", "minimum": 0, "description": "bytes of the .tar.gz"},
            "sha256": {"type": "string"},
            "module_count": {"type": "integer", "minimum": 1,
                             "description": "modules of the build list, this one included"},
            "go_mod_only": {"type": "integer", "minimum": 0,
                            "description": "versions whose go.mod alone the go command reads"},
            "file_count": {"type": "integer", "minimum": 0},
            "total_bytes": {"type": "integer", "minimum": 0,
                            "description": "bytes of the GOPROXY tree, unpacked"},
            "go_version": {"type": "string"}, "depot_version": {"type": "string"},
            "usage": {"type": "object", "additionalProperties": {"type": "string"}},
            "members": {"type": "array", "items": {
                "type": "object",
                "required": ["path", "version", "main", "in_build_list", "files", "bytes"],
                "properties": {
                    "path": {"type": "string"}, "version": {"type": "string"},
                    "main": {"type": "boolean"}, "in_build_list": {"type": "boolean"},
                    "files": {"type": "array", "items": {
                        "type": "string", "enum": ["info", "mod", "zip"]}},
                    "bytes": {"type": "integer", "minimum": 0}}}},
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
            "stopped_at": {"type": "string",
                           "enum": ["queued", "fetching", "processing", "validating"],
                           "description": "for a rejected or failed request, the step it "
                                          "ended at: queued (resolving the query upstream), "
                                          "fetching (the download and its checks), "
                                          "processing (the license gate or the build list), "
                                          "validating (the clean-room consumer)"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time",
                           "description": "when the request, its version or a member of "
                                          "its build list last changed"},
            "dependencies": {"type": "array", "items": {
                "type": "object", "required": ["module", "version", "state"],
                "properties": {"module": {"type": "string"}, "version": {"type": "string"},
                               "state": {"type": "string"}, "reason": {"type": "string"}}}},
            "unserved": {
                "type": "array",
                "description": "members of the build list Depot holds but does not serve "
                               "(not redistributable, refused, or failed), each with why; "
                               "a published version with any says so in its reason",
                "items": _ref("Unserved")},
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
            "/api/v1/requests/{id}": {"get": {
                "summary": "a request's state and the dependencies it pulled in",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 0}}],  # any: 404
                "responses": {"200": _ok("Request", "the request"),
                              "404": ERRORS["404"]}}},
        },
        "components": {"schemas": SCHEMAS},
    }
