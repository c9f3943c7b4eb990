"""The JSON API's answers, written once: each builder of app/api returns one of these
(so mypy holds it to the shape) and app/api/openapi.py draws the schemas of its
document from them (app/jsonschema.py), so the two cannot drift apart.

Value sets come from the code that makes the values (VersionState, the drift outcomes,
the license kinds, the search orders, the insight factors). A docstring is the schema's
description in the document; a shape with none to give has a comment. The shape of a
request's status lives with its builder, app/pipeline/requests.py; the SPDX document's
with app/catalog/license_exports.py.
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, TypedDict

from app.catalog.check import STATUSES as CHECK_STATUSES
from app.catalog.check import SUM_STATUSES
from app.catalog.insight import WEIGHTS
from app.catalog.license_report import Flag
from app.jsonschema import Keywords, Time, one_of
from app.licenses.categories import COPYLEFT_KIND, LABELS
from app.models import DriftKind, DriftOutcome, VersionState
from app.pipeline.requests import UnservedJSON
from app.search.queries import SORTS

Count = Annotated[int, Keywords(minimum=0)]
Score = Annotated[int, Keywords(minimum=0, maximum=100)]
State = Annotated[str, one_of(VersionState)]
Outcome = Annotated[str, one_of(DriftOutcome)]
LicenseKind = Annotated[str | None, one_of(LABELS)]
FileKind = Literal["info", "mod", "zip"]


class ErrorJSON(TypedDict):
    # Every 4xx and 5xx of the API.
    error: str


class VersionJSON(TypedDict):
    # One version, as the versions list shows it.
    version: str
    state: State
    label: Annotated[str, "the state in a person's words"]
    reason: str
    time: Time | None
    published_at: Time | None
    pseudo: bool
    deprecated: str | None
    retracted: bool
    retraction_rationale: str | None


class LicenseFileJSON(TypedDict):
    file: str
    spdx_ids: list[str]


class VersionDetailJSON(VersionJSON):
    # The version a module's JSON is about (the OpenAPI document: allOf Version).
    go_version: str | None
    validated: bool
    redistributable: bool | None
    validation_note: str
    readme: str | None
    licenses: list[LicenseFileJSON]
    spdx_ids: list[str]
    dependency_count: Count
    go_get: str
    unserved: Annotated[list[UnservedJSON], (
        "a published version's build-list members that Depot holds but does not serve, each "
        "with why (consumers need GOPROXY=<Depot>,direct)")]


class DriftFindingJSON(TypedDict):
    kind: Annotated[str, one_of(DriftKind),
                    "the file that differs, or gone: the upstream no longer has the version"]
    stored_sha256: str
    upstream_sha256: Annotated[str | None, "null when gone, or when the checksum database "
                                           "refused the upstream's bytes"]
    stored_h1: str | None
    upstream_h1: str | None
    detected_at: Time


class DriftCheckJSON(TypedDict):
    checked_at: Time
    outcome: Outcome
    detail: str
    trigger: Annotated[str, "sweep, cli, api or portal"]


class UpstreamJSON(TypedDict):
    """The drift alarm on this version: Depot keeps serving what it captured at
    captured_at, whatever the upstream does since."""

    captured_at: Time | None
    last_checked_at: Time | None
    outcome: Outcome | None
    drifted: Annotated[bool, "drift found and not seen undone by a later check"]
    drifts: list[DriftFindingJSON]


class ModuleJSON(TypedDict):
    # GET /api/v1/modules/<path>: the module and one of its versions.
    path: str
    latest: str | None
    deprecated: str | None
    version_count: Annotated[int, Keywords(minimum=1)]
    published_count: Count
    used_by: Count
    downloads: Count
    insight: Annotated[Score, "the module's insight score (see …/insight for its breakdown); "
                              "about the module, whatever ?version= says"]
    version: VersionDetailJSON
    upstream: UpstreamJSON


class VersionDriftJSON(TypedDict):
    version: str
    state: State
    captured_at: Time | None
    drifted: bool
    checks: list[DriftCheckJSON]
    drifts: list[DriftFindingJSON]


class ModuleDriftJSON(TypedDict):
    path: str
    last_checked_at: Time | None
    versions: list[VersionDriftJSON]


class DriftCheckBody(TypedDict):
    # What POST …/drift-checks reads.
    version: NotRequired[Annotated[str, "one version (default: the module's published "
                                        "versions, least recently checked first, up to "
                                        "DEPOT_DRIFT_SAMPLE)"]]


class DriftCheckQueuedJSON(TypedDict):
    module: str
    version: str | None
    job_id: str
    already_queued: Annotated[bool, "the same check was waiting or running"]
    results: Annotated[str, "where the outcome will show"]


class VersionsJSON(TypedDict):
    path: str
    latest: str | None
    versions: list[VersionJSON]


class DependencyJSON(TypedDict):
    path: str
    version: str
    indirect: bool
    in_depot: bool
    held: Annotated[str, "why Depot holds this version but does not serve it; empty "
                         "otherwise"]
    served: Annotated[bool, "not published, but served by exact version while its own "
                            "validation goes on (a member of a published build list, or "
                            "brought by a client's miss)"]


class DependenciesJSON(TypedDict):
    path: str
    version: str
    hidden: Annotated[bool, "true when the version's files are not shown (its license is not "
                            "redistributable, or not checked yet); its requirements are "
                            "listed all the same"]
    dependencies: list[DependencyJSON]


class UserJSON(TypedDict):
    path: str
    version: str
    requires: str


class UsedByJSON(TypedDict):
    path: str
    total: Count
    page: int
    per_page: int
    pages: int
    items: list[UserJSON]


class NodeJSON(TypedDict):
    id: Count
    path: str
    version: str
    depth: Count
    in_depot: Annotated[bool, "Depot holds it with its requirements (published or on its "
                              "way)"]
    published: Annotated[bool, "published; in_depot but not published: stored, being "
                               "validated (the GOPROXY may serve it already)"]
    expanded: Annotated[bool, "its requirements were followed"]
    replaced_by: Annotated[str | None, "the root go.mod's replacement (path and version, or "
                                       "a directory)"]
    selected: Annotated[str | None, "the version the root's build list selected for this "
                                    "path, when known"]
    raised: Annotated[bool, "MVS selected another version than required"]
    cycle: Annotated[bool, "reached by an edge closing a cycle"]
    requirements_below_depth: Count


class EdgeJSON(TypedDict):
    source: int
    target: int
    indirect: bool
    cycle: bool


# "from" is a keyword: these two are spelled as calls.
CycleJSON = TypedDict("CycleJSON", {"from": str, "to": str})


class ReplacedJSON(TypedDict):
    path: str
    version: str
    replacement: str


class TruncatedJSON(TypedDict):
    not_drawn: Annotated[Count, "modules left out by the node cap"]
    max_nodes: int
    below_depth: Annotated[Count, "nodes whose requirements lie deeper"]


class GraphJSON(TypedDict):
    path: str
    version: str
    depth: Annotated[int, Keywords(minimum=1, maximum=5)]
    indirect: Annotated[bool, "// indirect requirements were followed too"]
    hidden: Annotated[bool, "true when the version is not redistributable"]
    nodes: Annotated[list[NodeJSON], "node 0 is the version asked for"]
    edges: list[EdgeJSON]
    cycles: list[CycleJSON]
    replaced: list[ReplacedJSON]
    truncated: TruncatedJSON
    build_list_known: bool


ChangeJSON = TypedDict("ChangeJSON", {"path": str, "from": str | None, "to": str | None,
                                      "from_indirect": bool, "to_indirect": bool})


class ChangesJSON(TypedDict):
    added: list[ChangeJSON]
    removed: list[ChangeJSON]
    upgraded: list[ChangeJSON]
    downgraded: list[ChangeJSON]
    unchanged: Count


_DiffSides = TypedDict("_DiffSides", {"path": str, "from": str, "to": str, "hidden": bool,
                                      "build_list": ChangesJSON | None})


class DiffJSON(ChangesJSON, _DiffSides):
    """the go.mod requirements' changes; build_list: the build lists' (null when Depot lacks
    either)"""


class HitJSON(TypedDict):
    path: str
    version: str
    synopsis: str
    licenses: list[str]
    used_by: Count
    published_at: Time | None
    deprecated: bool
    insight: Annotated[Score, "insight score as of the module's last index update"]


class SearchResultsJSON(TypedDict):
    query: str
    license: str
    page: int
    per_page: int
    total: Count
    pages: int
    notice: Annotated[str, "Non-empty when the search node is away and the database search "
                           "answered instead."]
    results: list[HitJSON]
    sort: Annotated[str, one_of(SORTS)]


class FactorJSON(TypedDict):
    key: Annotated[str, one_of(WEIGHTS)]
    name: str
    value: Annotated[str, "the measured fact"]
    points: Annotated[float, Keywords(minimum=0)]
    max: Annotated[int, Keywords(minimum=1)]
    explanation: str


class InsightJSON(TypedDict):
    path: str
    version: Annotated[str | None, "the latest published version the facts are measured on; "
                                   "null when nothing is published (score 0)"]
    score: Score
    max: Annotated[int, Keywords(const=sum(WEIGHTS.values()))]
    computed_at: Time
    factors: list[FactorJSON]


class LicenseMemberJSON(TypedDict):
    path: str
    version: str
    root: Annotated[bool, "the module the report is about"]
    state: Annotated[str | None, one_of(VersionState),
                     "null when Depot has no row for this version"]
    in_depot: Annotated[bool, "Depot holds this version's zip"]
    spdx_ids: list[str]
    category: Annotated[LicenseKind, "the strictest kind among spdx_ids"]
    flags: list[Flag]
    unknown: Annotated[str | None, "why Depot cannot name the license"]
    not_redistributable: Annotated[list[str], "ids off the configured allow-list"]
    copyleft_in_permissive: Annotated[str | None, one_of(COPYLEFT_KIND.values())]
    zip_sha256: str | None


class LicenseSummaryJSON(TypedDict):
    members: Annotated[int, Keywords(minimum=1)]
    unknown: Count
    not_redistributable: Count
    copyleft_in_permissive: Annotated[dict[str, Count],
                                      Keywords(required=list(COPYLEFT_KIND.values()))]


class LicenseGroupJSON(TypedDict):
    spdx_id: Annotated[str, 'or "unknown"']
    category: LicenseKind
    label: str
    count: Annotated[int, Keywords(minimum=1)]
    members: Annotated[list[str], "path@version"]


class LicenseReportJSON(TypedDict):
    path: str
    version: str
    state: State
    build_list_known: Annotated[bool, "false while the pipeline has not resolved the build "
                                      "list: members is the root only"]
    hidden: Annotated[bool, "true when the version is not redistributable: its build list "
                            "(from its go.mod) is not shown"]
    withheld: Annotated[str, "why members holds the module's own row only (empty when it is "
                             "the whole build list)"]
    root_permissive: bool
    summary: LicenseSummaryJSON
    groups: list[LicenseGroupJSON]
    members: Annotated[list[LicenseMemberJSON], "the module itself first, then its build list"]
    categories: Annotated[dict[str, str], "each kind's label"]


class BundleMemberJSON(TypedDict):
    path: str
    version: str
    main: bool
    in_build_list: bool
    files: list[FileKind]
    bytes: Count


class BundleJSON(TypedDict):
    path: str
    version: str
    file_name: str
    download_url: Annotated[str, "the .tar.gz itself"]
    size: Annotated[Count, "bytes of the .tar.gz"]
    sha256: str
    module_count: Annotated[int, Keywords(minimum=1),
                            "modules of the build list, this one included"]
    go_mod_only: Annotated[Count, "versions whose go.mod alone the go command reads"]
    file_count: Count
    total_bytes: Annotated[Count, "bytes of the GOPROXY tree, unpacked"]
    go_version: str
    depot_version: str
    usage: dict[str, str]
    members: list[BundleMemberJSON]


class RequestBody(TypedDict):
    # What POST /api/v1/requests reads.
    module: Annotated[str, "a module path"]
    version: NotRequired[Annotated[str, Keywords(default="latest"), "v1.2.3 or latest"]]


class CheckBody(TypedDict):
    # What POST /api/v1/check reads.
    go_mod: Annotated[str, "the go.mod's text"]
    go_sum: NotRequired[Annotated[str | None, "the go.sum's text (optional)"]]


class CheckEntryJSON(TypedDict):
    """One module of the build list: served (the GOPROXY answers its zip), held (Depot holds
    it but does not serve it: reason says why), missing (not in Depot) or replaced (by the
    go.mod's replace line; not judged)."""

    module: str
    version: Annotated[str, "the version minimal version selection picks"]
    direct: Annotated[bool, "a require line of the go.mod (false: from the graph)"]
    indirect: Annotated[bool, "that line is marked // indirect"]
    required: Annotated[str | None, "the version the go.mod's line asks for (null: from "
                                    "the graph); lower than version when the graph raises it"]
    via: Annotated[str | None, "module@version whose requirement brought it (null: the "
                               "go.mod)"]
    status: Annotated[str, one_of(CHECK_STATUSES)]
    reason: str
    requested: Annotated[bool, "missing, but already requested and on its way"]
    requirements_unknown: Annotated[bool, "Depot lacks this version's go.mod, which the "
                                          "build list needs: what it requires is unknown"]
    replacement: Annotated[str | None, "what the go.mod puts in its place (path version, or "
                                       "a directory)"]
    url: Annotated[str, "its page in the portal"]


class CheckSumJSON(TypedDict):
    """One go.sum line: match (the h1 Depot stores), mismatch (another one: the go command
    through Depot will refuse it) or unknown (Depot does not hold that file)."""

    module: str
    version: str
    kind: Annotated[str, one_of(["zip", "go.mod"])]
    line: Annotated[int, Keywords(minimum=1)]
    hash: Annotated[str, "the pasted h1:"]
    depot_hash: Annotated[str | None, "the h1: Depot stores (null: unknown)"]
    status: Annotated[str, one_of(SUM_STATUSES)]
    reason: str


class CheckModuleJSON(TypedDict):
    module: str
    version: str


class CheckSumsJSON(TypedDict):
    lines: Annotated[list[CheckSumJSON], "every line, in the go.sum's order"]
    counts: Annotated[dict[str, Count], Keywords(required=list(SUM_STATUSES))]


class CheckLimitsJSON(TypedDict):
    go_mod_bytes: int
    go_sum_bytes: int
    requirements: Annotated[int, "require lines of the go.mod"]
    go_sum_lines: int
    nodes: Annotated[int, "go.mod files the build-list walk reads at most"]
    body_bytes: Annotated[int, "the whole request body"]


class CheckJSON(TypedDict):
    """POST /api/v1/check: the pasted go.mod's build list and go.sum against Depot."""

    module: Annotated[str, "the go.mod's module path"]
    go: str | None
    toolchain: str | None
    pruned: Annotated[bool, "go 1.17 or later: a pruned module graph"]
    mismatch: Annotated[bool, "some go.sum line differs from what Depot stores: look at "
                              "go_sum.lines with status mismatch"]
    complete: Annotated[bool, "Depot saw every go.mod the build list needs (see incomplete, "
                              "local and truncated)"]
    counts: Annotated[dict[str, Count], Keywords(required=[*CHECK_STATUSES, "mismatch"])]
    entries: Annotated[list[CheckEntryJSON], "direct requirements first, then the graph's"]
    go_sum: CheckSumsJSON
    excluded: Annotated[list[CheckModuleJSON], "requirements dropped by the go.mod's exclude"]
    incomplete: Annotated[list[CheckModuleJSON], "versions whose go.mod the build list needs "
                                                 "and Depot lacks: what they require is "
                                                 "unknown"]
    local: Annotated[list[CheckModuleJSON], "replaced by a directory: what they require is "
                                            "unknown"]
    nodes_walked: Count
    truncated: Annotated[bool, "the walk stopped at limits.nodes"]
    to_request: Annotated[Count, "missing versions not yet requested (the page's button "
                                 "requests them; POST /api/v1/requests takes them one by one)"]
    limits: CheckLimitsJSON


class AuditEventJSON(TypedDict):
    # One event of the audit trail (app/audit.py).
    id: int
    at: str
    actor: str  # a token's name, "anonymous", "depot" (the pipeline) or "cli:<user>"
    role: str
    action: str
    target: str
    detail: str
    source: str  # the client's address, "cli" or "worker"
    request_id: str


class AuditPageJSON(TypedDict):
    # Newest first; ``next`` is the URL of the older events, null on the last page.
    events: list[AuditEventJSON]
    next: str | None
