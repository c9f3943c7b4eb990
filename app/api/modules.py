"""JSON API for what the module pages and the search page show.

The facts come from app/catalog and app/search, the same functions the HTML
pages use, so a page and its JSON never disagree.

Module paths contain slashes, so ``/api/v1/modules/<path>`` and its
sub-resources (``/versions``, ``/dependencies``, ``/used-by``) share one route;
a path that is itself a known module always means that module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from flask import Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.common import int_arg, iso, requested_detail
from app.api.drift import upstream_json
from app.api.shapes import (
    DependenciesJSON,
    ModuleJSON,
    SearchResultsJSON,
    UsedByJSON,
    VersionDetailJSON,
    VersionJSON,
    VersionsJSON,
)
from app.catalog.modules import VersionDetail, VersionSummary, module_summary
from app.catalog.usage import dependencies, used_by
from app.errors import BadRequest
from app.models import Module
from app.search import InvalidQuery, SearchPage
from app.services.modules import check_path, known_module
from app.wiring import depot

MAX_PER_PAGE = 100


def version_json(v: VersionSummary) -> VersionJSON:
    return {
        "version": v.version,
        "state": v.state,
        "label": v.label,
        "reason": v.reason,
        "time": iso(v.time),
        "published_at": iso(v.published_at),
        "pseudo": v.is_pseudo,
        "deprecated": v.deprecated,
        "retracted": v.retracted is not None,
        "retraction_rationale": v.retracted,
    }


def detail_json(d: VersionDetail) -> VersionDetailJSON:
    return {
        **version_json(d.summary),
        "go_version": d.go_version,
        "validated": d.validated,
        "redistributable": d.redistributable,
        "validation_note": d.validation_note,
        "readme": d.readme_name,
        "licenses": [{"file": lic.file_name, "spdx_ids": list(lic.spdx_ids)}
                     for lic in d.licenses],
        "spdx_ids": d.spdx_ids,
        "dependency_count": d.dependency_count,
        "go_get": f"go get {d.path}@{d.version}",
        # Published with members Depot does not serve: a consumer needs ",direct".
        "unserved": [{"module": p, "version": v, "reason": why} for p, v, why in d.unserved],
    }


def _split(rest: str) -> tuple[str, str]:
    """(module path, sub-resource or "") of what follows /api/v1/modules/."""
    rest = rest.strip("/")
    for sub in SUBRESOURCE_HANDLERS:
        if rest.endswith("/" + sub):
            base = rest[: -len(sub) - 1]
            with depot().db.session() as session:
                if module_summary(session, rest) is None:
                    return base, sub
    return rest, ""


def _versions(session: Session, path: str) -> VersionsJSON:
    summary = known_module(session, path)
    return {"path": path, "latest": summary.latest,
            "versions": [version_json(v) for v in summary.versions]}


def _dependencies(session: Session, path: str) -> DependenciesJSON:
    detail = requested_detail(session, path)
    # Listed for a version whose files are hidden too, as its page does: graph loading
    # is served its go.mod whatever its license (published.held_mod).
    deps = dependencies(session, detail.version_id, depot().settings.on_miss == "fetch")
    return {
        "path": path, "version": detail.version,
        "hidden": not detail.shows_contents,
        "dependencies": [{"path": d.path, "version": d.version, "indirect": d.indirect,
                          "in_depot": d.in_depot, "held": d.held, "served": d.served}
                         for d in deps],
    }


def _used_by(session: Session, path: str) -> UsedByJSON:
    known_module(session, path)
    page = int_arg("page", 1, 1, 100_000)
    per_page = int_arg("per_page", 20, 1, MAX_PER_PAGE)
    found = used_by(session, path, page, per_page)
    return {
        "path": path, "total": found.total, "page": found.page,
        "per_page": found.per_page, "pages": found.pages,
        "items": [{"path": d.path, "version": d.version, "requires": d.requires}
                  for d in found.items],
    }


def _module(session: Session, path: str) -> ModuleJSON:
    detail = requested_detail(session, path)
    summary = detail.module
    downloads = session.scalar(select(Module.downloads).where(Module.path == path))
    insight = depot().insight_facts.insight(
        session, path, datetime.now(UTC))
    return {
        "path": path,
        "latest": summary.latest,
        "deprecated": summary.deprecated,
        "version_count": len(summary.versions),
        "published_count": len(summary.published),
        "used_by": detail.used_by_count,
        "downloads": downloads or 0,
        "insight": insight.score,
        "version": detail_json(detail),
        "upstream": upstream_json(session, detail),
    }


# What GET /api/v1/modules/<path>/<name> answers: one function per sub-resource, given
# an open session and the module path; it raises NotFound/BadRequest or returns the body.
# A handler may return a Response itself (a download) instead of a JSON body.
SUBRESOURCE_HANDLERS: dict[str, Callable[[Session, str], Mapping[str, object] | Response]] = {
    "versions": _versions,
    "dependencies": _dependencies,
    "used-by": _used_by,
}


def module_resource(rest: str) -> Response:
    path, sub = _split(rest)
    check_path(path)
    handler = SUBRESOURCE_HANDLERS.get(sub, _module)
    with depot().db.session() as session:
        body = handler(session, path)
    return body if isinstance(body, Response) else jsonify(body)


def search() -> Response:
    page = int_arg("page", 1, 1, 10_000)
    per_page = int_arg("per_page", 20, 1, MAX_PER_PAGE)
    try:
        found = depot().search.search(request.args.get("q", ""),
                                        request.args.get("license", ""), page, per_page,
                                        request.args.get("sort", "") or "relevance")
    except InvalidQuery as exc:
        raise BadRequest(str(exc)) from exc
    return jsonify(search_json(found))


def search_json(found: SearchPage) -> SearchResultsJSON:
    return {
        "query": found.query, "license": found.license, "page": found.page,
        "per_page": found.per_page, "total": found.total, "pages": found.pages,
        "notice": found.notice, "sort": found.sort,
        "results": [
            {"path": h.path, "version": h.version, "synopsis": h.synopsis,
             "licenses": list(h.licenses), "used_by": h.used_by,
             "published_at": iso(h.published_at), "deprecated": h.deprecated,
             "insight": h.insight}
            for h in found.hits
        ],
    }
