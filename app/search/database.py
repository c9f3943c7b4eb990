"""Search straight from the database: path matching and ranking in Python.

Good for thousands of modules with no other server. Matching uses the path
only (the synopsis lives in README files, not in a column); a full-text
backend indexes the documents instead. The published paths with their
licenses and the used-by counts are aggregates over the whole graph: they are
kept in memory and recomputed only when a publication changes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from threading import Lock

from sqlalchemy import select

from app import hidden
from app.catalog.aggregates import Aggregates
from app.catalog.usage import PUBLISHED
from app.content.cache import LRU
from app.db import Database
from app.models import LicenseFile, Module, ModuleVersion
from app.search.base import SearchHit, SearchPage, begin_search
from app.search.documents import SynopsisCache, build_documents
from app.search.queries import ParsedQuery, parse, relevance
from app.store import ArtifactStore

# Seconds the insight scores and publication times used for sorting are kept. A score
# moves with publications and, slowly, with time; within this long a sorted search may
# show one a little behind the module page's.
SORT_KEYS_TTL = 600.0


@dataclass(frozen=True)
class _Published:
    paths: dict[str, tuple[str, frozenset[str]]]  # path -> (lower-cased path, SPDX ids)
    licenses: list[str]  # every SPDX id a published version carries


class DatabaseSearch:
    name = "database"

    def __init__(self, db: Database, store: ArtifactStore, aggregates: Aggregates,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.synopses = SynopsisCache(db, store)
        self.aggregates = aggregates
        self._published = aggregates.keep(self._load_published)
        # (insight score, latest publication) of modules, for the orders that need them
        # for every match: made for the matches a sorted search asks about, kept a while.
        self._keys: dict[str, dict[str, tuple[int, float | None]]] = {}
        self._keys_made = 0.0
        self._keys_lock = Lock()
        self._clock = clock
        # Result pages by (query, page, catalogue mark): what users type is repeated
        # (as-you-type prefixes, popular names) and a page only moves with a publication.
        self._pages: LRU[SearchPage] = LRU(1024)

    def _load_published(self) -> _Published:
        """Every module with a published version: its lower-cased path and SPDX ids."""
        with self.db.session() as session:
            rows = session.execute(
                select(Module.path, LicenseFile.spdx_id)
                .join(ModuleVersion, ModuleVersion.module_id == Module.id)
                .outerjoin(LicenseFile, LicenseFile.version_id == ModuleVersion.id)
                .where(PUBLISHED)
            ).all()
        found: dict[str, set[str]] = {}
        for path, ids in rows:
            found.setdefault(path, set()).update(i for i in (ids or "").split(",") if i)
        licenses = sorted({i for ids in found.values() for i in ids}, key=str.lower)
        return _Published({path: (path.lower(), frozenset(ids)) for path, ids in found.items()},
                          licenses)

    def _sort_keys_of(self, paths: list[str], mark: tuple) -> dict[str, tuple[int, float | None]]:
        """(insight score, latest publication time) of each of ``paths``, built as their
        search documents are, and kept for SORT_KEYS_TTL seconds: the first sorted search
        after a publication costs its own matches, not the whole catalogue."""
        with self._keys_lock:
            if self._clock() - self._keys_made > SORT_KEYS_TTL:
                self._keys, self._keys_made = {}, self._clock()
            # A score counts the users the caller may see (app/hidden.py).
            keys = self._keys.setdefault(hidden.key(), {})
        missing = [p for p in paths if p not in keys]
        if missing:
            used_by = self.aggregates.used_by(mark)
            now = datetime.now(UTC)
            for start in range(0, len(missing), 500):
                with self.db.session() as session:
                    docs = build_documents(session, missing[start:start + 500], used_by, None,
                                           now)
                for d in docs:
                    when = d.published_at
                    keys[d.path] = (d.insight, when.timestamp() if when else None)
        return keys

    def _ordered(self, found: list[str], parsed: ParsedQuery, sort: str,
                 mark: tuple) -> list[str]:
        """The matches in ``sort``'s order; ties end on most used, then path, as the
        full-text backends' do."""
        used_by = self.aggregates.used_by(mark)
        if sort == "relevance":
            return sorted(found, key=lambda p: (relevance(p, parsed), -used_by.get(p, 0), p))
        if sort == "used_by":
            return sorted(found, key=lambda p: (-used_by.get(p, 0), p))
        keys = self._sort_keys_of(found, mark)
        if sort == "insight":
            return sorted(found, key=lambda p: (-keys.get(p, (0, None))[0],
                                                -used_by.get(p, 0), p))
        def newest(p: str) -> tuple:
            when = keys.get(p, (0, None))[1]
            return (when is None, -(when or 0.0), -used_by.get(p, 0), p)
        return sorted(found, key=newest)

    def _matching_paths(self, parsed: ParsedQuery, mark: tuple) -> list[str]:
        """Published paths containing every term (and carrying the license), from memory."""
        published: Iterable[tuple[str, tuple[str, frozenset[str]]]]
        published = self._published.get(mark).paths.items()
        if parsed.license:
            published = [(p, f) for p, f in published if parsed.license in f[1]]
        terms = parsed.terms
        if len(terms) == 1:  # the common case, without a generator per path
            term = terms[0]
            return [path for path, (lower, _) in published if term in lower]
        return [path for path, (lower, _) in published if all(t in lower for t in terms)]

    def search(
        self, query: str, license: str = "", page: int = 1, per_page: int = 20,
        sort: str = "relevance",
    ) -> SearchPage:
        parsed, page, empty = begin_search(query, license, page, per_page, sort)
        if empty is not None:
            return empty
        mark = self.aggregates.mark()  # once per search, for every aggregate
        return self._pages.get_or_make(
            (parsed, page, per_page, sort, mark),
            lambda: self._search(parsed, page, per_page, mark, sort),
        )

    def _search(self, parsed: ParsedQuery, page: int, per_page: int, mark: tuple,
                sort: str = "relevance") -> SearchPage:
        used_by = self.aggregates.used_by(mark)
        ranked = self._ordered(self._matching_paths(parsed, mark), parsed, sort, mark)
        start = (page - 1) * per_page
        with self.db.session() as session:
            docs = build_documents(session, ranked[start : start + per_page], used_by,
                                   self.synopses)
        hits = [
            SearchHit(d.path, d.version, d.synopsis, d.licenses, d.used_by, d.published_at,
                      d.deprecated, insight=d.insight)
            for d in docs
        ]
        return SearchPage(parsed.text, parsed.license, page, per_page, len(ranked), hits,
                          parsed.terms, sort=sort)

    def autocomplete(self, prefix: str, limit: int = 10) -> list[str]:
        parsed = parse(prefix)
        if not parsed.terms:
            return []
        whole = parsed.text.lower()
        mark = self.aggregates.mark()
        found = [p for p, (lower, _) in self._published.get(mark).paths.items()
                 if lower.startswith(whole) or ("/" + whole) in lower]
        used_by = self.aggregates.used_by(mark)
        ranked = sorted(
            found, key=lambda p: (not p.lower().startswith(whole), -used_by.get(p, 0), p)
        )
        return ranked[:limit]

    def licenses(self) -> list[str]:
        return self._published.get().licenses
