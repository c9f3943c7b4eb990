"""A small thread-safe LRU for rendered contents of published files (they never change)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Generic, TypeVar

V = TypeVar("V")


class LRU(Generic[V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = Lock()

    def get_or_make(
        self, key: Hashable, make: Callable[[], V], keep: Callable[[V], bool] = lambda _: True
    ) -> V:
        """The cached value, or ``make()``'s, kept only when ``keep`` says so."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: rendering may take a while
        if not keep(value):
            return value
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


class UntilChanged(Generic[V]):
    """A value recomputed only when a cheap fingerprint of its sources changes.

    The catalogue's aggregates (used-by counts, the published paths, the home page's
    lists) change only when a version is published or withdrawn; asking for the
    fingerprint costs an indexed count, recomputing costs a scan of the graph.
    """

    def __init__(self, fingerprint: Callable[[], Hashable], compute: Callable[[], V]) -> None:
        self.fingerprint = fingerprint
        self.compute = compute
        self._mark: Hashable = None
        self._value: V | None = None
        self._lock = Lock()

    def get(self, mark: Hashable = None) -> V:
        """The value; ``mark`` is a fingerprint the caller already asked for, if any."""
        mark = self.fingerprint() if mark is None else mark
        with self._lock:
            if self._value is None or mark != self._mark:
                self._value = self.compute()
                self._mark = mark
            return self._value


class ForAWhile(Generic[V]):
    """A value recomputed once it is ``seconds`` old: for lists that may lag a little
    (the license filter's options) but would cost a query or an aggregation per page."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._held: tuple[float, V] | None = None

    def get(self, compute: Callable[[], V]) -> V:
        now = self._clock()
        held = self._held
        if held is not None and now - held[0] < self.seconds:
            return held[1]
        value = compute()
        self._held = (now, value)
        return value

    def forget(self) -> None:
        self._held = None
