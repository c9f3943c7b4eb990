"""Benchmark the insight score's facts over a large catalogue.

Why: the score is computed on every module page view, for every search document
written, and for the whole catalogue when the database search sorts by it. This
fills a fresh SQLite database with N synthetic module versions (bench/ui.py's
filler: the dependency DAG of bench/_synthetic.py) and measures, with the queries
each costs: one module's insight (what a page view adds), the whole catalogue in
batches of 200 (what a reindex adds), and the database search's first and later
``sort=insight`` searches. Prints Markdown for docs/bench.md; progress on stderr.

    .venv/bin/python bench/insight.py [--modules 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench._harness import commit_line, guarded_main, machine_line, say
from bench.ui import fill_database


class _NoProcesses:
    def stop_all(self) -> None:
        pass


def run(args: argparse.Namespace, tmp: Path, _procs: object) -> None:
    from sqlalchemy import event

    from app.catalog.insight_facts import InsightFactsCache, module_insight, module_insights
    from app.config import Settings
    from app.resources import Services
    from app.search.database import DatabaseSearch
    from app.search.indexing import published_paths

    data = tmp / "data"
    visited, _terms = fill_database(data, args.modules, args.seed)
    svc = Services.from_settings(Settings.from_env({
        "DEPOT_DATA_DIR": str(data), "DEPOT_GOSUMDB": "off", "DEPOT_UPSTREAM": "off"}))
    statements: list[str] = []
    event.listen(svc.db.engine, "before_cursor_execute",
                 lambda *_a: statements.append("q"))
    now = datetime.now(UTC)
    used_by = svc.aggregates.used_by()
    with svc.db.session() as session:
        paths = published_paths(session)

    one_ms, one_queries = [], []
    for path in visited[:200]:
        statements.clear()
        start = time.perf_counter()
        with svc.db.session() as session:
            module_insight(session, path, now, used_by)
        one_ms.append((time.perf_counter() - start) * 1000)
        one_queries.append(len(statements))

    cache = InsightFactsCache(svc.aggregates)
    with svc.db.session() as session:
        for path in visited[:200]:
            cache.insight(session, path, now)
        start = time.perf_counter()
        for path in visited[:200]:
            cache.insight(session, path, now)
        cached_ms = (time.perf_counter() - start) * 1000 / 200
    say(f"one module's insight: {statistics.median(one_ms):.1f} ms; now every module…")
    statements.clear()
    start = time.perf_counter()
    scores: list[int] = []
    for i in range(0, len(paths), 200):
        with svc.db.session() as session:
            found = module_insights(session, paths[i:i + 200], now, used_by)
        scores += [s.score for s in found.values()]
    whole_s = time.perf_counter() - start
    whole_queries = len(statements)

    search = DatabaseSearch(svc.db, svc.store, svc.aggregates)
    start = time.perf_counter()
    search.search("", "MIT", sort="insight")  # a license alone: every MIT module
    first_s = time.perf_counter() - start
    terms = ("http", "json", "cache", "org1", "sync")

    def median_ms(**kwargs: object) -> float:
        took = []
        for term in terms:
            start = time.perf_counter()
            search.search(term, **kwargs)  # type: ignore[arg-type]
            took.append((time.perf_counter() - start) * 1000)
        return statistics.median(took)

    relevance_ms = median_ms(per_page=20, page=3)
    later = median_ms(sort="insight")  # scores the matches not held yet
    held = median_ms(sort="insight", page=2)  # every match's score held
    svc.db.dispose()

    print(f"### Insight score facts, {len(paths):,} modules ({args.modules:,} versions)\n")
    print(machine_line())
    print(commit_line())
    print()
    print("| what | time | queries |")
    print("|---|---|---|")
    print("| one module (a page view, first since a publication), median of 200 "
          f"| {statistics.median(one_ms):.1f} ms "
          f"(p95 {sorted(one_ms)[int(len(one_ms) * 0.95) - 1]:.1f} ms) "
          f"| {statistics.median(one_queries):.0f} |")
    print(f"| one module again, facts cached until the next publication | {cached_ms:.2f} ms "
          "| 0 |")
    print(f"| every module, batches of 200 (a reindex's share) | {whole_s:.1f} s "
          f"({whole_s / len(paths) * 1000:.2f} ms a module) | {whole_queries:,} |")
    print("| database search, first `sort=insight` of a license filter alone (scores every "
          f"match) | {first_s:.1f} s | |")
    print(f"| database search, `sort=insight` of 5 terms, scoring their matches (median) "
          f"| {later:.1f} ms | |")
    print(f"| database search, `sort=insight` of the same terms, scores held (median) "
          f"| {held:.1f} ms | |")
    print(f"| database search, relevance (for comparison, median) | {relevance_ms:.1f} ms | |")
    print()
    print(f"Scores: min {min(scores)}, median {statistics.median(scores):.0f}, "
          f"max {max(scores)}.")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=10_000,
                        help="synthetic module versions in the database")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return guarded_main(run, parse_args(argv), _NoProcesses(), "depot-bench-insight-")


if __name__ == "__main__":
    sys.exit(main())
