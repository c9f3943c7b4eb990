"""The module page: ``/<module path>`` (latest version) and ``/<module path>@<version>``,
with one tab per URL (``?tab=…``) swapped in by htmx."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import abort, redirect, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from app.catalog import usage
from app.catalog.downloads import downloads
from app.catalog.modules import VersionDetail, module_summary, version_detail
from app.drift.status import page_upstream
from app.fetch.upstream import tagged_list
from app.gomod import paths, versions
from app.gomod.errors import GoModError
from app.inputs import whole_number
from app.models import PROVISIONAL, VersionState
from app.portal import contents
from app.portal import graph as graph_tabs
from app.portal.blueprint import bp
from app.portal.bundle_offer import bundle_offer
from app.portal.context import used_by_counts
from app.portal.dependency_licenses import licenses_tab
from app.portal.errors import error_page, not_in_depot
from app.portal.facts import badges, stored_facts
from app.portal.files import files_tab
from app.portal.htmx import is_fragment_request, page_or_fragment
from app.portal.insight import insight_of, insight_tab
from app.portal.packages import (
    PACKAGE_TABS,
    ROOT_PACKAGE_TABS,
    doc_tab,
    owning_module,
    package_page,
    packages_tab,
    root_package_tab,
)
from app.portal.urls import DEFAULT_TAB, TABS, module_url
from app.wiring import depot

USED_BY_PER_PAGE = 20


def _unescaped(target: str) -> str | None:
    """A GOPROXY-escaped path (``!mixed!case``) pasted into the address bar, decoded."""
    module, at, version = target.partition("@")
    try:
        return paths.unescape_path(module) + at + (paths.unescape_version(version) if at else "")
    except GoModError:
        return None


def _page_number() -> int:
    raw = request.args.get("page", "")
    if not raw:
        return 1
    page = whole_number(raw, 1, 100_000)
    if page is None:
        abort(error_page(400, "Bad page number", "page must be a whole number from 1."))
    return page


def _nothing(_session: Session, _detail: VersionDetail) -> dict:
    return {}


def _dependencies(session: Session, detail: VersionDetail) -> dict:
    fetching = depot().settings.on_miss == "fetch"
    return {"dependencies": usage.dependencies(session, detail.version_id, fetching)}


def _used_by(session: Session, detail: VersionDetail) -> dict:
    return {"dependents": usage.used_by(session, detail.path, _page_number(),
                                        USED_BY_PER_PAGE)}


# What each tab's template needs beyond the header's facts: one function per tab, given
# an open session and the version shown (tabs not named here need nothing more).
TAB_CONTEXT: dict[str, Callable[[Session, VersionDetail], dict]] = {
    "readme": lambda _s, detail: {"readme": contents.readme(detail)},
    "gomod": lambda _s, detail: {"gomod": contents.gomod(detail)},
    "dependencies": _dependencies,
    "usedby": _used_by,
    "license": lambda _s, detail: {"license_texts": contents.licenses(detail)},
    "licenses": licenses_tab,
    "graph": graph_tabs.graph_tab,
    "compare": graph_tabs.compare_tab,
    "insight": insight_tab,
    "doc": doc_tab,
    "packages": packages_tab,
    "files": files_tab,
    "imports": root_package_tab,
    "importedby": root_package_tab,
}


@dataclass(frozen=True)
class UpstreamVersions:
    """The upstream's tagged versions beside Depot's: how many, and those Depot lacks."""

    listed: int
    missing: list[str]


def upstream_versions(detail: VersionDetail) -> UpstreamVersions | None:
    """Asked only when the page asks (the Versions tab loads it after itself): the list
    may take the upstream's time (at most its list timeout). None: it has no list."""
    listed = tagged_list(depot().settings, detail.path)
    if listed is None:
        return None
    held = {v.version for v in detail.module.versions}
    return UpstreamVersions(len(listed), [v for v in reversed(listed) if v not in held])


def _served_on_miss(detail: VersionDetail) -> bool:
    """Whether GOPROXY clients get this unpublished version already: in fetch mode a
    miss's capture is served while its validation goes on (app/goproxy/published.py).
    The page said "Depot does not serve it yet" of a zip Depot had just served."""
    return (depot().settings.on_miss == "fetch" and detail.redistributable is not False
            and VersionState(detail.summary.state) in PROVISIONAL)


@bp.route("/<modpath:target>")
def module_page(target: str) -> BaseResponse:  # a redirect is werkzeug's class
    if "!" in target and (decoded := _unescaped(target)) and decoded != target:
        return redirect(request.script_root + "/" + decoded, 301)
    path, at, version = target.partition("@")
    tab = request.args.get("tab", "")
    if tab and tab not in TABS and tab not in PACKAGE_TABS:
        return error_page(400, "No such tab", f"Pick one of: {', '.join(TABS)}.")
    try:
        paths.check_module_path(path)
    except GoModError as exc:
        return error_page(404, "Not a module path", f"{path!r} cannot be a Go module: {exc}")
    if at and version == "latest":
        return redirect(module_url(path, tab=tab or None), 302)
    with depot().db.session() as session:
        module = owning_module(session, path)
    if module is not None:  # a package of a module Depot holds
        if at and not versions.is_canonical(version):
            return not_in_depot(module, version, f"{version!r} is not a canonical version "
                                                 "(such as v1.2.3).")
        return package_page(module, path[len(module) + 1:], version, tab or "doc", bool(at))
    tab = tab or DEFAULT_TAB
    if tab not in TABS and tab not in ROOT_PACKAGE_TABS:
        return error_page(400, "No such tab", f"Pick one of: {', '.join(TABS)}.")
    if at and not versions.is_canonical(version):
        return not_in_depot(path, version, f"{version!r} is not a canonical version "
                                           "(such as v1.2.3).")
    used_by = used_by_counts()
    with depot().db.session() as session:
        detail = version_detail(session, path, version or None, used_by)
        if detail is None:
            known = module_summary(session, path)
            return not_in_depot(path, version, known_versions=known)
        context: dict = {"detail": detail, "module": detail.module, "tab": tab,
                         "pinned": bool(version)}
        context.update(TAB_CONTEXT.get(tab, _nothing)(session, detail))
        # The header's facts: an htmx tab swap replaces the tabs alone, so it needs none
        # of them, except the drift marks the Versions tab shows too.
        header = not is_fragment_request()
        if header or tab == "versions":
            context["upstream"] = page_upstream(session, detail.path, detail.version,
                                                detail.version_id)
            context["downloads"] = downloads(session, detail.path, datetime.now(UTC).date(),
                                             detailed=tab == "versions")
        if header:
            context["served_on_miss"] = _served_on_miss(detail)
            context["bundle"] = bundle_offer(session, detail)
            stored = stored_facts(detail)
            context["repository"] = stored.repository
            context["badges"] = badges(detail, stored, context["upstream"],
                                       depot().settings.license_exempt(detail.path))
            if "insight" not in context:  # the Insight tab brought it already
                context["insight"] = insight_of(session, detail)
    if tab == "versions" and request.args.get("upstream") == "1":
        # Outside the session: the upstream may take its list timeout, holding no connection.
        context["upstream_versions"] = upstream_versions(detail)
    context["hidden_reason"] = contents.hidden_reason(detail)
    return page_or_fragment("portal/module.html", "_partials/module_tabs.html",
                            retitle=True, **context)
