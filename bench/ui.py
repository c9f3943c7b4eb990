"""Benchmark the portal: home, search and module pages over 10,000 modules.

Why: GoCenter's UI load test ran at 100 requests/s; Depot's portal is rendered on
the server from the database, so the question is what one small machine serves
when the catalogue is large. This script fills a fresh SQLite database with N
synthetic modules (bench/_synthetic.py's dependency DAG: versions, direct and
indirect requirements, licenses, download counts) and real zips for the modules
the load visits (so README and license tabs read real files), starts Depot under
gunicorn as `make run` would, and runs wrk over a fixed mix of URLs: home,
search (with and without a license filter, with pagination) and module pages
(every tab, latest and exact versions). It prints requests/s, p50 and p99 as
Markdown for docs/bench.md; progress goes to stderr.

    .venv/bin/python bench/ui.py [--modules 10000] [--duration 30] [--connections 16]
                                 [--keep]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
import zipfile
import zlib
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench._harness import (
    BIN,
    BenchError,
    Processes,
    commit_line,
    free_port,
    guarded_main,
    machine_line,
    say,
    wait_http,
)
from bench._synthetic import BASE_TIME, plan
from bench.goproxy import ensure_packages, find_wrk, parse_wrk, tool_version

REPO = Path(__file__).resolve().parent.parent
TARGET_RPS, TARGET_P99_MS = 300.0, 100.0
VISITED = 300  # modules whose pages the load visits (they get real zips)
WORDS = ("http", "json", "log", "cache", "grpc", "yaml", "uuid", "cli", "sql", "redis",
         "auth", "queue", "retry", "trace", "metrics", "config", "crypto", "graph", "mock",
         "color", "time", "text", "image", "proto", "router", "pool", "sync", "errors")
LICENSES = ("MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "MPL-2.0")
TABS = ("", "?tab=gomod", "?tab=dependencies", "?tab=usedby", "?tab=versions", "?tab=license")
README = """# {name}

Package {name} does one small thing for {word} handling in Go programs, well.

## Install

```sh
go get {path}@{version}
```

## Usage

Call `New()` and read the [docs](docs/usage.md). ![badge](badge.svg)

