"""The graph walk and its SVG on plain dictionaries; then on the real pipeline's rows."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from flask import Flask

from app.catalog.graph import Req, graph_of, replacement_for, replaces_of, walk
from app.catalog.graph_svg import limits_text, render
from app.gomod.modfile import Replace
from tests.fixtures.graph import APP, BASE, EXTRA, FORK, LEAF, LIB, OLD, PING, PONG

SVG = "{http://www.w3.org/2000/svg}"
H = "x.test"


def fake(db: dict[tuple[str, str], list[Req]]):  # type: ignore[no-untyped-def]
    asked: list[list[tuple[str, str]]] = []

    def lookup(keys):  # type: ignore[no-untyped-def]
        asked.append(list(keys))
        return {k: db.get(k) for k in keys}

    lookup.asked = asked  # type: ignore[attr-defined]
    return lookup


def labels(graph) -> list[str]:  # type: ignore[no-untyped-def]
    return [n.label for n in graph.nodes]


def edges(graph) -> set[tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    return {(graph.nodes[e.source].label, graph.nodes[e.target].label, e.cycle)
            for e in graph.edges}


CHAIN = {
    (f"{H}/a", "v1"): [Req(f"{H}/b", "v1")],
    (f"{H}/b", "v1"): [Req(f"{H}/c", "v1")],
    (f"{H}/c", "v1"): [Req(f"{H}/d", "v1")],
    (f"{H}/d", "v1"): [],
}


def test_chain_is_cut_at_the_depth_and_says_how_much_is_below():
    lookup = fake(CHAIN)
    g = walk(f"{H}/a", "v1", lookup, depth=2)
    assert labels(g) == [f"{H}/a@v1", f"{H}/b@v1", f"{H}/c@v1"]
    assert [n.depth for n in g.nodes] == [0, 1, 2]
    assert g.nodes[2].cut == 1 and not g.nodes[2].expanded
    assert g.cut_by_depth == 1 and "deeper than depth 2" in limits_text(g)
    assert len(lookup.asked) == 3  # one look-up per layer, not per node
    full = walk(f"{H}/a", "v1", fake(CHAIN), depth=5)
    assert len(full.nodes) == 4 and full.cut_by_depth == 0 and limits_text(full) == ""


def test_diamond_shares_one_node_and_mvs_raise_is_marked():
    db = {
        (f"{H}/top", "v1"): [Req(f"{H}/left", "v1"), Req(f"{H}/right", "v1")],
        (f"{H}/left", "v1"): [Req(f"{H}/bottom", "v1.0.0")],
        (f"{H}/right", "v1"): [Req(f"{H}/bottom", "v1.0.0")],
        (f"{H}/bottom", "v1.0.0"): [],
    }
    g = walk(f"{H}/top", "v1", fake(db), build_list={f"{H}/bottom": "v1.1.0",
                                                      f"{H}/left": "v1"})
    assert labels(g).count(f"{H}/bottom@v1.0.0") == 1
    assert len(g.edges) == 4 and not g.cycles
    bottom = g.nodes[labels(g).index(f"{H}/bottom@v1.0.0")]
    assert bottom.raised and bottom.selected == "v1.1.0"
    left = g.nodes[labels(g).index(f"{H}/left@v1")]
    assert not left.raised and left.selected == "v1"
    assert g.build_list_known


def test_cycle_to_the_same_version_and_across_versions():
    same = {(f"{H}/p", "v1"): [Req(f"{H}/q", "v1")], (f"{H}/q", "v1"): [Req(f"{H}/p", "v1")]}
    g = walk(f"{H}/p", "v1", fake(same), depth=5)
    assert labels(g) == [f"{H}/p@v1", f"{H}/q@v1"]
    assert edges(g) == {(f"{H}/p@v1", f"{H}/q@v1", False), (f"{H}/q@v1", f"{H}/p@v1", True)}
    across = {(f"{H}/p", "v2"): [Req(f"{H}/q", "v1")], (f"{H}/q", "v1"): [Req(f"{H}/p", "v1")],
              (f"{H}/p", "v1"): [Req(f"{H}/q", "v0")]}
    g = walk(f"{H}/p", "v2", fake(across), depth=5)
    assert labels(g) == [f"{H}/p@v2", f"{H}/q@v1", f"{H}/p@v1"]
    back = g.nodes[2]
    assert back.cycle and not back.expanded  # not walked round again
    assert [(g.nodes[e.source].label, g.nodes[e.target].label) for e in g.cycles] == [
        (f"{H}/q@v1", f"{H}/p@v1")]


def test_a_cycle_between_branches_is_marked_too():
    # r is reached from p first, so q is not on r's path from the root; q → r → q is a
    # cycle all the same, and one of its edges says so.
    db = {(f"{H}/p", "v1"): [Req(f"{H}/q", "v1"), Req(f"{H}/r", "v1")],
          (f"{H}/q", "v1"): [Req(f"{H}/r", "v1")], (f"{H}/r", "v1"): [Req(f"{H}/q", "v1")]}
    g = walk(f"{H}/p", "v1", fake(db))
    assert [(g.nodes[e.source].label, g.nodes[e.target].label) for e in g.cycles] == [
        (f"{H}/r@v1", f"{H}/q@v1")]


def test_a_cross_edge_to_a_sibling_is_no_cycle():
    db = {(f"{H}/r", "v1"): [Req(f"{H}/s", "v1"), Req(f"{H}/t", "v1")],
          (f"{H}/s", "v1"): [Req(f"{H}/t", "v1")], (f"{H}/t", "v1"): []}
    g = walk(f"{H}/r", "v1", fake(db))
    assert not g.cycles and len(g.edges) == 3


def test_not_in_depot_is_a_leaf_and_the_root_is_always_followed():
    db = {(f"{H}/r", "v1"): [Req(f"{H}/gone", "v9")]}
    g = walk(f"{H}/r", "v1", fake(db))
    gone = g.nodes[1]
    assert not gone.in_depot and not gone.expanded
    # A root whose row has no requirements yet (not published) is drawn alone.
    alone = walk(f"{H}/new", "v1", fake({}))
    assert labels(alone) == [f"{H}/new@v1"] and alone.edges == []


def test_node_cap_counts_what_it_leaves_out():
    db = {(f"{H}/hub", "v1"): [Req(f"{H}/m{i:03d}", "v1") for i in range(200)]}
    g = walk(f"{H}/hub", "v1", fake(db), max_nodes=150)
    assert len(g.nodes) == 150 and g.not_drawn == 51
    assert "51 more not drawn" in limits_text(g)


def test_indirect_requirements_are_followed_only_when_asked():
    db = {(f"{H}/r", "v1"): [Req(f"{H}/d", "v1"), Req(f"{H}/i", "v1", indirect=True)]}
    assert labels(walk(f"{H}/r", "v1", fake(db))) == [f"{H}/r@v1", f"{H}/d@v1"]
    g = walk(f"{H}/r", "v1", fake(db), include_indirect=True)
    assert [e.indirect for e in g.edges] == [False, True]


def test_depth_outside_the_limits_is_refused():
    with pytest.raises(ValueError):
        walk(f"{H}/r", "v1", fake({}), depth=6)


def test_replacement_lines():
    lines = [Replace(f"{H}/a", None, f"{H}/fork", "v1.0.0"),
             Replace(f"{H}/a", "v2.0.0", "../a2", None)]
    assert replacement_for(f"{H}/a", "v1.0.0", lines) == f"{H}/fork v1.0.0"
    assert replacement_for(f"{H}/a", "v2.0.0", lines) == "../a2"  # the versioned line wins
    assert replacement_for(f"{H}/b", "v1.0.0", lines) is None
    db = {(f"{H}/r", "v1"): [Req(f"{H}/a", "v1.0.0")]}
    g = walk(f"{H}/r", "v1", fake(db), replaces=lines)
    assert g.nodes[1].replaced_by == f"{H}/fork v1.0.0" and g.replaced == [g.nodes[1]]


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def test_svg_is_well_formed_deterministic_linked_and_escaped():
    db = {(f"{H}/p", "v1"): [Req(f"{H}/q<&\"'>", "v1")],
          (f"{H}/q<&\"'>", "v1"): [Req(f"{H}/p", "v1")]}
    g = walk(f"{H}/p", "v1", fake(db), depth=3)
    svg = render(g, lambda p, v: f"/{p}@{v}?a=1&b=2")
    assert svg == render(walk(f"{H}/p", "v1", fake(db), depth=3),
                         lambda p, v: f"/{p}@{v}?a=1&b=2")
    root = _parse(svg)
    assert root.tag == SVG + "svg"
    assert int(root.get("width")) > 0 and int(root.get("height")) > 0
    assert root.find(SVG + "title").text == f"Dependency graph of {H}/p@v1"
    links = root.iter(SVG + "a")
    hrefs = [a.get("href") for a in links]
    assert hrefs == [f"/{H}/p@v1?a=1&b=2", f"/{H}/q<&\"'>@v1?a=1&b=2"]
    texts = [t.text for t in root.iter(SVG + "text")]
    assert f"{H}/q<&\"'>" in texts
    cycle = [p for p in root.iter(SVG + "path") if p.get("class") == "dg-cycle"
             and p.get("data-source")]
    assert [(p.get("data-source"), p.get("data-target")) for p in cycle] == [
        (f"{H}/q<&\"'>@v1", f"{H}/p@v1")]
    assert cycle[0].get("marker-end") == "url(#dg-arrow-cycle)"
    assert "style=" not in svg and "<script" not in svg and "<style" not in svg


def test_svg_grows_with_the_graph():
    long = f"{H}/{'long-name/' * 6}"
    chain = {(long + k[0], k[1]): [Req(long + r.path, r.version) for r in reqs]
             for k, reqs in CHAIN.items()}
    small = _parse(render(walk(long + f"{H}/a", "v1", fake(chain), depth=1), lambda p, v: "/"))
    big = _parse(render(walk(long + f"{H}/a", "v1", fake(chain), depth=3), lambda p, v: "/"))
    assert int(big.get("width")) > int(small.get("width"))
    db = {(f"{H}/hub", "v1"): [Req(f"{H}/m{i:03d}", "v1") for i in range(40)]}
    tall = _parse(render(walk(f"{H}/hub", "v1", fake(db)), lambda p, v: "/"))
    assert int(tall.get("height")) > 40 * 30


# -- on the real pipeline's rows, both databases ----------------------------------------------


def _graph(app: Flask, path: str, version: str, depth: int = 2, indirect: bool = False):  # type: ignore[no-untyped-def]
    from app.catalog.modules import version_detail

    svc = app.extensions["depot"]
    with svc.db.session() as session:
        detail = version_detail(session, path, version)
        assert detail is not None
        replaces = replaces_of(svc.store, svc.settings.go_bin, path, version)
        return graph_of(session, path, version, detail.version_id, depth=depth,
                        replaces=replaces, include_indirect=indirect)


def test_graph_of_ingested_versions(graph_app: Flask):
    g = _graph(graph_app, APP, "v1.1.0", depth=3)
    by_label = {n.label: n for n in g.nodes}
    assert set(by_label) == {
        f"{APP}@v1.1.0", f"{LIB}@v1.1.0", f"{EXTRA}@v1.0.0", f"{PING}@v1.1.0",
        f"{BASE}@v1.0.0", f"{BASE}@v1.1.0", f"{PONG}@v1.0.0", f"{LEAF}@v1.0.0",
        f"{PING}@v1.0.0"}
    assert all(n.in_depot for n in g.nodes)
    # The replace line of app v1.1.0's own go.mod, read from the stored .mod.
    assert by_label[f"{LIB}@v1.1.0"].replaced_by == f"{FORK} v1.0.0"
    assert [n.label for n in g.replaced] == [f"{LIB}@v1.1.0"]
    # The diamond: lib requires base v1.0.0, extra v1.1.0; the build list selects v1.1.0.
    assert g.build_list_known
    assert by_label[f"{BASE}@v1.0.0"].raised and by_label[f"{BASE}@v1.0.0"].selected == "v1.1.0"
    assert not by_label[f"{BASE}@v1.1.0"].raised
    # The cycle across versions: ping v1.1.0 → pong → ping v1.0.0.
    assert [(g.nodes[e.source].label, g.nodes[e.target].label) for e in g.cycles] == [
        (f"{PONG}@v1.0.0", f"{PING}@v1.0.0")]
    assert by_label[f"{LEAF}@v1.0.0"].depth == 3
    shallow = _graph(graph_app, APP, "v1.1.0", depth=1)
    assert len(shallow.nodes) == 4 and shallow.cut_by_depth == 3
    with_indirect = _graph(graph_app, APP, "v1.1.0", depth=1, indirect=True)
    assert {n.path for n in with_indirect.nodes} >= {BASE, LEAF, PONG}
    older = _graph(graph_app, APP, "v1.0.0")
    assert {n.label for n in older.nodes} == {f"{APP}@v1.0.0", f"{LIB}@v1.0.0",
                                              f"{OLD}@v1.0.0", f"{BASE}@v1.0.0"}
    assert older.replaced == []


def test_a_version_depot_does_not_publish_is_a_leaf(graph_app: Flask):
    from sqlalchemy import select

    from app.models import Module, ModuleVersion, VersionState

    svc = graph_app.extensions["depot"]
    with svc.db.session() as session:
        row = session.scalar(select(ModuleVersion).join(Module).where(
            Module.path == OLD, ModuleVersion.version == "v1.0.0"))
        row.state = VersionState.failed
    try:
        g = _graph(graph_app, APP, "v1.0.0")
        old = next(n for n in g.nodes if n.path == OLD)
        assert not old.in_depot and not old.expanded
    finally:
        with svc.db.session() as session:
            row = session.scalar(select(ModuleVersion).join(Module).where(
                Module.path == OLD, ModuleVersion.version == "v1.0.0"))
            row.state = VersionState.published


@pytest.mark.parametrize("state", ["staged", "validating"])
def test_a_version_on_its_way_is_followed_and_said_not_published_yet(graph_app: Flask,
                                                                     state: str):
    """A trial's cobra graph said "not in Depot (not followed)" of pflag and yaml.v3,
    which the GOPROXY had served minutes before: stored and being validated, they are
    Depot's, followed, and said to be not published yet."""
    from sqlalchemy import select

    from app.catalog.graph_svg import node_notes
    from app.models import Module, ModuleVersion, VersionState

    svc = graph_app.extensions["depot"]

    def set_state(value: VersionState) -> None:
        with svc.db.session() as session:
            session.scalar(select(ModuleVersion).join(Module).where(
                Module.path == LIB, ModuleVersion.version == "v1.1.0")).state = value

    set_state(VersionState(state))
    try:
        g = _graph(graph_app, APP, "v1.1.0", depth=3)
        lib = next(n for n in g.nodes if n.label == f"{LIB}@v1.1.0")
        assert lib.in_depot and lib.expanded and lib.unpublished
        assert "not published yet" in node_notes(lib)
        assert {n.path for n in g.nodes} >= {BASE, EXTRA}  # what lib requires, followed
        assert not any(n.unpublished for n in g.nodes if n.label != lib.label)
    finally:
        set_state(VersionState.published)
