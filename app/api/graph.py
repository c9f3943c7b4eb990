"""The dependency graph and the version-to-version diff as API sub-resources.

``/graph`` and ``/graph.svg`` are two views of the same walk (app/catalog/graph.py),
``/diff`` is app/catalog/compare.py; the module page's Graph and Compare tabs
show the same facts.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, request
from sqlalchemy.orm import Session

from app.api.common import int_arg, requested_detail
from app.api.shapes import ChangeJSON, ChangesJSON, DiffJSON, GraphJSON
from app.catalog import compare, graph, graph_svg
from app.catalog.modules import VersionDetail
from app.errors import BadRequest, NotFound
from app.services.modules import known_module
from app.wiring import depot

# The standalone picture holds no script and needs no style; say so to the browser.
SVG_CSP = "default-src 'none'; style-src 'none'; img-src 'none'; frame-ancestors 'self'"


def _indirect() -> bool:
    raw = request.args.get("indirect", "")
    if raw not in ("", "0", "1", "true", "false"):
        raise BadRequest("'indirect' must be true or false (or 1 or 0)")
    return raw in ("1", "true")


def _walk(session: Session, path: str) -> tuple[VersionDetail, graph.Graph | None]:
    detail = requested_detail(session, path)
    depth = int_arg("depth", graph.DEFAULT_DEPTH, 1, graph.MAX_DEPTH)
    indirect = _indirect()
    if not detail.shows_contents:
        return detail, None
    svc = depot()
    replaces = graph.replaces_of(svc.store, svc.settings.go_bin, path, detail.version)
    return detail, graph.graph_of(session, path, detail.version, detail.version_id,
                                  depth=depth, replaces=replaces, include_indirect=indirect)


def graph_json(session: Session, path: str) -> GraphJSON:
    detail, found = _walk(session, path)
    body: GraphJSON = {"path": path, "version": detail.version,
                       "depth": int_arg("depth", graph.DEFAULT_DEPTH, 1, graph.MAX_DEPTH),
                       "indirect": _indirect(), "hidden": found is None,
                       "nodes": [], "edges": [], "cycles": [], "replaced": [],
                       "truncated": {"not_drawn": 0, "max_nodes": graph.MAX_NODES,
                                     "below_depth": 0},
                       "build_list_known": False}
    if found is None:
        return body
    labels = [n.label for n in found.nodes]
    body["nodes"] = [
        {"id": n.id, "path": n.path, "version": n.version, "depth": n.depth,
         "in_depot": n.in_depot, "published": n.in_depot and not n.unpublished,
         "expanded": n.expanded, "replaced_by": n.replaced_by,
         "selected": n.selected, "raised": n.raised, "cycle": n.cycle,
         "requirements_below_depth": n.cut}
        for n in found.nodes
    ]
    body["edges"] = [{"source": e.source, "target": e.target, "indirect": e.indirect,
                      "cycle": e.cycle} for e in found.edges]
    body["cycles"] = [{"from": labels[e.source], "to": labels[e.target]} for e in found.cycles]
    # Each of found.replaced has a replacement; the condition says so to the type checker.
    body["replaced"] = [{"path": n.path, "version": n.version, "replacement": n.replaced_by}
                        for n in found.replaced if n.replaced_by]
    body["truncated"] = {"not_drawn": found.not_drawn, "max_nodes": found.max_nodes,
                         "below_depth": found.cut_by_depth}
    body["build_list_known"] = found.build_list_known
    return body


def _page_link(module: str, version: str) -> str:
    return request.script_root + "/" + quote(f"{module}@{version}", safe="/@+~!")


def graph_svg_response(session: Session, path: str) -> Response:
    detail, found = _walk(session, path)
    if found is None:
        raise NotFound(f"{path}@{detail.version} is not redistributable: Depot does not "
                       "show its dependencies")
    resp = Response(graph_svg.render(found, _page_link), mimetype="image/svg+xml")
    resp.headers["Content-Security-Policy"] = SVG_CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _change(ch: compare.Change) -> ChangeJSON:
    return {"path": ch.path, "from": ch.old, "to": ch.new,
            "from_indirect": ch.old_indirect, "to_indirect": ch.new_indirect}


def _diff(d: compare.Diff) -> ChangesJSON:
    return {"added": [_change(c) for c in d.added], "removed": [_change(c) for c in d.removed],
            "upgraded": [_change(c) for c in d.upgraded],
            "downgraded": [_change(c) for c in d.downgraded], "unchanged": len(d.unchanged)}


def diff_json(session: Session, path: str) -> DiffJSON:
    module = known_module(session, path)
    default_to = module.latest or module.versions[0].version
    try:
        old, new = compare.pick(module, request.args.get("from") or None,
                                request.args.get("to") or None, default_to)
    except compare.CompareError as exc:
        raise (BadRequest if exc.status == 400 else NotFound)(exc.message) from exc
    if old is None:
        raise BadRequest(f"no published version of {path} before {new}: name one with ?from=")
    picked = compare.sides(session, path, [old, new])
    hidden = not (picked[old].redistributable and picked[new].redistributable)
    # The go.mod requirements' changes at the top; the build list's, alike, below.
    requirements, build_list = compare.Diff(), None
    if not hidden:
        found = compare.compare_versions(session, path, (old, picked[old].version_id),
                                         (new, picked[new].version_id))
        requirements, build_list = found.requirements, found.build_list
    return {"path": path, "from": old, "to": new, "hidden": hidden, **_diff(requirements),
            "build_list": _diff(build_list) if build_list is not None else None}
