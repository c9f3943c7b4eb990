"""The module page's Graph and Compare tabs: what they read from the query string.

Bad input (a depth out of range, a version that is not canonical or not in
Depot) stops the page with an error page saying what to change, like the other
tabs' parameters do.
"""

from __future__ import annotations

from flask import abort, request
from markupsafe import Markup
from sqlalchemy.orm import Session

from app.catalog import compare, graph, graph_svg
from app.catalog.modules import VersionDetail
from app.inputs import whole_number
from app.portal.contents import hidden_reason
from app.portal.errors import error_page
from app.portal.urls import module_url
from app.wiring import depot

DEPTHS = tuple(range(1, graph.MAX_DEPTH + 1))


def _depth() -> int:
    raw = request.args.get("depth", "")
    if not raw:
        return graph.DEFAULT_DEPTH
    depth = whole_number(raw, 1, graph.MAX_DEPTH)
    if depth is None:
        abort(error_page(400, "Bad depth", f"depth must be a whole number from 1 to "
                                           f"{graph.MAX_DEPTH}."))
    return depth


def _indirect() -> bool:
    raw = request.args.get("indirect", "")
    if raw not in ("", "0", "1"):
        abort(error_page(400, "Bad indirect", "indirect must be 1 (follow // indirect "
                                              "requirements too) or 0."))
    return raw == "1"


def build_graph(session: Session, detail: VersionDetail, depth: int,
                indirect: bool) -> graph.Graph:
    """The graph of the version shown, with its own go.mod's replace lines."""
    svc = depot()
    replaces = graph.replaces_of(svc.store, svc.settings.go_bin, detail.path, detail.version)
    return graph.graph_of(session, detail.path, detail.version, detail.version_id,
                          depth=depth, replaces=replaces, include_indirect=indirect)


def graph_tab(session: Session, detail: VersionDetail) -> dict:
    depth, indirect = _depth(), _indirect()
    context: dict = {"depth": depth, "depths": DEPTHS, "indirect": indirect,
                     "graph_hidden": hidden_reason(detail)}
    if context["graph_hidden"]:
        return context
    found = build_graph(session, detail, depth, indirect)
    context["graph"] = found
    context["graph_svg"] = Markup(graph_svg.render(found, lambda p, v: module_url(p, v)))
    context["graph_limits"] = graph_svg.limits_text(found)
    context["node_notes"] = graph_svg.node_notes
    return context


def compare_tab(session: Session, detail: VersionDetail) -> dict:
    module = detail.module
    try:
        old, new = compare.pick(module, request.args.get("from") or None,
                                request.args.get("to") or None, detail.version)
    except compare.CompareError as exc:
        abort(error_page(exc.status, "Cannot compare these versions", exc.message))
    # Published versions (and the one shown): others have no dependencies to compare yet.
    choices = [v.version for v in module.versions
               if v.published or v.version in (detail.version, old, new)]
    context: dict = {"compare_from": old, "compare_to": new, "compare_choices": choices,
                     "comparison": None, "compare_hidden": ""}
    if old is None:
        return context
    picked = compare.sides(session, module.path, [old, new])
    hidden = [v for v in (old, new) if not picked[v].redistributable]
    if hidden:
        context["compare_hidden"] = (
            f"Depot does not show the dependencies of {', '.join(hidden)}: its license has "
            "not been found redistributable.")
        return context
    context["comparison"] = compare.compare_versions(
        session, module.path, (old, picked[old].version_id), (new, picked[new].version_id))
    return context
