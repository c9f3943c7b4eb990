"""The dependency graph drawn as SVG on the server: no graphviz, no script in the page.

A layered drawing, left to right: the root in the first column and one column
per requirement hop, so long module paths read on one line. Within a column,
nodes sit near the middle of the nodes that require them (the barycentre
heuristic), which keeps most edges short without a layout solver. Edges going
back to an earlier column (cycles, or a requirement met again) loop under the
drawing so they never hide a box.

Colours are presentation attributes, not ``style``: the portal's CSP forbids
inline styles, and the standalone ``graph.svg`` must look right with no CSS.
Classes are there too so the stylesheet can adapt them (dark mode). The output
depends only on the graph, so the same graph always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from app.catalog.graph import Graph, Node

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
CHAR_W = 7.3  # width of one character of FONT at 12px, rounded up
LINE_H = 15
PAD_X = 10
PAD_Y = 8
COL_GAP = 56
ROW_GAP = 14
MARGIN = 16
LEGEND_H = 140
CENTRE_UP_TO = 640  # px: columns of a drawing up to this tall are centred vertically
ARC = 36  # how far an edge within one column bulges out to its right

COLOURS = {
    "node_fill": "#f4f6fa", "node_stroke": "#5b6b82",
    "root_fill": "#e6f0fb", "root_stroke": "#0a5fb4",
    "missing_fill": "#ffffff", "missing_stroke": "#8b95a5",
    "replaced_fill": "#fff3df", "replaced_stroke": "#8a4b00",
    "edge": "#5b6b82", "cycle": "#a51d2d", "text": "#1b2230", "muted": "#4f5b6e",
    "link": "#0a5fb4",
}

Linker = Callable[[str, str], str]


@dataclass
class Box:
    node: Node
    lines: list[str]
    x: int = 0
    y: int = 0
    w: int = 0
    h: int = 0


def node_notes(node: Node) -> list[str]:
    """What the box says below path and version, in words (also the text list's)."""
    notes = []
    if not node.in_depot:
        notes.append("not in Depot")
    elif node.unpublished:
        notes.append("not published yet")
    if node.replaced_by:
        notes.append(f"replaced by {node.replaced_by}")
    if node.raised:
        notes.append(f"MVS selects {node.selected}")
    if node.cycle:
        notes.append("cycle: not followed again")
    if node.cut:
        notes.append(f"{node.cut} more below depth limit")
    return notes


def _lines(node: Node) -> list[str]:
    return [node.path, node.version, *node_notes(node)]  # one note a line: narrow boxes


def _kind(node: Node) -> str:
    if node.id == 0:
        return "root"
    if node.replaced_by:
        return "replaced"
    if not node.in_depot:
        return "missing"
    return "node"


def layout(graph: Graph) -> tuple[list[Box], int, int]:
    """Boxes placed in columns by depth; the width and height they need."""
    columns: dict[int, list[Node]] = {}
    for node in graph.nodes:
        columns.setdefault(node.depth, []).append(node)
    parents: dict[int, list[int]] = {}
    for edge in graph.edges:
        if graph.nodes[edge.source].depth < graph.nodes[edge.target].depth:
            parents.setdefault(edge.target, []).append(edge.source)
    rank: dict[int, float] = {}
    boxes: dict[int, Box] = {}
    x = MARGIN
    col_heights: dict[int, int] = {}
    for depth in sorted(columns):
        def centre(n: Node) -> float:
            ps = [rank[p] for p in parents.get(n.id, []) if p in rank]
            return sum(ps) / len(ps) if ps else 0.0

        ordered = sorted(columns[depth], key=lambda n: (centre(n), n.path, n.version))
        width = 0
        y = 0
        for i, node in enumerate(ordered):
            rank[node.id] = float(i)
            lines = _lines(node)
            box = Box(node, lines)
            box.w = int(PAD_X * 2 + CHAR_W * max(len(line) for line in lines)) + 1
            box.h = PAD_Y * 2 + LINE_H * len(lines)
            box.x, box.y = x, y
            y += box.h + ROW_GAP
            width = max(width, box.w)
            boxes[node.id] = box
        col_heights[depth] = y - ROW_GAP
        x += width + COL_GAP
    tallest = max(col_heights.values())
    # Small drawings read best centred; in a tall one the root must stay at the top,
    # where the reader starts, not half a screen-scroll down.
    centred = tallest <= CENTRE_UP_TO
    for box in boxes.values():
        box.y += MARGIN + ((tallest - col_heights[box.node.depth]) // 2 if centred else 0)
    width = x - COL_GAP + MARGIN
    height = MARGIN * 2 + tallest
    return [boxes[n.id] for n in graph.nodes], width, height


def _edge_path(src: Box, dst: Box, column_right: dict[int, int]) -> str:
    """SVG path data of one edge.

    Forward (to the next column): right side to left side, at mid-height. Back to an
    earlier column: left side to right side, low on both boxes and dipping, so it
    never lies on the forward edge between the same two boxes. Within one column:
    an arc out to the right of the column, between the boxes' right sides.
    """
    if dst.node.depth > src.node.depth:
        x1, y1 = src.x + src.w, src.y + src.h // 2
        x2, y2 = dst.x - 2, dst.y + dst.h // 2
        mid = (x1 + x2) // 2
        return f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
    if dst.node.depth < src.node.depth:
        x1, y1 = src.x, src.y + src.h * 3 // 4
        x2, y2 = dst.x + dst.w + 2, dst.y + dst.h * 3 // 4
        return f"M{x1},{y1} C{x1 - 30},{y1 + 36} {x2 + 30},{y2 + 36} {x2},{y2}"
    right = column_right[src.node.depth] + ARC
    x1, y1 = src.x + src.w, src.y + src.h * 3 // 4
    x2, y2 = dst.x + dst.w + 2, dst.y + dst.h // 4
    return f"M{x1},{y1} C{right},{y1} {right},{y2} {x2},{y2}"


def limits_text(graph: Graph) -> str:
    """What the drawing leaves out, in one sentence ("" when nothing)."""
    parts = []
    if graph.not_drawn:
        parts.append(f"{graph.not_drawn} more not drawn (at most {graph.max_nodes} modules)")
    if graph.cut_by_depth:
        parts.append(f"{graph.cut_by_depth} modules have requirements deeper than "
                     f"depth {graph.depth}")
    return "; ".join(parts)


LEGEND_ROOT = "the version shown"
LEGEND_NODE = "a required version Depot holds"
LEGEND_MISSING = "not in Depot (not followed)"
LEGEND_REPLACED = "replaced by the root's go.mod (its consumers still get it)"
LEGEND_CYCLE = "closes a cycle (leads back to a module already on the path)"
LEGEND_MVS = ('"MVS selects vX": the root\'s build list uses another version than this '
              "requirement names.")
LEGEND_LINES = (LEGEND_ROOT, LEGEND_NODE, LEGEND_MISSING, LEGEND_REPLACED,
                " " * 26 + LEGEND_CYCLE, LEGEND_MVS)


def _legend(y: int, limits: str) -> list[str]:
    c = COLOURS
    out = [f'<g class="dg-legend" transform="translate({MARGIN},{y})" font-family="{FONT}" '
           f'font-size="12" fill="{c["text"]}">',
           '<text x="0" y="12" font-weight="bold">Legend</text>']
    items = [
        ("root", LEGEND_ROOT, c["root_fill"], c["root_stroke"], None),
        ("node", LEGEND_NODE, c["node_fill"], c["node_stroke"], None),
        ("missing", LEGEND_MISSING, c["missing_fill"], c["missing_stroke"], "4 3"),
        ("replaced", LEGEND_REPLACED, c["replaced_fill"], c["replaced_stroke"], None),
    ]
    for i, (kind, text, fill, stroke, dash) in enumerate(items):
        ty = 22 + i * 18
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<rect class="dg-{kind}" x="0" y="{ty}" width="28" height="13" rx="3" '
                   f'fill="{fill}" stroke="{stroke}"{dash_attr}/>')
        out.append(f'<text x="38" y="{ty + 11}">{escape(text)}</text>')
    ty = 22 + len(items) * 18 + 6
    out.append(f'<path class="dg-edge" d="M0,{ty} L26,{ty}" stroke="{c["edge"]}" '
               'fill="none" stroke-width="1.2" marker-end="url(#dg-arrow)"/>')
    out.append(f'<text x="38" y="{ty + 4}">requires</text>')
    out.append(f'<path class="dg-cycle" d="M160,{ty} L186,{ty}" stroke="{c["cycle"]}" '
               'fill="none" stroke-width="1.6" stroke-dasharray="6 4" '
               'marker-end="url(#dg-arrow-cycle)"/>')
    out.append(f'<text x="198" y="{ty + 4}">{escape(LEGEND_CYCLE)}</text>')
    out.append(f'<text x="0" y="{ty + 22}" fill="{c["muted"]}">{escape(LEGEND_MVS)}</text>')
    if limits:
        out.append(f'<text class="dg-limits" x="0" y="{ty + 40}" fill="{c["cycle"]}">'
                   f"{escape(limits)}.</text>")
    out.append("</g>")
    return out


def _marker(name: str, colour: str) -> str:
    """An arrowhead of one size whatever the edge's width."""
    return (f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
            'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')


def render(graph: Graph, link: Linker, title: str | None = None) -> str:
    """The whole ``<svg>`` element; ``link(path, version)`` gives each box's URL."""
    c = COLOURS
    boxes, width, height = layout(graph)
    by_id = {b.node.id: b for b in boxes}
    column_right: dict[int, int] = {}
    for b in boxes:
        column_right[b.node.depth] = max(column_right.get(b.node.depth, 0), b.x + b.w)
    if any(graph.nodes[e.target].depth == graph.nodes[e.source].depth for e in graph.edges):
        width += ARC
    graph_h = height + 24  # room for the lowest back edge's dip
    limits = limits_text(graph)
    legend_w = int(CHAR_W * max(len(line) for line in (*LEGEND_LINES, limits + "."))) + 40 \
        + MARGIN * 2
    legend_h = LEGEND_H + (LINE_H + 3 if limits else 0)
    total_w, total_h = max(width, legend_w), graph_h + legend_h
    title = title or f"Dependency graph of {graph.root.label}"
    summary = (f"{len(graph.nodes)} modules, {len(graph.edges)} requirements, "
               f"{len(graph.cycles)} closing a cycle, {len(graph.replaced)} replaced; "
               f"depth {graph.depth}")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dep-graph" width="{total_w}" '
        f'height="{total_h}" viewBox="0 0 {total_w} {total_h}" '
        'aria-labelledby="dg-title dg-desc">',
        f'<title id="dg-title">{escape(title)}</title>',
        f'<desc id="dg-desc">{escape(summary)}</desc>',
        "<defs>",
        _marker("dg-arrow", c["edge"]),
        _marker("dg-arrow-cycle", c["cycle"]),
        "</defs>",
        *_legend(8, limits),
        # The legend on top: in a tall drawing it is seen before scrolling, not after.
        f'<g class="dg-drawing" transform="translate(0,{legend_h})">',
        '<g class="dg-edges" fill="none">',
    ]
    for edge in graph.edges:
        src, dst = by_id[edge.source], by_id[edge.target]
        d = _edge_path(src, dst, column_right)
        kind = "dg-cycle" if edge.cycle else "dg-edge"
        colour = c["cycle"] if edge.cycle else c["edge"]
        marker = "dg-arrow-cycle" if edge.cycle else "dg-arrow"
        dash = ' stroke-dasharray="6 4"' if edge.cycle else (
            ' stroke-dasharray="2 3"' if edge.indirect else "")
        words = "closes a cycle: " if edge.cycle else ""
        out.append(
            f'<path class="{kind}" d="{d}" stroke="{colour}" '
            f'stroke-width="{1.6 if edge.cycle else 1.2}"{dash} marker-end="url(#{marker})" '
            f"data-source={quoteattr(src.node.label)} data-target={quoteattr(dst.node.label)}>"
            f"<title>{escape(words + src.node.label + ' requires ' + dst.node.label)}"
            f"{' (indirect)' if edge.indirect else ''}</title></path>"
        )
    out.append("</g>")
    out.append(f'<g class="dg-nodes" font-family="{FONT}" font-size="12">')
    for box in boxes:
        node = box.node
        kind = _kind(node)
        fill, stroke = c[f"{kind}_fill"], c[f"{kind}_stroke"]
        dash = ' stroke-dasharray="4 3"' if kind == "missing" else ""
        sw = 2 if kind in ("root", "replaced") else 1
        notes = node_notes(node)
        tip = node.label + (" — " + "; ".join(notes) if notes else "")
        out.append(f'<a href={quoteattr(link(node.path, node.version))} '
                   f'class="dg-link dg-{kind}{" dg-cycle-node" if node.cycle else ""}">')
        out.append(f"<title>{escape(tip)}</title>")
        out.append(f'<rect x="{box.x}" y="{box.y}" width="{box.w}" height="{box.h}" rx="5" '
                   f'fill="{fill}" stroke="{stroke}" stroke-width="{sw}"{dash}/>')
        for i, line in enumerate(box.lines):
            ty = box.y + PAD_Y + LINE_H * i + 11
            colour = c["link"] if i == 0 else c["muted"] if i > 1 else c["text"]
            weight = ' font-weight="bold"' if i == 0 else ""
            out.append(f'<text x="{box.x + PAD_X}" y="{ty}" fill="{colour}"{weight}>'
                       f"{escape(line)}</text>")
        out.append("</a>")
    out.append("</g>")
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
