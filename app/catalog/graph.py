"""The dependency graph of one version, as far as Depot can see it.

Breadth-first from the version over its go.mod requirements, following each
required version Depot holds (a version Depot does not hold is a leaf, marked).
Depth and size are limited so a page stays readable and cheap: a module with a
deep or wide graph says how much was left out rather than drawing all of it.

Three things a reader of the picture needs besides the edges:

- cycles: Go allows modules to require each other (usually across versions);
  an edge to a module already on the path from the root closes a cycle, and
  the walk does not go round it again;
- replacements: the root's own go.mod ``replace`` lines change what its own
  builds use (never what its consumers get, so the original is still drawn);
- minimal version selection: a requirement may be raised by another one, so
  each node says which version the root's build list actually selected.

The walk itself is pure (``walk`` takes a batch look-up function), so it is
tested on plain dictionaries; ``graph_of`` binds it to the database.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.content.cache import LRU
from app.gomod.errors import GoModError
from app.gomod.modfile import MAX_GOMOD_SIZE, Replace, parse_gomod
from app.models import BuildListMember, Module, ModuleVersion, Requirement, VersionState
from app.store.base import ArtifactMissing, ArtifactStore

log = logging.getLogger(__name__)

DEFAULT_DEPTH = 2
MAX_DEPTH = 5
MAX_NODES = 150


@dataclass(frozen=True)
class Req:
    """One go.mod requirement line, as the walk needs it."""

    path: str
    version: str
    indirect: bool = False


# (path, version) -> its requirements, or None when Depot does not hold that version.
Lookup = Callable[[Sequence[tuple[str, str]]], Mapping[tuple[str, str], list[Req] | None]]


@dataclass
class Node:
    id: int  # order of discovery: 0 is the root
    path: str
    version: str
    depth: int
    in_depot: bool
    parent: int | None  # the node through which the walk first reached this one
    replaced_by: str | None = None  # "new/path v1.2.3" or "./dir", from the root's go.mod
    selected: str | None = None  # the root's build list's version of this path, if known
    expanded: bool = False  # its requirements were followed
    cut: int = 0  # requirements not followed because of the depth limit
    cycle: bool = False  # reached by an edge that closes a cycle (not followed further)
    # In Depot and followed, but not published yet (stored by a crawl, being validated):
    # the GOPROXY may serve it already (a published version's member, a miss in fetch mode).
    unpublished: bool = False

    @property
    def raised(self) -> bool:
        """MVS selected a higher version than this requirement asks for."""
        return self.selected is not None and self.selected != self.version

    @property
    def label(self) -> str:
        return f"{self.path}@{self.version}"


@dataclass(frozen=True)
class Edge:
    source: int
    target: int
    indirect: bool
    cycle: bool  # the target's module is already on the path from the root to the source


@dataclass
class Graph:
    root: Node
    nodes: list[Node]
    edges: list[Edge]
    depth: int  # the limit asked for
    max_nodes: int
    not_drawn: int = 0  # distinct path@versions left out because of the node cap
    include_indirect: bool = False
    build_list_known: bool = False
    children: dict[int, list[Edge]] = field(default_factory=dict)

    @property
    def cycles(self) -> list[Edge]:
        return [e for e in self.edges if e.cycle]

    @property
    def replaced(self) -> list[Node]:
        return [n for n in self.nodes if n.replaced_by]

    @property
    def cut_by_depth(self) -> int:
        return sum(1 for n in self.nodes if n.cut)


def replace_line_for(path: str, version: str, replaces: Iterable[Replace]) -> Replace | None:
    """The root go.mod's ``replace`` line that applies to path@version, or None.

    A versioned ``replace`` line wins over one for every version of the path, as in go.
    """
    best: Replace | None = None
    for r in replaces:
        if r.old_path != path or (r.old_version is not None and r.old_version != version):
            continue
        if best is None or (r.old_version is not None and best.old_version is None):
            best = r
    return best


def replacement_for(path: str, version: str, replaces: Iterable[Replace]) -> str | None:
    """What the root's go.mod puts in place of path@version, or None."""
    best = replace_line_for(path, version, replaces)
    if best is None:
        return None
    return best.new_path + (f" {best.new_version}" if best.new_version else "")


