"""JSON API for what the module pages and the search page show.

The facts come from app/catalog and app/search, the same functions the HTML
pages use, so a page and its JSON never disagree.

Module paths contain slashes, so ``/api/v1/modules/<path>`` and its
sub-resources (``/versions``, ``/dependencies``, ``/used-by``) share one route;
a path that is itself a known module always means that module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.insight_facts import InsightFactsCache
from app.catalog.modules import ModuleSummary, VersionDetail, VersionSummary, module_summary
from app.catalog.modules import version_detail as catalog_version_detail
from app.catalog.usage import dependencies, used_by
from app.errors import BadRequest, NotFound
from app.gomod import paths, versions
from app.gomod.errors import GoModError
from app.inputs import whole_number
from app.models import Module
from app.search import InvalidQuery, SearchBackend
from app.services import Services

MAX_PER_PAGE = 100


def _services() -> Services:
    return current_app.extensions["depot"]


def search_backend() -> SearchBackend:
    return current_app.extensions["depot.search"]


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    if not raw:
        return default
    value = whole_number(raw, low, high)
    if value is None:
        raise BadRequest(f"{name!r} must be a whole number from {low} to {high}")
    return value


def _iso(value: Any) -> str | None:
    """RFC 3339, as the spec promises: SQLite and the search indexes hand back naive times,
    which Depot always writes in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def version_json(v: VersionSummary) -> dict[str, Any]:
    return {
        "version": v.version,
        "state": v.state,
        "label": v.label,
        "reason": v.reason,
        "time": _iso(v.time),
        "published_at": _iso(v.published_at),
        "pseudo": v.is_pseudo,
        "deprecated": v.deprecated,
        "retracted": v.retracted is not None,
        "retraction_rationale": v.retracted,
    }


def detail_json(d: VersionDetail) -> dict[str, Any]:
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


def _check_path(path: str) -> None:
    try:
        paths.check_module_path(path)
    except GoModError as exc:
        raise BadRequest(str(exc)) from exc


def _summary(session: Session, path: str) -> ModuleSummary:
    found = module_summary(session, path)
    if found is None:
        raise NotFound(f"{path} is not in Depot; request it with POST /api/v1/requests")
    return found


def _detail(session: Session, path: str) -> VersionDetail:
    """The version named by ``?version=`` (default: latest published, else newest)."""
    wanted = request.args.get("version") or None
    if wanted is not None and not versions.is_canonical(wanted):
        raise BadRequest(f"{wanted!r} is not a canonical version such as v1.2.3")
    _summary(session, path)
    found = catalog_version_detail(session, path, wanted)
    if found is None:
        raise NotFound(f"{path}@{wanted} is not in Depot")
    return found


def _split(rest: str) -> tuple[str, str]:
    """(module path, sub-resource or "") of what follows /api/v1/modules/."""
    rest = rest.strip("/")
    # The live registry, not SUBRESOURCES: sub-resources registered after import count too.
    for sub in SUBRESOURCE_HANDLERS:
        if rest.endswith("/" + sub):
            base = rest[: -len(sub) - 1]
            with _services().db.session() as session:
                if module_summary(session, rest) is None:
                    return base, sub
    return rest, ""


def _versions(session: Session, path: str) -> dict[str, Any]:
    summary = _summary(session, path)
    return {"path": path, "latest": summary.latest,
            "versions": [version_json(v) for v in summary.versions]}


def _dependencies(session: Session, path: str) -> dict[str, Any]:
    detail = _detail(session, path)
    # Listed for a version whose files are hidden too, as its page does: graph loading
    # is served its go.mod whatever its license (published.held_mod).
    deps = dependencies(session, detail.version_id, _services().settings.on_miss == "fetch")
    return {
        "path": path, "version": detail.version,
        "hidden": not detail.shows_contents,
        "dependencies": [{"path": d.path, "version": d.version, "indirect": d.indirect,
                          "in_depot": d.in_depot, "held": d.held, "served": d.served}
                         for d in deps],
    }


def _used_by(session: Session, path: str) -> dict[str, Any]:
    _summary(session, path)
    page = _int_arg("page", 1, 1, 100_000)
    per_page = _int_arg("per_page", 20, 1, MAX_PER_PAGE)
    found = used_by(session, path, page, per_page)
    return {
        "path": path, "total": found.total, "page": found.page,
        "per_page": found.per_page, "pages": found.pages,
        "items": [{"path": d.path, "version": d.version, "requires": d.requires}
                  for d in found.items],
    }


def _module(session: Session, path: str) -> dict[str, Any]:
    from app.api.drift import upstream_json  # it builds on this module's helpers

    detail = _detail(session, path)
    summary = detail.module
    downloads = session.scalar(select(Module.downloads).where(Module.path == path))
    insight = InsightFactsCache.kept_in(current_app.extensions, _services().aggregates).insight(
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
SUBRESOURCE_HANDLERS: dict[str, Callable[[Session, str], dict[str, Any] | Response]] = {
    "versions": _versions,
    "dependencies": _dependencies,
    "used-by": _used_by,
}
SUBRESOURCES = tuple(SUBRESOURCE_HANDLERS)


def module_resource(rest: str) -> Response:
    path, sub = _split(rest)
    _check_path(path)
    handler = SUBRESOURCE_HANDLERS.get(sub, _module)
    with _services().db.session() as session:
        body = handler(session, path)
    return body if isinstance(body, Response) else jsonify(body)


def search() -> Response:
    page = _int_arg("page", 1, 1, 10_000)
    per_page = _int_arg("per_page", 20, 1, MAX_PER_PAGE)
    try:
        found = search_backend().search(request.args.get("q", ""),
                                        request.args.get("license", ""), page, per_page,
                                        request.args.get("sort", "") or "relevance")
    except InvalidQuery as exc:
        raise BadRequest(str(exc)) from exc
    return jsonify({
        "query": found.query, "license": found.license, "page": found.page,
        "per_page": found.per_page, "total": found.total, "pages": found.pages,
        "notice": found.notice, "sort": found.sort,
        "results": [
            {"path": h.path, "version": h.version, "synopsis": h.synopsis,
             "licenses": list(h.licenses), "used_by": h.used_by,
             "published_at": _iso(h.published_at), "deprecated": h.deprecated,
             "insight": h.insight}
            for h in found.hits
        ],
    })