| option | meaning |
|---|---|
| `Fast` | skip the {word} checks |
"""


def readable_paths(paths: list[str], seed: int) -> dict[str, str]:
    """bench.test/m00042 -> bench.test/org7/http-json: searchable words, deterministic."""
    rng = random.Random(seed)
    out: dict[str, str] = {}
    used: set[str] = set()
    for path in paths:
        while True:
            name = "-".join(rng.sample(WORDS, rng.choice((1, 2, 2, 3))))
            new = f"bench.test/org{rng.randrange(400)}/{name}"
            if new not in used:
                break
        used.add(new)
        out[path] = new
    return out


def module_zip(path: str, version: str, word: str, license_id: str) -> bytes:
    """A small valid module zip: go.mod, README.md, LICENSE and one package."""
    prefix = f"{path}@{version}/"
    name = path.rsplit("/", 1)[-1].replace("-", "")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(prefix + "go.mod", f"module {path}\n\ngo 1.21\n")
        zf.writestr(prefix + "README.md",
                    README.format(name=name, word=word, path=path, version=version))
        zf.writestr(prefix + "LICENSE", f"{license_id} license text of {path}\n")
        zf.writestr(prefix + f"{name}.go", f"// Package {name} is synthetic.\npackage {name}\n")
    return buf.getvalue()


def fill_database(data: Path, n: int, seed: int) -> tuple[list[str], list[str]]:
    """Migrate a fresh database and insert N published module versions with their edges.

    Returns (module paths of the visited modules, search terms)."""
    os.environ["DEPOT_DATA_DIR"] = str(data)
    from sqlalchemy import insert

    from app.config import Settings
    from app.migrate import upgrade
    from app.models import (
        Artifact,
        ArtifactKind,
        LicenseFile,
        Module,
        ModuleVersion,
        Requirement,
        VersionState,
    )
    from app.resources import Services

    settings = Settings.from_env({"DEPOT_DATA_DIR": str(data), "DEPOT_GOSUMDB": "off",
                                  "DEPOT_UPSTREAM": "off"})
    svc = Services.from_settings(settings)
    upgrade(svc.db.engine)
    versions = plan(n, seed)
    names = readable_paths(sorted({v.path for v in versions}), seed)
    rng = random.Random(seed)
    module_ids: dict[str, int] = {}
    visited_paths = set(rng.sample(sorted(names.values()), min(VISITED, len(names))))
    with svc.db.engine.begin() as conn:
        for new in names.values():
            module_ids[new] = conn.execute(
                insert(Module).values(path=new, downloads=int(rng.paretovariate(1.2) * 10))
            ).inserted_primary_key[0]
        version_rows, req_rows, lic_rows, art_rows = [], [], [], []
        for i, v in enumerate(versions):
            path = names[v.path]
            when = BASE_TIME + timedelta(hours=i)
            version_rows.append(dict(
                module_id=module_ids[path], version=v.version, state=VersionState.published,
                reason="", time=when, published_at=when, is_pseudo=False, go_version="1.21",
                readme_name="README.md", redistributable=True, validation_note=""))
        ids = [conn.execute(insert(ModuleVersion).values(**row)).inserted_primary_key[0]
               for row in version_rows]
        for vid, v in zip(ids, versions, strict=True):
            path = names[v.path]
            for dep, dep_v in v.requires.items():
                req_rows.append(dict(version_id=vid, path=names[dep], required_version=dep_v,
                                     indirect=False))
            for dep, dep_v in v.build_list.items():
                if dep not in v.requires:
                    req_rows.append(dict(version_id=vid, path=names[dep],
                                         required_version=dep_v, indirect=True))
            license_id = LICENSES[zlib.crc32(path.encode()) % len(LICENSES)]
            lic_rows.append(dict(version_id=vid, name="LICENSE", spdx_id=license_id))
            if path in visited_paths:
                word = next((w for w in WORDS if w in path), "go")
                data_zip = module_zip(path, v.version, word, license_id)
                svc.store.put_bytes(path, v.version, "zip", data_zip)
                svc.store.put_bytes(path, v.version, "mod",
                                    f"module {path}\n\ngo 1.21\n".encode())
                art_rows.append(dict(version_id=vid, kind=ArtifactKind.zip,
                                     size=len(data_zip), sha256="0" * 64, h1=""))
        for table, rows in ((Requirement, req_rows), (LicenseFile, lic_rows),
                            (Artifact, art_rows)):
            if rows:
                conn.execute(insert(table), rows)
    svc.db.dispose()
    say(f"database: {len(names):,} modules, {len(versions):,} versions, "
        f"{len(req_rows):,} requirement edges; real zips for {len(visited_paths)} modules")
    terms = ["http", "json log", "cache", "bench.test/org1", "uuid", "grpc", "retry trace",
             "config", "org2", "sync"]
    return sorted(visited_paths), terms


def url_mix(visited: list[str], terms: list[str], seed: int) -> tuple[list[str], Counter[str]]:
    """The URLs the load cycles through, and how many of each kind (the mix)."""
    rng = random.Random(seed)
    urls: list[tuple[str, str]] = []
    for _ in range(40):
        urls.append(("home", "/"))
    for term in terms:
        q = term.replace(" ", "+")
        urls += [("search", f"/search?q={q}"), ("search", f"/search?q={q}&page=2"),
                 ("search", f"/search?q={q}&license=MIT")]
    urls += [("search", "/search?q=" + t[:3]) for t in terms]  # as-you-type prefixes
    for path in rng.sample(visited, min(120, len(visited))):
        urls.append(("module", "/" + path + rng.choice(TABS)))
    rng.shuffle(urls)
    return [u for _, u in urls], Counter(kind for kind, _ in urls)


def wrk_script(urls: list[str], folder: Path) -> Path:
    script = folder / "mix.lua"
    listed = ",\n".join(f'  "{u}"' for u in urls)
    script.write_text(
        "-- Cycle through the URL mix; each wrk thread starts at its own offset.\n"
        f"local paths = {{\n{listed}\n}}\n"
        "local i = 0\n"
        "function setup(thread) thread:set('offset', math.random(#paths)) end\n"
        "function init(args) i = offset or 0 end\n"
        "function request()\n  i = i + 1\n"
        "  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
    )
    return script


def check_pages(base: str, urls: list[str]) -> None:
    """Every URL of the mix answers 200 before the load (a 404 page is fast, not served)."""
    for url in urls:
        try:
            with urllib.request.urlopen(base + url, timeout=30) as resp:
                if resp.status != 200:
                    raise BenchError(f"{url}: {resp.status}")
        except OSError as exc:
            raise BenchError(f"{url}: {exc}") from exc


def run(args: argparse.Namespace, tmp: Path, procs: Processes) -> None:
    missing = ensure_packages()
    wrk = find_wrk()
    if wrk is None:
        raise BenchError(f"wrk is needed: {missing.get('wrk', 'not installed')}")
    data = tmp / "data"
    started = time.monotonic()
    visited, terms = fill_database(data, args.modules, args.seed)
    say(f"filled in {time.monotonic() - started:.0f} s")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPOT_")}
    env.update(DEPOT_DATA_DIR=str(data), DEPOT_HOST="127.0.0.1", DEPOT_PORT=str(port),
               DEPOT_GOSUMDB="off", DEPOT_UPSTREAM="off", DEPOT_ON_MISS="404",
               DEPOT_WORKERS=str(args.workers), DEPOT_THREADS=str(args.threads),
               DEPOT_ACCESS_LOG=str(tmp / "access.log"))
    log = tmp / "gunicorn.log"
    proc = procs.start("depot", [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py",
                                 "app:create_app()"], log, cwd=REPO, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/", proc, log)
    urls, mix = url_mix(visited, terms, args.seed)
    check_pages(base, urls)  # also warms each process's caches once
    script = wrk_script(urls, tmp)
    say(f"load: wrk -t2 -c{args.connections} -d{args.duration}s over {len(urls)} URLs")
    cmd = [wrk, "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
           "-s", str(script), base]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 120)
    if out.returncode != 0:
        raise BenchError(f"wrk failed:\n{out.stdout}{out.stderr}")
    load = parse_wrk(out.stdout)
    p50 = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s)\s*$", out.stdout, re.M)
    p50_ms = float(p50.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[p50.group(2)] if p50 else 0

    print("## Portal under load (issue 5)\n")
    print(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"- command: `{' '.join(['.venv/bin/python', 'bench/ui.py', *sys.argv[1:]])}`")
    print(machine_line())
    print(commit_line())
    wrk_version = tool_version([wrk, "-v"], r"wrk (\S+)")
    print(f"- versions: wrk {wrk_version}; gunicorn gthread, "
          f"{args.workers} workers x {args.threads} threads, SQLite (WAL), database search "
          "backend, access log to a file; wrk on the same 2 cores")
    print(f"- catalogue: {args.modules:,} synthetic module versions (bench/_synthetic.py, "
          f"seed {args.seed}) with their requirement edges and licenses")
    print(f"- mix of {len(urls)} URLs cycled by wrk: " + ", ".join(
        f"{kind} {count}" for kind, count in sorted(mix.items())) +
        " (module pages spread over every tab)")
    print("\n| requests/s | p50 ms | p99 ms | errors | target | |")
    print("|---:|---:|---:|---:|---|---|")
    ok = load.rps >= TARGET_RPS and load.p99_ms < TARGET_P99_MS and not load.errors
    print(f"| {load.rps:,.0f} | {p50_ms:.1f} | {load.p99_ms:.1f} | {load.errors} | "
          f">= {TARGET_RPS:.0f}/s, p99 < {TARGET_P99_MS:.0f} ms | "
          f"{'meets' if ok else '**below**'} |")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=10_000,
                        help="synthetic module versions in the database")
    parser.add_argument("--duration", type=int, default=30, help="seconds of load")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per process")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return guarded_main(run, parse_args(argv), Processes(), "depot-bench-ui-")


if __name__ == "__main__":
    sys.exit(main())
