"""Aggregates over the whole catalogue, kept in memory until a publication moves them.

Used-by counts and the list of published paths are scans of the requirement
graph; they change only when a version is published or withdrawn. One
``Aggregates`` per process (on Services) holds them, so the portal and the
search backend share one copy and recompute once per publication, not once each.

Even the mark costs a count over the published versions' index (about a
millisecond at 10,000 versions, more as the catalogue grows), so it is asked at
most once every ``refresh`` seconds per process: a publication shows in the
aggregates within that time, and a page view costs no query for them at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from threading import Lock
from typing import TypeVar

from app import hidden
from app.catalog.overview import publication_mark
from app.catalog.usage import used_by_counts
from app.content.cache import UntilChanged
from app.db import Database

V = TypeVar("V")


class Aggregates:
    def __init__(self, db: Database, refresh: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.refresh = refresh
        self._clock = clock
        self._last: tuple[float, tuple] | None = None  # (when asked, mark)
        self._lock = Lock()
        self._used_by = self.keep(self._count_used_by)

    def mark(self) -> tuple:
        """The catalogue's fingerprint, read again once ``refresh`` seconds have passed."""
        now = self._clock()
        with self._lock:
            last = self._last
        if last is not None and now - last[0] < self.refresh:
            return last[1]
        # The whole catalogue's, whoever asks: a fingerprint shows nothing, and one made
        # without the hidden modules would not move when one of them is published.
        with hidden.hiding(None), self.db.session() as session:
            mark = publication_mark(session)
        with self._lock:
            self._last = (now, mark)
        return mark

    def keep(self, compute: Callable[[], V]) -> UntilChanged[V]:
        """``compute()``'s value, recomputed only when :meth:`mark` moves."""
        return UntilChanged(self.mark, compute)

    def used_by(self, mark: tuple | None = None) -> dict[str, int]:
        """Modules using each path (paths nobody uses are absent)."""
        return self._used_by.get(mark)

    def _count_used_by(self) -> dict[str, int]:
        with self.db.session() as session:
            return used_by_counts(session)
