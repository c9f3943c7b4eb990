"""A full-text backend with the database search behind it, for when the node is away.

Why: search is a convenience, the catalogue is the database. When the search
node is down or slow the page and the API answer from the database search and
say so (``SearchPage.notice``), never with a 5xx. After a failure the node is
left alone for ``retry_after`` seconds, so a dead node costs one timeout, not
one per page view; then it is tried again and used as soon as it answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from threading import Lock
from typing import TypeVar

from app.search.base import SearchBackend, SearchPage
from app.search.queries import InvalidQuery, check_sort, parse

log = logging.getLogger(__name__)

NOTICE = ("The search service is not answering, so these results come from Depot's simpler "
          "database search: matches on module paths only, ranked by use.")

T = TypeVar("T")
# Seconds a failed node is left alone before it is tried again.
RETRY_AFTER = 10.0


class FallbackSearch:
    def __init__(self, primary: SearchBackend, fallback: SearchBackend,
                 retry_after: float = RETRY_AFTER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.primary = primary
        self.fallback = fallback
        self.retry_after = retry_after
        self._clock = clock
        self._down_until = 0.0
        self._lock = Lock()

    @property
    def name(self) -> str:
        return self.primary.name

    @property
    def degraded(self) -> bool:
        """True while the primary is being left alone after a failure."""
        return self._clock() < self._down_until

    def _try(self, call: Callable[[SearchBackend], T], what: str) -> T | None:
        if self.degraded:
            return None
        try:
            return call(self.primary)
        except InvalidQuery:
            raise
        except Exception as exc:  # the node's client raises many kinds; all mean "not now"
            with self._lock:
                self._down_until = self._clock() + self.retry_after
            log.warning("search node failed on %s (%s: %s); using the database search for "
                        "%.0f s", what, type(exc).__name__, exc, self.retry_after)
            return None

    def search(self, query: str, license: str = "", page: int = 1,
               per_page: int = 20, sort: str = "relevance") -> SearchPage:
        parse(query, license)  # bad input is the user's 400, whoever would have answered
        check_sort(sort)
        found = self._try(lambda b: b.search(query, license, page, per_page, sort), "search")
        if found is not None:
            return found
        return replace(self.fallback.search(query, license, page, per_page, sort),
                       notice=NOTICE)

    def autocomplete(self, prefix: str, limit: int = 10) -> list[str]:
        found = self._try(lambda b: b.autocomplete(prefix, limit), "autocomplete")
        return found if found is not None else self.fallback.autocomplete(prefix, limit)

    def licenses(self) -> list[str]:
        found = self._try(lambda b: b.licenses(), "licenses")
        return found if found is not None else self.fallback.licenses()