def _ancestor_paths(nodes: list[Node], node: Node) -> set[str]:
    seen = {node.path}
    parent = node.parent
    while parent is not None:
        seen.add(nodes[parent].path)
        parent = nodes[parent].parent
    return seen


def walk(
    root_path: str,
    root_version: str,
    lookup: Lookup,
    *,
    depth: int = DEFAULT_DEPTH,
    max_nodes: int = MAX_NODES,
    replaces: Sequence[Replace] = (),
    build_list: Mapping[str, str] | None = None,
    include_indirect: bool = False,
) -> Graph:
    """The graph of root_path@root_version, ``depth`` requirement hops deep at most.

    ``lookup`` is asked once per layer for every node of that layer. The root is
    always followed (its requirements are known even before it is published).
    """
    if not 0 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be from 0 to {MAX_DEPTH}")
    chosen = dict(build_list or {})

    def make(path: str, version: str, level: int, parent: int | None) -> Node:
        return Node(
            id=len(nodes), path=path, version=version, depth=level, in_depot=False,
            parent=parent, replaced_by=replacement_for(path, version, replaces) if level else None,
            selected=chosen.get(path) if level else None,
        )

    nodes: list[Node] = []
    root = make(root_path, root_version, 0, None)
    nodes.append(root)
    edges: list[Edge] = []
    index = {(root_path, root_version): 0}
    not_drawn: set[tuple[str, str]] = set()
    layer = [root]
    while layer:
        found = lookup([(n.path, n.version) for n in layer])
        unpublished: Collection[tuple[str, str]] = getattr(lookup, "unpublished", ())
        following: list[Node] = []
        for node in layer:
            reqs = found.get((node.path, node.version))
            node.in_depot = reqs is not None
            node.unpublished = node.id != 0 and (node.path, node.version) in unpublished
            if node.id == 0 and reqs is None:
                reqs = []
            if reqs is None or node.cycle:
                continue
            wanted = sorted((r for r in reqs if include_indirect or not r.indirect),
                            key=lambda r: (r.path, r.version))
            if node.depth >= depth:
                node.cut = len(wanted)
                continue
            node.expanded = True
            on_path = _ancestor_paths(nodes, node)
            for req in wanted:
                key = (req.path, req.version)
                closes = req.path in on_path
                target = index.get(key)
                if target is None:
                    if len(nodes) >= max_nodes:
                        not_drawn.add(key)
                        continue
                    child = make(req.path, req.version, node.depth + 1, node.id)
                    child.cycle = closes
                    nodes.append(child)
                    index[key] = child.id
                    following.append(child)
                    target = child.id
                edges.append(Edge(node.id, target, req.indirect, closes))
        layer = following
    edges = _mark_back_edges(len(nodes), edges)
    graph = Graph(root=root, nodes=nodes, edges=edges, depth=depth, max_nodes=max_nodes,
                  not_drawn=len(not_drawn), include_indirect=include_indirect,
                  build_list_known=bool(chosen))
    for edge in edges:
        graph.children.setdefault(edge.source, []).append(edge)
    return graph


def _mark_back_edges(count: int, edges: list[Edge]) -> list[Edge]:
    """Also mark the edges a depth-first walk from the root finds going back onto its
    stack: a cycle between nodes met on different branches (q → r → q where the walk
    reached r from elsewhere) then has a marked edge too, and every drawn cycle does."""
    out = {(e.source, e.target): e for e in edges}
    children: dict[int, list[int]] = {}
    for e in edges:
        children.setdefault(e.source, []).append(e.target)
    state = [0] * count  # 0 unseen, 1 on the stack, 2 done
    stack: list[tuple[int, int]] = [(0, 0)]
    state[0] = 1
    while stack:
        node, i = stack[-1]
        kids = children.get(node, [])
        if i == len(kids):
            state[node] = 2
            stack.pop()
            continue
        stack[-1] = (node, i + 1)
        kid = kids[i]
        if state[kid] == 1:
            edge = out[(node, kid)]
            out[(node, kid)] = Edge(edge.source, edge.target, edge.indirect, True)
        elif state[kid] == 0:
            state[kid] = 1
            stack.append((kid, 0))
    return [out[(e.source, e.target)] for e in edges]


