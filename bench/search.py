"""Benchmark search: indexing time and query latency at 10,000 and 100,000 modules.

Why: the database search ranks in Python over every published path, Elasticsearch
keeps an inverted index; the question is where each stands as the catalogue grows.
For each size this script makes N synthetic module documents (paths from real-looking
words, a synopsis and a README of about 1 KiB, used-by counts with a long tail), then:

- Elasticsearch: starts scripts/search-node (512 MB heap) and times a full rebuild
  through the bulk API (what `flask --app app reindex` does), then queries;
- SQLite FTS5: the same rebuild into a fresh migrated database, then queries;
- database: writes the modules as published rows of a fresh SQLite database (the
  insert time is reported, but that is not an index build) and queries, with the result
  page cache turned off so every query is computed.

Queries cycle through a fixed mix (names, two words, prefixes, exact paths, typos,
a license filter) from ``--concurrency`` threads for ``--duration`` seconds; p50/p99
and queries/s are printed as Markdown for docs/bench.md; progress goes to stderr.

    .venv/bin/python bench/search.py [--sizes 10000,100000] [--backends elasticsearch,fts5,database]
                                     [--duration 20]
                                     [--concurrency 2] [--keep]
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench._harness import (
    BenchError,
    Processes,
    commit_line,
    free_port,
    guarded_main,
    machine_line,
    say,
    wait_http,
)

REPO = Path(__file__).resolve().parent.parent
TARGET_INDEX_S, TARGET_P99_MS = 30.0, 50.0
WORDS = ("http", "json", "log", "cache", "grpc", "yaml", "uuid", "cli", "sql", "redis",
         "auth", "queue", "retry", "trace", "metrics", "config", "crypto", "graph", "mock",
         "color", "time", "text", "image", "proto", "router", "pool", "sync", "errors",
         "kafka", "toml", "jwt", "csv", "xml", "zip", "s3", "cron", "semver", "table")
HOSTS = ("github.com", "github.com", "github.com", "gitlab.com", "bitbucket.org", "go.dev.test")
LICENSES = ("MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "MPL-2.0")
README = ("# {name}\n\n{synopsis}\n\n## Install\n\n    go get {path}\n\n## Usage\n\n"
          "Import the package and call New. It handles {a} and {b} for services that need "
          "predictable behaviour under load, with options for timeouts, retries and "
          "structured errors.\n\n## Options\n\n| option | meaning |\n|---|---|\n"
          "| Fast | skip {a} checks |\n| Strict | fail on unknown {b} fields |\n\n"
          "## License\n\nSee the LICENSE file.\n")


def synthetic_documents(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    docs, taken = [], set()
    while len(docs) < n:
        a, b = rng.sample(WORDS, 2)
        name = rng.choice((a, f"{a}-{b}", f"go-{a}", f"{a}{b}", f"{a}-utils"))
        path = f"{rng.choice(HOSTS)}/user{rng.randrange(n // 3 + 1)}/{name}"
        if rng.random() < 0.08:
            path += f"/v{rng.randint(2, 5)}"
        if path in taken:
            continue
        taken.add(path)
        synopsis = f"Package {name.replace('-', '')} provides {a} support with {b} helpers."
        used = max(0, int(rng.paretovariate(1.1)) - 1)
        docs.append({
            "path": path, "last": name, "version": "v1.2.3", "versions": ["v1.0.0", "v1.2.3"],
            "synopsis": synopsis,
            "readme": README.format(name=name, synopsis=synopsis, path=path, a=a, b=b),
            "licenses": [rng.choice(LICENSES)], "used_by": used,
            "downloads": used * rng.randint(5, 60) + rng.randint(0, 50),
            "published_at": "2026-06-01T00:00:00+00:00", "go_version": "1.21",
            "deprecated": False,
        })
    return docs


def query_mix(docs: list[dict], seed: int = 2) -> list[tuple[str, str]]:
    """(query, license) pairs: what people type, in a fixed order."""
    rng = random.Random(seed)
    mix: list[tuple[str, str]] = []
    for word in WORDS:
        mix += [(word, ""), (word[:3], ""), (f"{word} {rng.choice(WORDS)}", "")]
    for doc in rng.sample(docs, 20):
        mix += [(doc["path"], ""), (doc["path"].rsplit("/", 1)[0][:14], "")]
    mix += [("yalm", ""), ("uudi", ""), ("retyr", ""), ("http", "MIT"), ("json", "Apache-2.0")]
    rng.shuffle(mix)
    return mix


@dataclass
class Load:
    queries: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def qps(self) -> float:
        return self.queries / self.seconds


def run_load(search, mix: list[tuple[str, str]], duration: float, threads: int) -> Load:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def worker(offset: int) -> None:
        i, mine = offset, []
        while time.monotonic() < stop:
            q, lic = mix[i % len(mix)]
            i += 1
            began = time.perf_counter()
            try:
                search(q, lic)
            except Exception:  # counted, not fatal: the figure says how many
                with lock:
                    errors[0] += 1
                continue
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    began = time.monotonic()
    pool = [threading.Thread(target=worker, args=(k * 7,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.monotonic() - began
    latencies.sort()
    if not latencies:
        raise BenchError("no query answered")
    return Load(len(latencies), seconds, latencies[len(latencies) // 2] * 1000,
                latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
                errors[0])


def table_row(backend: str, n: int, index_s: float | None, load: Load, build: str = "") -> str:
    """One Markdown row; the index target applies at 10,000 documents, where it is set."""
    ok = load.p99_ms < TARGET_P99_MS and (index_s is None or n > 10_000
                                          or index_s < TARGET_INDEX_S)
    build = build or f"{index_s:.1f} s ({n / index_s:,.0f}/s)"
    return (f"| {backend} | {n:,} | {build} | {load.p50_ms:.1f} | {load.p99_ms:.1f} | "
            f"{load.qps:,.0f} | {load.errors} | {'meets' if ok else '**above target**'} |")


def elastic_rows(args: argparse.Namespace, tmp: Path, procs: Processes,
                 sizes: list[int]) -> list[str]:
    from app.search.elastic import ElasticSearchBackend

    port = free_port()
    log = tmp / "search-node.log"
    began = time.monotonic()
    proc = procs.start("search-node", [str(REPO / "scripts" / "search-node"), "--port",
                                       str(port), "--data", str(tmp / "node")], log)
    url = f"http://127.0.0.1:{port}"
    wait_http(url, proc, log, timeout=300)
    say(f"search node up in {time.monotonic() - began:.1f} s")
    rows = []
    for n in sizes:
        docs = synthetic_documents(n)
        node = ElasticSearchBackend(url, alias=f"bench-{n}", timeout=60)
        began = time.monotonic()
        node.rebuild(docs, chunk=1000)
        index_s = time.monotonic() - began
        say(f"elasticsearch: {n:,} documents indexed in {index_s:.1f} s; querying")
        node.search("warm up")
        load = run_load(lambda q, lic, node=node: node.search(q, lic), query_mix(docs),
                        args.duration, args.concurrency)
        rows.append(table_row("Elasticsearch", n, index_s, load))
        node.drop()
    return rows


def database_rows(args: argparse.Namespace, tmp: Path, sizes: list[int]) -> list[str]:
    from app.content.cache import LRU
    from tests.fixtures.search_corpus import CorpusModule
    from tests.search.relevance import database_backend

    rows = []
    for n in sizes:
        docs = synthetic_documents(n)
        folder = tmp / f"db-{n}"
        folder.mkdir()
        began = time.monotonic()
        backend = database_backend(folder, [
            CorpusModule(d["path"], d["synopsis"], d["readme"], d["used_by"], d["downloads"],
                         d["licenses"][0]) for d in docs])
        load_s = time.monotonic() - began
        backend._pages = LRU(0)  # no result cache: every query is computed
        backend.search("warm up")
        say(f"database: {n:,} modules written in {load_s:.1f} s; querying")
        load = run_load(lambda q, lic, b=backend: b.search(q, lic), query_mix(docs),
                        args.duration, args.concurrency)
        rows.append(table_row("database", n, None, load, f"no index ({load_s:.1f} s to write "
                                                       "the rows)"))
        backend.db.dispose()
    return rows


def fts_rows(args: argparse.Namespace, tmp: Path, sizes: list[int]) -> list[str]:
    from app.db import Database
    from app.migrate import upgrade
    from app.search.fts import Fts5Search

    rows = []
    for n in sizes:
        docs = synthetic_documents(n)
        db = Database(f"sqlite:///{tmp / f'fts-{n}.sqlite3'}")
        upgrade(db.engine)
        index = Fts5Search(db)
        began = time.monotonic()
        index.rebuild(docs, chunk=1000)
        index_s = time.monotonic() - began
        say(f"fts5: {n:,} documents indexed in {index_s:.1f} s; querying")
        index.search("warm up")
        load = run_load(lambda q, lic, i=index: i.search(q, lic), query_mix(docs),
                        args.duration, args.concurrency)
        rows.append(table_row("SQLite FTS5", n, index_s, load))
        db.dispose()
    return rows


def run(args: argparse.Namespace, tmp: Path, procs: Processes) -> None:
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes or min(sizes) < 100:
        raise BenchError("--sizes takes comma-separated counts of at least 100")
    wanted = {b.strip() for b in args.backends.split(",") if b.strip()}
    unknown = wanted - {"elasticsearch", "fts5", "database"}
    if unknown:
        raise BenchError(f"unknown backend(s): {', '.join(sorted(unknown))}")
    rows = ((elastic_rows(args, tmp, procs, sizes) if "elasticsearch" in wanted else [])
            + (fts_rows(args, tmp, sizes) if "fts5" in wanted else [])
            + (database_rows(args, tmp, sizes) if "database" in wanted else []))
    print("## Search (issue 6)\n")
    print(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"- command: `{' '.join(['.venv/bin/python', 'bench/search.py', *sys.argv[1:]])}`")
    print(machine_line())
    print(commit_line())
    print("- Elasticsearch 7.10.2 (scripts/search-node, 512 MB heap) on the same 2 cores; "
          f"{args.concurrency} query threads in this process for {args.duration} s per row; "
          "FTS5 and the database search on SQLite (WAL), the database search without its "
          "result cache")
    print("\n| backend | documents | index build | p50 ms | p99 ms | queries/s | errors | "
          f"target (build < {TARGET_INDEX_S:.0f} s at 10,000, p99 < {TARGET_P99_MS:.0f} ms) |")
    print("|---|---:|---|---:|---:|---:|---:|---|")
    for row in rows:
        print(row)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="document counts, comma-separated")
    parser.add_argument("--backends", default="elasticsearch,fts5,database",
                        help="which backends to measure, comma-separated")
    parser.add_argument("--duration", type=float, default=20, help="seconds of queries per row")
    parser.add_argument("--concurrency", type=int, default=2, help="query threads")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return guarded_main(run, parse_args(argv), Processes(), "depot-bench-search-")


if __name__ == "__main__":
    sys.exit(main())
