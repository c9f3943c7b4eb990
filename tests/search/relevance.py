"""Judged relevance: success@1 and nDCG@5 of a backend over the judged queries of
tests/data/search_judgments.json on the corpus of tests/fixtures/search_corpus.py.

success@1: the first result is one the judges graded highest (3) for that query.
nDCG@5: the first five results' gains (2^grade - 1, discounted by log2 of the rank + 1)
over the best five the judgments allow; unjudged results gain nothing.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select

from app.catalog.aggregates import Aggregates
from app.db import Database
from app.migrate import upgrade
from app.models import LicenseFile, Module, ModuleVersion, VersionState
from app.search import SearchBackend
from app.search.database import DatabaseSearch
from app.search.elastic import ElasticSearchBackend
from app.search.fts import Fts5Search
from app.store import open_store
from tests.fixtures.search_corpus import CorpusModule, corpus, documents

JUDGMENTS = Path(__file__).resolve().parent.parent / "data" / "search_judgments.json"


@dataclass(frozen=True)
class Judged:
    query: str
    kind: str
    grades: dict[str, int]


@dataclass(frozen=True)
class Scores:
    success_at_1: float
    ndcg_at_5: float
    per_kind: dict[str, tuple[float, float, int]]  # kind -> (success@1, nDCG@5, queries)
    misses: list[tuple[str, str]]  # (query, what came first) where success@1 failed


def judged() -> list[Judged]:
    raw = json.loads(JUDGMENTS.read_text())
    return [Judged(q["q"], q["kind"], q["grades"]) for q in raw["queries"]]


def success_at_1(ranked: list[str], grades: dict[str, int]) -> float:
    return 1.0 if ranked and grades.get(ranked[0], 0) == 3 else 0.0


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = 5) -> float:
    def dcg(gains: list[int]) -> float:
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:k]))

    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(p, 0) for p in ranked]) / ideal if ideal else 0.0


def evaluate(backend: SearchBackend, queries: list[Judged]) -> Scores:
    kinds: dict[str, list[tuple[float, float]]] = defaultdict(list)
    misses = []
    for j in queries:
        ranked = [h.path for h in backend.search(j.query, per_page=5).hits]
        s, n = success_at_1(ranked, j.grades), ndcg_at(ranked, j.grades)
        kinds[j.kind].append((s, n))
        if not s:
            misses.append((j.query, ranked[0] if ranked else "(nothing)"))
    every = [pair for pairs in kinds.values() for pair in pairs]
    return Scores(
        sum(s for s, _ in every) / len(every), sum(n for _, n in every) / len(every),
        {k: (sum(s for s, _ in v) / len(v), sum(n for _, n in v) / len(v), len(v))
         for k, v in sorted(kinds.items())},
        misses,
    )


class CorpusAggregates(Aggregates):
    """The catalogue's aggregates with the corpus's used-by counts (it has no graph)."""

    def __init__(self, db: Database, counts: dict[str, int]) -> None:
        super().__init__(db)
        self.counts = counts

    def used_by(self, mark: tuple | None = None) -> dict[str, int]:
        return self.counts


def database_backend(folder: Path, modules: list[CorpusModule] | None = None) -> DatabaseSearch:
    """The corpus as published rows of a fresh SQLite database, searched from there."""
    modules = modules if modules is not None else corpus()
    db = Database(f"sqlite:///{folder / 'corpus.sqlite3'}")
    upgrade(db.engine)
    with db.engine.begin() as conn:  # in bulk: the benchmark writes 100,000 of these
        conn.execute(insert(Module), [{"path": m.path, "downloads": m.downloads}
                                      for m in modules])
        module_ids = dict(conn.execute(select(Module.path, Module.id)).all())
        conn.execute(insert(ModuleVersion), [
            {"module_id": module_ids[m.path], "version": "v1.0.0",
             "state": VersionState.published, "reason": "", "is_pseudo": False,
             "validation_note": ""} for m in modules])
        version_ids = dict(conn.execute(select(ModuleVersion.module_id, ModuleVersion.id)).all())
        conn.execute(insert(LicenseFile), [
            {"version_id": version_ids[module_ids[m.path]], "name": "LICENSE",
             "spdx_id": m.license} for m in modules])
    store = open_store((folder / "store").as_uri())
    return DatabaseSearch(db, store, CorpusAggregates(db, {m.path: m.used_by for m in modules}))


def fts_backend(folder: Path, modules: list[CorpusModule] | None = None) -> Fts5Search:
    """The corpus in a fresh SQLite database's FTS5 index."""
    modules = modules if modules is not None else corpus()
    db = Database(f"sqlite:///{folder / 'fts.sqlite3'}")
    upgrade(db.engine)
    index = Fts5Search(db)
    index.rebuild(documents(modules))
    return index


def elastic_backend(url: str, alias: str, modules: list[CorpusModule] | None = None
                    ) -> ElasticSearchBackend:
    node = ElasticSearchBackend(url, alias=alias, timeout=60)
    node.rebuild(documents(modules if modules is not None else corpus()))
    return node
