"""What a search query means, independent of the backend that runs it.

A query is split into lower-case terms; a module matches when its path
contains every term. Ranking puts an exact path first, then a matching last
element, a path prefix, an element prefix, and any substring; popularity
(used-by count) breaks ties within a class.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from app.gomod import paths, versions
from app.gomod.errors import GoModError

MAX_QUERY = 200
MAX_TERMS = 8
_LICENSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+\-]{0,63}$")


class InvalidQuery(ValueError):
    """Input a search cannot take; the message says what to change."""


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # the query with spaces normalised
    terms: tuple[str, ...]  # lower-case, distinct, in order
    license: str  # SPDX id to filter on, "" for any

    @property
    def empty(self) -> bool:
        return not self.terms and not self.license


def parse(query: str, license: str = "") -> ParsedQuery:
    text = " ".join(query.split())
    if len(text) > MAX_QUERY:
        raise InvalidQuery(f"the query is longer than {MAX_QUERY} characters")
    license = license.strip()
    if license and not _LICENSE.match(license):
        raise InvalidQuery("the license filter takes an SPDX id such as MIT or Apache-2.0")
    terms: list[str] = []
    for term in text.lower().split(" "):
        if term and term not in terms:
            terms.append(term)
    if len(terms) > MAX_TERMS:
        raise InvalidQuery(f"use at most {MAX_TERMS} words")
    return ParsedQuery(text, tuple(terms), license)


# The orders a search can be given (the first is the default). Every one ends on the
# same ties (used-by, then path), so every backend gives the same order.
SORTS = ("relevance", "insight", "used_by", "published")


def check_sort(sort: str) -> str:
    if sort not in SORTS:
        raise InvalidQuery(f"sort must be one of: {', '.join(SORTS)}")
    return sort


def relevance(path: str, query: ParsedQuery) -> int:
    """Rank class of a matching path, lower is better."""
    lower = path.lower()
    whole = query.text.lower()
    last = lower.rsplit("/", 1)[-1]
    if lower == whole:
        return 0
    if whole in (last, paths.module_name(lower)) or lower.endswith("/" + whole):
        return 1
    if lower.startswith(whole):
        return 2
    elements = lower.split("/")
    if all(any(e.startswith(t) for e in elements) for t in query.terms):
        return 3
    return 4


def looks_like_module_path(text: str) -> bool:
    """A query that could name a module (``host.tld/path[@version]``): offer to request it."""
    module, _, version = text.strip().partition("@")
    try:
        paths.check_module_path(module)
    except GoModError:
        return False
    return not version or version == "latest" or versions.is_canonical(version)


def split_target(text: str) -> tuple[str, str]:
    """``module[@version]`` → (module, version or "")."""
    module, _, version = text.strip().partition("@")
    return module, version


def popularity(used_by: int, downloads: int) -> float:
    """What a text score is multiplied by: use counts most, downloads half as much, both
    on a log scale (a module used by 10,000 is not 10,000 times as relevant as one used by
    1). The same formula as the Elasticsearch query's function_score."""
    return math.log10(2 + max(0, used_by)) + 0.5 * math.log10(2 + max(0, downloads))


def typo_limit(word: str) -> int:
    """Edits a word of this length may carry and still be taken for another (as
    Elasticsearch's AUTO fuzziness: none up to 2 letters, 1 up to 5, 2 beyond)."""
    return 0 if len(word) <= 2 else 1 if len(word) <= 5 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap two neighbours),
    or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if (before is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2]
                    and a[i - 2] == b[j - 1]):
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, row = row, current
    return min(row[-1], limit + 1)
