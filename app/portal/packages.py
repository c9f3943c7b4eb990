"""Package pages (``/<module path>/<package subpath>[@version]``) and the module page's
Doc and Packages tabs, from the documentation app/pkgdoc keeps per version.

A documentation not made yet is asked for (a ``docs`` job) and the page says it is
being prepared; the page polls for it with htmx, and a reload shows it without.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template, request
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app.catalog.modules import VersionDetail, version_detail
from app.models import Module, Requirement, VersionDocs
from app.pkgdoc import kept
from app.pkgdoc.html import Linker, is_standard
from app.portal import doc_cache
from app.portal.contents import hidden_reason
from app.portal.context import used_by_counts
from app.portal.errors import error_page, not_in_depot
from app.portal.htmx import page_or_fragment
from app.redact import public
from app.wiring import depot

log = logging.getLogger("depot.portal")

# The package page's tabs: the ?tab= value and its label.
PACKAGE_TAB_LABELS = (("doc", "Documentation"), ("imports", "Imports"),
                      ("importedby", "Imported By"))
PACKAGE_TABS = tuple(key for key, _label in PACKAGE_TAB_LABELS)
# The module page's own panels of its root package (not in its tab row: its Doc tab
# links to them).
ROOT_PACKAGE_TABS = ("imports", "importedby")
IMPORTED_BY_PER_PAGE = 25


@dataclass(frozen=True)
class Docs:
    """A version's documentation as a page can show it: ``record`` when made (ready or
    not, its note says why), else ``preparing`` (a job was asked for) or ``note``."""

    record: VersionDocs | None
    hidden: str = ""  # why the version's contents are not shown at all
    note: str = ""
    trouble: str = ""  # while preparing: why the job's last attempt failed

    @property
    def ready(self) -> bool:
        return self.record is not None and self.record.ready

    @property
    def preparing(self) -> bool:
        return self.record is None and not self.hidden and not self.note


def docs_of(session: Session, detail: VersionDetail) -> Docs:
    """The version's documentation, asked for when it is not made yet."""
    if not detail.shows_contents:
        return Docs(None, hidden=hidden_reason(detail))
    record = kept.status(session, detail.version_id)
    if record is not None:
        return Docs(record, note=record.note)
    dispatcher = depot().dispatcher
    trouble = getattr(dispatcher, "trouble", None)  # RQ's dispatcher knows; inline runs
    try:
        failed = trouble("docs", detail.path, detail.version) if trouble else None
        dispatcher.enqueue("docs", detail.path, detail.version)
    except Exception as exc:  # a queue away must not break the page: say so instead
        log.warning("docs job for %s@%s not queued: %s", detail.path, detail.version, exc)
        return Docs(None, note="Documentation is not made yet, and the job queue is away; "
                               "try again later.")
    return Docs(None, trouble=public(failed) if failed else "")


def linker_of(session: Session, detail: VersionDetail, pinned: bool) -> Linker:
    """Links of this version's documentation (app/pkgdoc/html.py): the modules it
    requires that Depot holds, at the versions it requires."""
    held = {path: version for path, version in session.execute(
        select(Requirement.path, Requirement.required_version)
        .join(Module, Module.path == Requirement.path)
        .where(Requirement.version_id == detail.version_id))}
    return Linker(detail.path, detail.version, held, request.script_root, pinned)


def owning_module(session: Session, path: str) -> str | None:
    """The longest module path Depot holds that ``path`` is a package of; None when
    ``path`` is a module itself (its module page) or in no module Depot holds."""
    if session.scalar(select(Module.id).where(Module.path == path)) is not None:
        return None
    elems = path.split("/")
    prefixes = ["/".join(elems[:n]) for n in range(1, len(elems))]
    if not prefixes:
        return None
    return session.scalar(select(Module.path).where(Module.path.in_(prefixes))
                          .order_by(Module.path.desc()).limit(1))


def _pinned() -> bool:
    """Whether the page's URL names its version (links then keep to it)."""
    return "@" in str((request.view_args or {}).get("target", ""))


