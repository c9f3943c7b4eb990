"""A small thread-safe LRU for rendered contents of published files (they never change),
and values kept until the catalogue changes.

Both are shared by the callers of a process; what one caller may see another may not
(app/hidden.py): a value is kept under the audience it was made for, never handed to
another.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import fields, is_dataclass
from threading import Lock
from typing import Generic, TypeVar

from app import hidden

V = TypeVar("V")


class LRU(Generic[V]):
    """At most ``size`` values, and when ``weigh`` is given at most ``budget`` of their
    weight (bytes of HTML, say): a count alone cannot bound renderings that range from
    a kilobyte to megabytes. The least recently used leave first."""

    def __init__(
        self, size: int, weigh: Callable[[V], int] | None = None, budget: int = 0
    ) -> None:
        self.size = size
        self.weigh = weigh
        self.budget = budget
        self.weight = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = Lock()

    def get_or_make(
        self, key: Hashable, make: Callable[[], V], keep: Callable[[V], bool] = lambda _: True
    ) -> V:
        """The cached value, or ``make()``'s, kept only when ``keep`` says so (and, when
        weighed, when it fits the budget)."""
        audience = hidden.key()
        if audience:
            key = (audience, key)
        with self._lock:
            held = self._items.get(key)
            if held is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return held[0]
            self.misses += 1
        value = make()  # outside the lock: rendering may take a while
        if not keep(value):
            return value
        weight = self.weigh(value) if self.weigh is not None else 0
        if self.weigh is not None and weight > self.budget:
            return value
        with self._lock:
            old = self._items.pop(key, None)  # made twice at once: the later one stays
            self.weight += weight - (old[1] if old is not None else 0)
            self._items[key] = (value, weight)
            while len(self._items) > self.size or (self.weigh is not None
                                                   and self.weight > self.budget):
                self.weight -= self._items.popitem(last=False)[1][1]
        return value

    def keys(self) -> list[Hashable]:
        """The keys held, least recently used first."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.weight = 0


def text_weight(value: object) -> int:
    """Roughly the bytes a kept value holds in text: its strings, through the tuples,
    lists and dataclasses the portal keeps renderings in, and a little for each part."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, tuple | list):
        return 64 + sum(text_weight(part) for part in value)
    if is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(text_weight(getattr(value, f.name)) for f in fields(value))
    return 64


class UntilChanged(Generic[V]):
    """A value recomputed only when a cheap fingerprint of its sources changes.

    The catalogue's aggregates (used-by counts, the published paths, the home page's
    lists) change only when a version is published or withdrawn; asking for the
    fingerprint costs an indexed count, recomputing costs a scan of the graph.
    """

    def __init__(self, fingerprint: Callable[[], Hashable], compute: Callable[[], V]) -> None:
        self.fingerprint = fingerprint
        self.compute = compute
        self._held: dict[str, tuple[Hashable, V]] = {}  # by audience: (mark, value)
        self._lock = Lock()

    def get(self, mark: Hashable = None) -> V:
        """The value; ``mark`` is a fingerprint the caller already asked for, if any."""
        mark = self.fingerprint() if mark is None else mark
        audience = hidden.key()
        with self._lock:
            held = self._held.get(audience)
            if held is None or mark != held[0]:
                held = self._held[audience] = (mark, self.compute())
            return held[1]


class ForAWhile(Generic[V]):
    """A value recomputed once it is ``seconds`` old: for lists that may lag a little
    (the license filter's options) but would cost a query or an aggregation per page."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._held: dict[str, tuple[float, V]] = {}  # by audience: (when made, value)

    def get(self, compute: Callable[[], V]) -> V:
        now = self._clock()
        audience = hidden.key()
        held = self._held.get(audience)
        if held is not None and now - held[0] < self.seconds:
            return held[1]
        value = compute()
        self._held[audience] = (now, value)
        return value

    def forget(self) -> None:
        self._held = {}
