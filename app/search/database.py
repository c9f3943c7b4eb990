"""Search straight from the database: path matching with LIKE, ranking in Python.

Good for thousands of modules with no other server. Matching uses the path
only (the synopsis lives in README files, not in a column); a full-text
backend indexes the documents instead. The used-by counts and license list
are aggregates over the whole graph, so they are cached for a few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from threading import Lock
from typing import Generic, TypeVar

from sqlalchemy import and_, func, or_, select

from app.catalog.usage import PUBLISHED, used_by_counts
from app.db import Database
from app.models import LicenseFile, Module, ModuleVersion
from app.search.base import SearchHit, SearchPage
from app.search.documents import SynopsisCache, build_documents
from app.search.queries import ParsedQuery, parse, relevance
from app.store import ArtifactStore

T = TypeVar("T")


class _Timed(Generic[T]):
    """A value recomputed at most every ``seconds``."""

    def __init__(self, seconds: float, compute: Callable[[], T]) -> None:
        self.seconds = seconds
        self.compute = compute
        self._value: T | None = None
        self._at = 0.0
        self._lock = Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None or time.monotonic() - self._at > self.seconds:
                self._value = self.compute()
                self._at = time.monotonic()
            return self._value


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _has_license(spdx: str):  # type: ignore[no-untyped-def]
    """Some published version of the module carries a license file with this SPDX id."""
    ids = LicenseFile.spdx_id
    return (
        select(LicenseFile.id)
        .join(ModuleVersion, ModuleVersion.id == LicenseFile.version_id)
        .where(
            ModuleVersion.module_id == Module.id, PUBLISHED,
            or_(ids == spdx, ids.like(f"{spdx},%"), ids.like(f"%,{spdx}"),
                ids.like(f"%,{spdx},%")),
        )
        .exists()
    )


class DatabaseSearch:
    name = "database"

    def __init__(self, db: Database, store: ArtifactStore, cache_seconds: float = 10.0) -> None:
        self.db = db
        self.synopses = SynopsisCache(store)
        self._used_by = _Timed(cache_seconds, self._count_used_by)
        self._licenses = _Timed(cache_seconds, self._list_licenses)

    def _count_used_by(self) -> dict[str, int]:
        with self.db.session() as session:
            return used_by_counts(session)

    def _list_licenses(self) -> list[str]:
        with self.db.session() as session:
            found = session.scalars(
                select(LicenseFile.spdx_id).distinct()
                .join(ModuleVersion, ModuleVersion.id == LicenseFile.version_id)
                .where(PUBLISHED)
            ).all()
        return sorted({i for ids in found for i in (ids or "").split(",") if i}, key=str.lower)

    def _matching_paths(self, parsed: ParsedQuery) -> list[str]:
        published = (
            select(ModuleVersion.id).where(ModuleVersion.module_id == Module.id, PUBLISHED).exists()
        )
        conditions = [published]
        conditions += [func.lower(Module.path).like(_like(t), escape="\\") for t in parsed.terms]
        if parsed.license:
            conditions.append(_has_license(parsed.license))
        with self.db.session() as session:
            return list(session.scalars(select(Module.path).where(and_(*conditions))))

    def search(
        self, query: str, license: str = "", page: int = 1, per_page: int = 20
    ) -> SearchPage:
        parsed = parse(query, license)
        page = max(1, page)
        if parsed.empty:
            return SearchPage(parsed.text, parsed.license, page, per_page, 0)
        used_by = self._used_by.get()
        ranked = sorted(
            self._matching_paths(parsed),
            key=lambda p: (relevance(p, parsed), -used_by.get(p, 0), p),
        )
        start = (page - 1) * per_page
        with self.db.session() as session:
            docs = build_documents(session, ranked[start : start + per_page], used_by,
                                   self.synopses)
        hits = [
            SearchHit(d.path, d.version, d.synopsis, d.licenses, d.used_by, d.published_at,
                      d.deprecated)
            for d in docs
        ]
        return SearchPage(parsed.text, parsed.license, page, per_page, len(ranked), hits,
                          parsed.terms)

    def autocomplete(self, prefix: str, limit: int = 10) -> list[str]:
        parsed = parse(prefix)
        if not parsed.terms:
            return []
        whole = parsed.text.lower()
        escaped = _like(whole)[1:]  # "prefix%", escaped
        published = (
            select(ModuleVersion.id).where(ModuleVersion.module_id == Module.id, PUBLISHED).exists()
        )
        lower = func.lower(Module.path)
        with self.db.session() as session:
            found = session.scalars(
                select(Module.path).where(
                    published,
                    or_(lower.like(escaped, escape="\\"), lower.like("%/" + escaped, escape="\\")),
                ).limit(500)
            ).all()
        used_by = self._used_by.get()
        ranked = sorted(
            found, key=lambda p: (not p.lower().startswith(whole), -used_by.get(p, 0), p)
        )
        return ranked[:limit]

    def licenses(self) -> list[str]:
        return self._licenses.get()
