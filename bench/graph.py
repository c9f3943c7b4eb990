"""Benchmark the dependency graph: the walk, the SVG, and the Graph tab over a big catalogue.

Why: the Graph tab walks the requirements layer by layer from the database and
draws the SVG on every view (nothing is cached but the go.mod's replace lines),
so the question is what that costs on the deepest, widest graphs the limits
allow. This script writes N synthetic module versions (bench/_synthetic.py's
dependency DAG: direct requirements, and the whole build list as ``// indirect``
lines and build-list rows, as tidy go >= 1.17 modules have) straight into a
fresh SQLite database, picks the versions with the biggest build lists, and times
graph_of, render and the whole page (Flask's test client, no network) at each
depth, direct requirements only and with the indirect ones. Markdown on stdout
for docs/bench.md; progress on stderr.

    .venv/bin/python bench/graph.py [--modules 10000] [--roots 5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._harness import commit_line, machine_line, say
from bench._synthetic import plan


def fill(session, versions) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows for every planned version (published, redistributable); path@version -> id."""
    from app.models import BuildListMember, Module, ModuleVersion, Requirement, VersionState

    modules: dict[str, Module] = {}
    rows: dict[str, ModuleVersion] = {}
    for v in versions:
        module = modules.get(v.path)
        if module is None:
            module = modules[v.path] = Module(path=v.path)
            session.add(module)
        row = ModuleVersion(module=module, version=v.version, state=VersionState.published,
                            redistributable=True)
        session.add(row)
        rows[v.key] = row
        for path, version in v.build_list.items():
            session.add(Requirement(version=row, path=path, required_version=version,
                                    indirect=path not in v.requires))
            session.add(BuildListMember(version=row, path=path, member_version=version))
    session.flush()
    return {key: row.id for key, row in rows.items()}


def median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=10_000)
    parser.add_argument("--roots", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from app import create_app
    from app.catalog.graph import graph_of
    from app.catalog.graph_svg import render
    from app.config import Settings
    from app.migrate import upgrade
    from tests.fixtures.sumdb import find_go

    tmp = Path(tempfile.mkdtemp(prefix="depot-bench-graph-"))
    try:
        settings = Settings.from_env({
            "DEPOT_DATA_DIR": str(tmp / "data"), "DATABASE_URL": f"sqlite:///{tmp / 'd.db'}",
            "DEPOT_GO": find_go(), "DEPOT_GOSUMDB": "off", "DEPOT_ON_MISS": "404"})
        app = create_app(settings)
        svc = app.extensions["depot"]
        upgrade(svc.db.engine)
        say(f"planning and writing {args.modules} module versions…")
        versions = plan(args.modules, seed=7)
        with svc.db.session() as session:
            ids = fill(session, versions)
        roots = sorted(versions, key=lambda v: (-len(v.build_list), v.index))[:args.roots]
        print(f"## Dependency graph over {len(versions)} module versions (SQLite)\n")
        print(machine_line())
        print(commit_line())
        print(f"- roots: the {len(roots)} versions with the biggest build lists "
              f"({', '.join(str(len(r.build_list)) for r in roots)} modules); "
              f"median of {args.repeat} runs each, then the median over the roots\n")
        print("| depth | follows | nodes | edges | walk ms | SVG ms | SVG KiB | page ms |")
        print("|---|---|---|---|---|---|---|---|")
        client = app.test_client()
        for indirect in (False, True):
            for depth in (1, 2, 3, 5):
                walks, draws, pages, sizes, nodes, edges = [], [], [], [], [], []
                for root in roots:
                    with svc.db.session() as session:
                        def walk(root=root, depth=depth, indirect=indirect):  # type: ignore[no-untyped-def]
                            return graph_of(session, root.path, root.version, ids[root.key],
                                            depth=depth, include_indirect=indirect)
                        walks.append(median_ms(walk, args.repeat))
                        found = walk()
                    svg = render(found, lambda p, v: f"/{p}@{v}")
                    draws.append(median_ms(lambda found=found: render(
                        found, lambda p, v: f"/{p}@{v}"), args.repeat))
                    sizes.append(len(svg) / 1024)
                    nodes.append(len(found.nodes))
                    edges.append(len(found.edges))
                    url = (f"/{root.path}@{root.version}?tab=graph&depth={depth}"
                           + ("&indirect=1" if indirect else ""))
                    assert client.get(url).status_code == 200
                    pages.append(median_ms(lambda url=url: client.get(url), args.repeat))
                say(f"  depth {depth} indirect={indirect}: done")
                print(f"| {depth} | {'direct + indirect' if indirect else 'direct'} | "
                      f"{statistics.median(nodes):.0f} (max {max(nodes)}) | "
                      f"{statistics.median(edges):.0f} | {statistics.median(walks):.1f} | "
                      f"{statistics.median(draws):.1f} | {statistics.median(sizes):.0f} | "
                      f"{statistics.median(pages):.1f} |")
        svc.db.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