def doc_tab(session: Session, detail: VersionDetail) -> dict[str, Any]:
    """The module page's Doc tab: its root package's documentation."""
    docs = docs_of(session, detail)
    context: dict[str, Any] = {"docs": docs, "subpath": ""}
    if docs.ready:
        context["doc"] = kept.package(session, detail.version_id, "")
        context["package_count"] = kept.package_count(session, detail.version_id)
        if context["doc"] is not None:
            linker = linker_of(session, detail, _pinned())
            context["doc_html"] = rendered_doc(session, detail, docs, "", linker)
            context.update(imports_context(session, detail, detail.path, 1))
    return context


def rendered_doc(session: Session, detail: VersionDetail, docs: Docs, subpath: str,
                 linker: Linker) -> Markup:
    """One package's documentation as HTML, from the per-process cache when the same
    rendering was made (app/portal/doc_cache.py says what its key holds)."""
    assert docs.record is not None
    key = (detail.version_id, docs.record.renderer, docs.record.made_at, subpath,
           linker.pinned, linker.root, tuple(sorted(linker.held.items())))

    def render() -> Markup:
        body = kept.package_body(session, detail.version_id, subpath)
        return Markup(render_template("_partials/pkgdoc_body.html", doc=body, detail=detail,
                                      pinned=linker.pinned, linker=linker))

    if current_app.debug:  # an edited template shows at once
        return render()
    return doc_cache.rendered(key, render)


def packages_tab(session: Session, detail: VersionDetail) -> dict[str, Any]:
    """The module page's Packages tab: every package, a tree by folder."""
    docs = docs_of(session, detail)
    return {"docs": docs, "packages": kept.packages(session, detail.version_id)
            if docs.ready else []}


def imports_context(session: Session, detail: VersionDetail, import_path: str, page: int
                    ) -> dict[str, Any]:
    """What the Imports and Imported By panels show of one package."""
    imports = kept.imports(session, detail.version_id, import_path)
    total, importers = kept.imported_by(session, import_path, detail.path, page,
                                        IMPORTED_BY_PER_PAGE)
    return {"imports": imports,
            "standard_imports": [i for i in imports if is_standard(i)],
            "module_imports": [i for i in imports if not is_standard(i)],
            "imported_by": {"total": total, "entries": importers, "page": page,
                            "pages": max(1, -(-total // IMPORTED_BY_PER_PAGE))}}


def root_package_tab(session: Session, detail: VersionDetail) -> dict[str, Any]:
    """The module page's Imports and Imported By panels, of its root package (linked
    from its Doc tab; the package page of a root package is the module page)."""
    docs = docs_of(session, detail)
    context: dict[str, Any] = {"docs": docs, "import_path": detail.path,
                               "tabs_target": "#module-tabs"}
    if docs.ready:
        context.update(imports_context(session, detail, detail.path, _page_number() or 1))
        context["linker"] = linker_of(session, detail, _pinned())
    return context


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 100_000 else 0


def package_page(module: str, subpath: str, version: str, tab: str, pinned: bool
                 ) -> Response:
    """``/<module>/<subpath>[@version]``: the package's documentation, imports or
    importers."""
    if tab not in PACKAGE_TABS:
        return error_page(400, "No such tab", f"Pick one of: {', '.join(PACKAGE_TABS)}.")
    page = _page_number()
    if not page:
        return error_page(400, "Bad page number", "page must be a whole number from 1.")
    import_path = f"{module}/{subpath}"
    with depot().db.session() as session:
        detail = version_detail(session, module, version or None, used_by_counts())
        if detail is None:
            return not_in_depot(module, version)
        docs = docs_of(session, detail)
        context: dict[str, Any] = {
            "detail": detail, "module": detail.module, "docs": docs, "tab": tab,
            "pinned": pinned, "subpath": subpath, "import_path": import_path,
            "package_tabs": PACKAGE_TAB_LABELS, "tabs_target": "#package-tabs"}
        if docs.ready:
            row = kept.package(session, detail.version_id, subpath)
            if row is None:
                return error_page(
                    404, "No such package",
                    f"{module}@{detail.version} has no package {import_path}: its "
                    "Packages tab lists those it has.")
            context["package"] = row
            context.update(imports_context(session, detail, import_path, page))
            linker = linker_of(session, detail, pinned)
            context["linker"] = linker
            if tab == "doc":
                context["doc_html"] = rendered_doc(session, detail, docs, subpath, linker)
    return page_or_fragment("portal/package.html", "_partials/package_tabs.html",
                            retitle=True, **context)