# -- the database side --------------------------------------------------------------------


# Versions stored with their requirements recorded, on their way to publication: the
# graph follows them (a trial's cobra graph said "not in Depot (not followed)" of pflag
# and yaml.v3, which the GOPROXY had served minutes before).
ON_ITS_WAY = (VersionState.captured, VersionState.staged, VersionState.validating,
              VersionState.blocked)


class DbLookup:
    """Requirements of published versions, of versions on their way (``unpublished``
    says which) and of the root, whatever its state."""

    def __init__(self, session: Session, root_version_id: int) -> None:
        self.session = session
        self.root_version_id = root_version_id
        self.unpublished: set[tuple[str, str]] = set()

    def __call__(self, keys: Sequence[tuple[str, str]]
                 ) -> dict[tuple[str, str], list[Req] | None]:
        wanted = set(keys)
        rows = self.session.execute(
            select(ModuleVersion.id, Module.path, ModuleVersion.version, ModuleVersion.state)
            .join(Module, Module.id == ModuleVersion.module_id)
            .where(Module.path.in_({p for p, _ in wanted}))
        ).all()
        ids = {
            row.id: (row.path, row.version) for row in rows
            if (row.path, row.version) in wanted
            and (row.state == VersionState.published or row.id == self.root_version_id
                 or row.state in ON_ITS_WAY)
        }
        self.unpublished.update((row.path, row.version) for row in rows
                                if row.id in ids and row.state in ON_ITS_WAY)
        out: dict[tuple[str, str], list[Req] | None] = {key: None for key in wanted}
        for key in ids.values():
            out[key] = []
        if ids:
            for vid, path, version, indirect in self.session.execute(
                select(Requirement.version_id, Requirement.path, Requirement.required_version,
                       Requirement.indirect).where(Requirement.version_id.in_(list(ids)))
            ):
                reqs = out[ids[vid]]
                assert reqs is not None
                reqs.append(Req(path, version, indirect))
        return out


def db_lookup(session: Session, root_version_id: int) -> Lookup:
    """The graph's look-up of what Depot holds (:class:`DbLookup`)."""
    return DbLookup(session, root_version_id)


def build_list_of(session: Session, version_id: int) -> dict[str, str]:
    """path -> the version the toolchain selected, for a consumer of this version."""
    return dict(session.execute(
        select(BuildListMember.path, BuildListMember.member_version)
        .where(BuildListMember.version_id == version_id, BuildListMember.selected.is_(True))
    ).all())


# Parsed replace lines by (path, version, sha256 of the .mod): a tagged .mod never changes,
# and `go mod edit -json` costs a process start.
_REPLACES: LRU[tuple[Replace, ...]] = LRU(512)


def replaces_of(store: ArtifactStore, go_bin: str, path: str, version: str) -> tuple[Replace, ...]:
    """The ``replace`` lines of the version's stored go.mod (none when it is not stored)."""
    try:
        with store.open(path, version, "mod") as stream:
            data = stream.read(MAX_GOMOD_SIZE + 1)
    except ArtifactMissing:
        return ()
    key = (path, version, hashlib.sha256(data).hexdigest())

    def parse() -> tuple[Replace, ...]:
        try:
            return tuple(parse_gomod(data, go_bin).replaces)
        except (GoModError, OSError) as exc:
            log.warning("cannot read replace lines of %s@%s: %s", path, version, exc)
            return ()

    return _REPLACES.get_or_make(key, parse)


def graph_of(
    session: Session, path: str, version: str, version_id: int, *,
    depth: int = DEFAULT_DEPTH, replaces: Sequence[Replace] = (),
    include_indirect: bool = False, max_nodes: int = MAX_NODES,
) -> Graph:
    """The graph of a version Depot knows (``version_id`` is its row)."""
    return walk(path, version, db_lookup(session, version_id), depth=depth,
                max_nodes=max_nodes, replaces=replaces,
                build_list=build_list_of(session, version_id),
                include_indirect=include_indirect)
