"""Aggregates over the whole catalogue, kept in memory until a publication moves them.

Used-by counts and the list of published paths are scans of the requirement
graph; they change only when a version is published or withdrawn. One
``Aggregates`` per process (on Services) holds them, so the portal and the
search backend share one copy and recompute once per publication, not once each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from app.catalog.overview import publication_mark
from app.catalog.usage import used_by_counts
from app.content.cache import UntilChanged
from app.db import Database

V = TypeVar("V")


class Aggregates:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._used_by = self.keep(self._count_used_by)

    def mark(self) -> tuple:
        """The catalogue's fingerprint (cheap: two index reads)."""
        with self.db.session() as session:
            return publication_mark(session)

    def keep(self, compute: Callable[[], V]) -> UntilChanged[V]:
        """``compute()``'s value, recomputed only when :meth:`mark` moves."""
        return UntilChanged(self.mark, compute)

    def used_by(self, mark: tuple | None = None) -> dict[str, int]:
        """Modules using each path (paths nobody uses are absent)."""
        return self._used_by.get(mark)

    def _count_used_by(self) -> dict[str, int]:
        with self.db.session() as session:
            return used_by_counts(session)
