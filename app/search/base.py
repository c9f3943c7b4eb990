"""The search interface every backend implements, and what a search returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from app.search.queries import ParsedQuery, check_sort, parse


@dataclass(frozen=True)
class SearchHit:
    """One module in the results, as the results list shows it."""

    path: str
    version: str  # latest published version
    synopsis: str  # first paragraph of its README, plain text
    licenses: tuple[str, ...]  # SPDX ids of that version
    used_by: int
    published_at: datetime | None
    deprecated: bool = False
    # Words the backend matched beyond those typed (a typo's correction, a prefix's whole
    # word): the results mark them too.
    marks: tuple[str, ...] = ()
    insight: int = 0  # the module's insight score (0–100) as indexed


@dataclass(frozen=True)
class SearchPage:
    query: str
    license: str
    page: int
    per_page: int
    total: int
    hits: list[SearchHit] = field(default_factory=list)
    terms: tuple[str, ...] = ()  # what to highlight
    notice: str = ""  # said above the results when they come from a fallback
    sort: str = "relevance"  # one of SORTS

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first(self) -> int:
        """1-based rank of the first hit on this page."""
        return (self.page - 1) * self.per_page + 1


class SearchBackend(Protocol):
    """Find published modules. Raises queries.InvalidQuery for input it cannot take."""

    @property
    def name(self) -> str: ...

    def search(
        self, query: str, license: str = "", page: int = 1, per_page: int = 20,
        sort: str = "relevance",
    ) -> SearchPage:
        """``sort``: one of SORTS; only the order changes, never which modules match."""
        ...

    def autocomplete(self, prefix: str, limit: int = 10) -> list[str]:
        """Module paths for a search box's suggestions, most used first."""
        ...

    def licenses(self) -> list[str]:
        """The SPDX ids the license filter offers (those of published versions)."""
        ...


def begin_search(query: str, license: str, page: int, per_page: int,
                 sort: str = "relevance") -> tuple[ParsedQuery, int, SearchPage | None]:
    """Parse a search and clamp its page; when there is nothing to look for, the answer
    (an empty page) comes third. Raises InvalidQuery for input no backend takes."""
    parsed = parse(query, license)
    check_sort(sort)
    page = max(1, page)
    if parsed.empty:
        return parsed, page, SearchPage(parsed.text, parsed.license, page, per_page, 0,
                                        sort=sort)
    return parsed, page, None
