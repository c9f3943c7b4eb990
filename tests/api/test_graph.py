"""The graph, its SVG and the version diff in the JSON API, on both databases."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from flask import Flask

from tests.api.jsonget import get
from tests.fixtures.graph import APP, BASE, EXTRA, FORK, LIB, OLD, PING, PONG

SVG = "{http://www.w3.org/2000/svg}"


def test_graph_json(graph_app: Flask):
    body = get(graph_app, f"/api/v1/modules/{APP}/graph?version=v1.1.0&depth=3")
    assert (body["path"], body["version"], body["depth"], body["hidden"]) == (
        APP, "v1.1.0", 3, False)
    nodes = {n["id"]: n for n in body["nodes"]}
    assert nodes[0]["path"] == APP and nodes[0]["depth"] == 0
    assert len(nodes) == 9 and len(body["edges"]) == 9
    assert body["cycles"] == [{"from": f"{PONG}@v1.0.0", "to": f"{PING}@v1.0.0"}]
    assert body["replaced"] == [{"path": LIB, "version": "v1.1.0",
                                 "replacement": f"{FORK} v1.0.0"}]
    raised = [n for n in body["nodes"] if n["raised"]]
    assert [(n["path"], n["version"], n["selected"]) for n in raised] == [
        (BASE, "v1.0.0", "v1.1.0"), (PING, "v1.0.0", "v1.1.0")]
    assert body["truncated"] == {"not_drawn": 0, "max_nodes": 150, "below_depth": 0}
    latest = get(graph_app, f"/api/v1/modules/{APP}/graph")
    assert latest["version"] == "v1.2.0" and latest["depth"] == 2


def test_graph_svg(graph_app: Flask):
    resp = graph_app.test_client().get(f"/api/v1/modules/{APP}/graph.svg?version=v1.1.0&depth=3")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    root = ET.fromstring(resp.get_data())
    assert root.tag == SVG + "svg"
    assert f"/{EXTRA}@v1.0.0" in {a.get("href") for a in root.iter(SVG + "a")}
    assert any(p.get("class") == "dg-cycle" for p in root.iter(SVG + "path"))


def test_bad_graph_input(graph_app: Flask):
    for query in ("depth=0", "depth=9", "depth=x", "indirect=perhaps", "version=1.0"):
        assert "error" in get(graph_app, f"/api/v1/modules/{APP}/graph?{query}", status=400)
    assert "error" in get(graph_app, f"/api/v1/modules/{APP}/graph.svg?depth=7", status=400)
    assert "error" in get(graph_app, f"/api/v1/modules/{APP}/graph?version=v7.0.0", status=404)
    assert "error" in get(graph_app, "/api/v1/modules/depot.test/nothing/graph", status=404)


def test_diff(graph_app: Flask):
    body = get(graph_app, f"/api/v1/modules/{APP}/diff?from=v1.0.0&to=v1.1.0")
    assert (body["from"], body["to"], body["hidden"]) == ("v1.0.0", "v1.1.0", False)
    assert [c["path"] for c in body["added"]] == [EXTRA, PING, PONG]
    assert body["added"][2]["to_indirect"] is True
    assert body["removed"] == [{"path": OLD, "from": "v1.0.0", "to": None,
                                "from_indirect": False, "to_indirect": False}]
    assert [c["path"] for c in body["upgraded"]] == [BASE, LIB]
    assert body["downgraded"] == [] and body["unchanged"] == 1
    assert [c["path"] for c in body["build_list"]["removed"]] == [OLD]
    default = get(graph_app, f"/api/v1/modules/{APP}/diff")
    assert (default["from"], default["to"]) == ("v1.1.0", "v1.2.0")
    assert [c["path"] for c in default["downgraded"]] == [LIB]


def test_bad_diff_input(graph_app: Flask):
    assert "before v1.0.0" in get(graph_app, f"/api/v1/modules/{APP}/diff?to=v1.0.0",
                                  status=400)["error"]
    assert "canonical" in get(graph_app, f"/api/v1/modules/{APP}/diff?from=latest",
                              status=400)["error"]
    assert "not in Depot" in get(graph_app, f"/api/v1/modules/{APP}/diff?from=v0.9.0",
                                 status=404)["error"]


def test_a_version_depot_may_not_redistribute_shows_no_graph_and_no_diff(graph_app: Flask):
    from sqlalchemy import select

    from app.models import Module, ModuleVersion

    svc = graph_app.extensions["depot"]

    def set_redistributable(value: bool) -> None:
        with svc.db.session() as session:
            row = session.scalar(select(ModuleVersion).join(Module).where(
                Module.path == APP, ModuleVersion.version == "v1.0.0"))
            row.redistributable = value

    set_redistributable(False)
    try:
        body = get(graph_app, f"/api/v1/modules/{APP}/graph?version=v1.0.0")
        assert body["hidden"] is True and body["nodes"] == [] and body["edges"] == []
        assert "error" in get(graph_app, f"/api/v1/modules/{APP}/graph.svg?version=v1.0.0",
                              status=404)
        diff = get(graph_app, f"/api/v1/modules/{APP}/diff?from=v1.0.0&to=v1.1.0")
        assert diff["hidden"] is True and diff["added"] == [] and diff["build_list"] is None
        html = graph_app.test_client().get(f"/{APP}@v1.0.0?tab=graph",
                                           headers={"Accept": "text/html"})
        assert html.status_code == 200 and b"<svg " not in html.data
        assert b"not one Depot may redistribute" in html.data
        compare = graph_app.test_client().get(f"/{APP}@v1.1.0?tab=compare",
                                              headers={"Accept": "text/html"})
        assert b"Depot does not show the dependencies of v1.0.0" in compare.data
    finally:
        set_redistributable(True)
